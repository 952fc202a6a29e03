package handlers

import (
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// blockedStatus is the status cell of a principal of kind subject (organization, team or key)
// that gets no MCP access because level by of its chain, named name, is blocked; by equal to
// subject means the principal itself is. Every list and detail page labels blocking with it.
func blockedStatus(subject, by resolver.LevelKind, name string) views.Status {
	if by == subject {
		st := views.Status{Label: "blocked", Tone: "bad"}
		switch subject {
		case resolver.LevelOrganization:
			st.Title = "No team or key of this organization gets any MCP access"
		case resolver.LevelTeam:
			st.Title = "No key of this team gets any MCP access"
		default:
			st.Title = "The key is blocked: it gets no MCP access"
		}
		return st
	}
	if by == resolver.LevelTeam {
		return views.Status{Label: "blocked by team", Tone: "bad", Title: "Team " + name + " is blocked"}
	}
	return views.Status{Label: "blocked by organization", Tone: "bad", Title: "Organization " + name + " is blocked"}
}

// teamStatus is a team's state: blocked (by itself or its organization, as the resolver places
// it; the innermost level is named, being the one the team's page can change) or active.
func teamStatus(info resolver.TeamInfo) views.Status {
	if n := len(info.BlockedBy); n > 0 {
		return blockedStatus(resolver.LevelTeam, info.BlockedBy[n-1], info.Organization)
	}
	return activeStatus
}

// activeStatus is the status cell of a principal nothing blocks.
var activeStatus = views.Status{Label: "active"}
