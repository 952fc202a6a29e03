package handlers

// The settings pages of teams, keys, end users and agents: one set of handlers, the
// organization page's form, preview and save protocol, for every kind of principal below it.

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// principal is a team, key, end user or agent in one shape, so that one set of handlers edits
// them all. Fields a kind does not have stay empty.
type principal struct {
	Name, Organization, Team, Agent, ExpiresAt string
	Blocked                                    bool
	MCP                                        *models.MCPPermission
	DenyTools                                  []string
}

// level is the principal's access settings in the organization's shape, which the form,
// models.DiffOrganization and models.Rebase work on.
func (p principal) level() models.OrganizationDoc {
	return models.OrganizationDoc{Name: p.Name, Blocked: p.Blocked, MCP: p.MCP, DenyTools: p.DenyTools}
}

// withLevel is p with the access settings of l.
func (p principal) withLevel(l models.OrganizationDoc) principal {
	p.Blocked, p.MCP, p.DenyTools = l.Blocked, l.MCP, l.DenyTools
	return p
}

// principalKind is what differs between the kinds of principal the pages edit.
type principalKind struct {
	kind string // models.KindTeam, ...
	// path is the kind's URL ("/teams"); one and many name it in prose; title in headings.
	path, one, many, title, nav string
	// param is the name of the URL parameter naming one ("team": /teams/:team/settings).
	param string
	// fields are the form's placement fields (besides the access ones); blockable: the kind
	// has a blocked flag.
	fields    []string
	blockable bool
	// find returns the stored principal; doc puts p into a change; decode reads an audit
	// event's JSON of one.
	find   func(d *models.Document, name string) (principal, bool)
	put    func(p principal) models.Document
	decode func(js string) (principal, error)
	// derive is the snapshot with p inserted or replaced; accessAs is what p would be allowed
	// with its settings as drafted, computed for p alone (false for a principal not stored yet,
	// and for end users and agents, which have no access of their own).
	derive   func(s *resolver.Snapshot, p principal) *resolver.Snapshot
	accessAs func(s *resolver.Snapshot, p principal) (resolver.Access, bool)
	// why is the kind the resolver explains ("" for none).
	why resolver.PrincipalKind
	// below says whom a limit of p caps.
	below func(p principal) string
}

// orgs are the organizations a principal sits in (for authorization): its own, or its
// team's.
func orgsOf(v *live.View, p principal) []string {
	var out []string
	add := func(o string) {
		if o != "" && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	add(p.Organization)
	if p.Team != "" {
		if t := findTeam(v.Doc, p.Team); t != nil {
			add(t.Organization)
		}
	}
	return out
}

func findTeam(d *models.Document, name string) *models.TeamDoc {
	for i := range d.Teams {
		if d.Teams[i].Name == name {
			return &d.Teams[i]
		}
	}
	return nil
}

func decodeAs[D any](js string, conv func(*D) principal) (principal, error) {
	var d D
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		return principal{}, err
	}
	return conv(&d), nil
}

func teamPrincipal(t *models.TeamDoc) principal {
	return principal{Name: t.Name, Organization: t.Organization, Blocked: t.Blocked, MCP: t.MCP, DenyTools: t.DenyTools}
}

func keyPrincipal(k *models.KeyDoc) principal {
	return principal{Name: k.Name, Organization: k.Organization, Team: k.Team, Agent: k.Agent, ExpiresAt: k.ExpiresAt,
		Blocked: k.Blocked, MCP: k.MCP, DenyTools: k.DenyTools}
}

func userPrincipal(u *models.EndUserDoc) principal {
	return principal{Name: u.Name, MCP: u.MCP, DenyTools: u.DenyTools}
}

func agentPrincipal(a *models.AgentDoc) principal {
	return principal{Name: a.Name, MCP: a.MCP, DenyTools: a.DenyTools}
}

func (p principal) team() models.TeamDoc {
	return models.TeamDoc{Name: p.Name, Organization: p.Organization, Blocked: p.Blocked, MCP: p.MCP, DenyTools: p.DenyTools}
}

func (p principal) key() models.KeyDoc {
	return models.KeyDoc{Name: p.Name, Team: p.Team, Organization: p.Organization, Agent: p.Agent, Blocked: p.Blocked,
		ExpiresAt: p.ExpiresAt, MCP: p.MCP, DenyTools: p.DenyTools}
}

