package handlers

import (
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

func TestKeyStatus(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	placed := resolver.KeyInfo{Name: "ci", Organization: "acme", Team: "platform"}
	blocked := func(by ...resolver.LevelKind) resolver.KeyInfo {
		i := placed
		i.Blocked, i.BlockedBy = true, by
		return i
	}
	cases := []struct {
		name string
		key  models.KeyDoc
		info resolver.KeyInfo
		want views.Status
	}{
		{"active", models.KeyDoc{}, placed, views.Status{Label: "active"}},
		{"blocked itself", models.KeyDoc{Blocked: true}, blocked(resolver.LevelKey),
			views.Status{Label: "blocked", Tone: "bad", Title: "The key is blocked: it gets no MCP access"}},
		{"blocked by its team", models.KeyDoc{}, blocked(resolver.LevelTeam),
			views.Status{Label: "blocked by team", Tone: "bad", Title: "Team platform is blocked"}},
		{"blocked by its organization", models.KeyDoc{}, blocked(resolver.LevelOrganization),
			views.Status{Label: "blocked by organization", Tone: "bad", Title: "Organization acme is blocked"}},
		{"blocked at every level: the key's own flag is named", models.KeyDoc{Blocked: true},
			blocked(resolver.LevelOrganization, resolver.LevelTeam, resolver.LevelKey),
			views.Status{Label: "blocked", Tone: "bad", Title: "The key is blocked: it gets no MCP access"}},
		{"team and organization: the team is named", models.KeyDoc{},
			blocked(resolver.LevelOrganization, resolver.LevelTeam),
			views.Status{Label: "blocked by team", Tone: "bad", Title: "Team platform is blocked"}},
		{"blocking wins over expiry", models.KeyDoc{ExpiresAt: "2020-01-01T00:00:00Z"}, blocked(resolver.LevelTeam),
			views.Status{Label: "blocked by team", Tone: "bad", Title: "Team platform is blocked"}},
		{"expired", models.KeyDoc{ExpiresAt: "2026-11-30T00:00:00Z"}, placed,
			views.Status{Label: "expired 2026-11-30", Tone: "bad", Title: "Expired at 2026-11-30T00:00:00Z: the gateway refuses every call with it"}},
		{"expiring within a week", models.KeyDoc{ExpiresAt: "2026-12-03T00:00:00Z"}, placed,
			views.Status{Label: "expires 2026-12-03", Tone: "warn", Title: "Expires at 2026-12-03T00:00:00Z"}},
		{"expiring later", models.KeyDoc{ExpiresAt: "2027-01-01T00:00:00Z"}, placed,
			views.Status{Label: "expires 2027-01-01", Title: "Expires at 2027-01-01T00:00:00Z"}},
		{"unreadable expiry", models.KeyDoc{ExpiresAt: "tomorrow"}, placed,
			views.Status{Label: "expiry unreadable", Tone: "bad", Title: "expires_at tomorrow is not an RFC 3339 time: the gateway refuses every call with it"}},
	}
	for _, tc := range cases {
		if got := keyStatus(&tc.key, tc.info, now); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestBlockedStatus(t *testing.T) {
	cases := []struct {
		subject, by resolver.LevelKind
		name        string
		want        views.Status
	}{
		{resolver.LevelOrganization, resolver.LevelOrganization, "acme",
			views.Status{Label: "blocked", Tone: "bad", Title: "No team or key of this organization gets any MCP access"}},
		{resolver.LevelTeam, resolver.LevelTeam, "platform",
			views.Status{Label: "blocked", Tone: "bad", Title: "No key of this team gets any MCP access"}},
		{resolver.LevelTeam, resolver.LevelOrganization, "acme",
			views.Status{Label: "blocked by organization", Tone: "bad", Title: "Organization acme is blocked"}},
	}
	for _, tc := range cases {
		if got := blockedStatus(tc.subject, tc.by, tc.name); got != tc.want {
			t.Errorf("%s blocked by %s: %+v, want %+v", tc.subject, tc.by, got, tc.want)
		}
	}
}

func TestTeamStatus(t *testing.T) {
	team := func(by ...resolver.LevelKind) resolver.TeamInfo {
		return resolver.TeamInfo{Name: "platform", Organization: "acme", BlockedBy: by}
	}
	cases := []struct {
		name string
		info resolver.TeamInfo
		want views.Status
	}{
		{"active", team(), views.Status{Label: "active"}},
		{"blocked itself", team(resolver.LevelTeam),
			views.Status{Label: "blocked", Tone: "bad", Title: "No key of this team gets any MCP access"}},
		{"blocked by its organization", team(resolver.LevelOrganization),
			views.Status{Label: "blocked by organization", Tone: "bad", Title: "Organization acme is blocked"}},
		{"both: the team's own flag is named", team(resolver.LevelOrganization, resolver.LevelTeam),
			views.Status{Label: "blocked", Tone: "bad", Title: "No key of this team gets any MCP access"}},
	}
	for _, tc := range cases {
		if got := teamStatus(tc.info); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