// Kinds of principal with settings pages.
var (
	teamKind = &principalKind{
		param: "team",
		kind:  models.KindTeam, path: "/teams", one: "team", many: "teams", title: "Team", nav: "teams",
		fields: []string{"organization"}, blockable: true,
		find: func(d *models.Document, name string) (principal, bool) {
			if t := findTeam(d, name); t != nil {
				return teamPrincipal(t), true
			}
			return principal{}, false
		},
		put:      func(p principal) models.Document { return models.Document{Teams: []models.TeamDoc{p.team()}} },
		decode:   func(js string) (principal, error) { return decodeAs(js, teamPrincipal) },
		derive:   func(s *resolver.Snapshot, p principal) *resolver.Snapshot { return s.WithTeam(p.team()) },
		accessAs: func(s *resolver.Snapshot, p principal) (resolver.Access, bool) { return s.TeamAccessAs(p.team()) },
		why:      resolver.KindTeam,
		below:    func(p principal) string { return "team " + p.Name + " and every key of it" },
	}
	keyKind = &principalKind{
		param: "key",
		kind:  models.KindKey, path: "/keys", one: "key", many: "keys", title: "Key", nav: "keys",
		fields: []string{"organization", "team", "agent", "expires_at"}, blockable: true,
		find: func(d *models.Document, name string) (principal, bool) {
			if k := findKey(d, name); k != nil {
				return keyPrincipal(k), true
			}
			return principal{}, false
		},
		put:      func(p principal) models.Document { return models.Document{Keys: []models.KeyDoc{p.key()}} },
		decode:   func(js string) (principal, error) { return decodeAs(js, keyPrincipal) },
		derive:   func(s *resolver.Snapshot, p principal) *resolver.Snapshot { return s.WithKey(p.key()) },
		accessAs: func(s *resolver.Snapshot, p principal) (resolver.Access, bool) { return s.KeyAccessAs(p.key()) },
		why:      resolver.KindKey,
		below:    func(p principal) string { return "key " + p.Name },
	}
	endUserKind = &principalKind{
		param: "user",
		kind:  models.KindEndUser, path: "/end-users", one: "end user", many: "end users", title: "End user", nav: "end-users",
		find: func(d *models.Document, name string) (principal, bool) {
			for i := range d.EndUsers {
				if d.EndUsers[i].Name == name {
					return userPrincipal(&d.EndUsers[i]), true
				}
			}
			return principal{}, false
		},
		put: func(p principal) models.Document {
			return models.Document{EndUsers: []models.EndUserDoc{{Name: p.Name, MCP: p.MCP, DenyTools: p.DenyTools}}}
		},
		decode: func(js string) (principal, error) { return decodeAs(js, userPrincipal) },
		derive: func(s *resolver.Snapshot, p principal) *resolver.Snapshot {
			return s.WithEndUser(models.EndUserDoc{Name: p.Name, MCP: p.MCP, DenyTools: p.DenyTools})
		},
		accessAs: func(*resolver.Snapshot, principal) (resolver.Access, bool) { return nil, false },
		below:    func(p principal) string { return "every call made on behalf of " + p.Name },
	}
	agentKind = &principalKind{
		param: "agent",
		kind:  models.KindAgent, path: "/agents", one: "agent", many: "agents", title: "Agent", nav: "agents",
		find: func(d *models.Document, name string) (principal, bool) {
			for i := range d.Agents {
				if d.Agents[i].Name == name {
					return agentPrincipal(&d.Agents[i]), true
				}
			}
			return principal{}, false
		},
		put: func(p principal) models.Document {
			return models.Document{Agents: []models.AgentDoc{{Name: p.Name, MCP: p.MCP, DenyTools: p.DenyTools}}}
		},
		decode: func(js string) (principal, error) { return decodeAs(js, agentPrincipal) },
		derive: func(s *resolver.Snapshot, p principal) *resolver.Snapshot {
			return s.WithAgent(models.AgentDoc{Name: p.Name, MCP: p.MCP, DenyTools: p.DenyTools})
		},
		accessAs: func(*resolver.Snapshot, principal) (resolver.Access, bool) { return nil, false },
		below:    func(p principal) string { return "every key bound to " + p.Name + " and every call naming it" },
	}
)

// Principals serves one kind's settings pages: new, create, settings, preview, save, rebase,
// why, delete. NewTeams, NewKeys, NewEndUsers and NewAgents make one for each kind.
type Principals struct {
	Store *store.Store
	State PolicyState
	// PublicURL is the console's origin, for the keys' connection snippets.
	PublicURL string
	kind      *principalKind
}

// NewTeams serves the teams' settings pages.
func NewTeams(st *store.Store, state PolicyState) *Principals {
	return &Principals{Store: st, State: state, kind: teamKind}
}

// NewKeys serves the keys' settings pages.
func NewKeys(st *store.Store, state PolicyState) *Principals {
	return &Principals{Store: st, State: state, kind: keyKind}
}

// NewEndUsers serves the end users' settings pages.
func NewEndUsers(st *store.Store, state PolicyState) *Principals {
	return &Principals{Store: st, State: state, kind: endUserKind}
}

// NewAgents serves the agents' settings pages.
func NewAgents(st *store.Store, state PolicyState) *Principals {
	return &Principals{Store: st, State: state, kind: agentKind}
}

// Param is the name of the URL parameter that names one principal of the kind.
func (h *Principals) Param() string { return h.kind.param }

// settingsURL is a principal's settings page.
func (k *principalKind) settingsURL(name string) string { return k.path + "/" + name + "/settings" }

// allow is the authorization of a write to principals: teams, keys and end users by the
// organizations involved (none for an end user: admin only), agents by an admin.
func (h *Principals) allow(c *gin.Context, v *live.View, ps ...principal) bool {
	if h.kind.kind == models.KindAgent {
		return allowAdmin(c)
	}
	var orgs []string
	for _, p := range ps {
		for _, o := range orgsOf(v, p) {
			if !slices.Contains(orgs, o) {
				orgs = append(orgs, o)
			}
		}
	}
	return allowOrgs(c, orgs...)
}

// settingsAt returns the principal's settings at revision rev (exists false if it did not
// exist then) and its changes since, up to the view's revision, read from the audit log.
func (h *Principals) settingsAt(c *gin.Context, v *live.View, cur principal, rev int64) (principal, bool, []models.AuditEvent, error) {
	events, err := h.Store.PrincipalChangesSince(c.Request.Context(), h.kind.kind, cur.Name, rev)
	if err != nil {
		return principal{}, false, nil, err
	}
	for i, e := range events {
		if e.Revision > v.Revision {
			events = events[:i]
			break
		}
	}
	if len(events) == 0 {
		return cur, true, nil, nil
	}
	if events[0].Before == "" {
		return principal{}, false, events, nil
	}
	p, err := h.kind.decode(events[0].Before)
	if err != nil {
		return principal{}, false, nil, fmt.Errorf("audit event %d of %s %s: %w", events[0].ID, h.kind.one, cur.Name, err)
	}
	return p, true, events, nil
}
