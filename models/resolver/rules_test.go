package resolver

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
)

func tools(names ...string) []models.ToolDoc {
	out := make([]models.ToolDoc, len(names))
	for i, n := range names {
		out[i] = models.ToolDoc{Name: n}
	}
	return out
}

// base is the fixture every rule test starts from: nothing restricts.
//
//	github: create_issue delete_repo get_issue list_repos push (push disabled)
//	jira:   create_ticket get_ticket
//	slack:  post read    (public)
//	docs:   search       (public)
//	access group dev = github, jira; toolsets read-only = github/get_issue github/list_repos
//	jira/get_ticket, chat = slack/post
//	organization acme > team platform > key ci; key solo (teamless, acme); key loner (no org);
//	team orphans (no org) > key stray; key bound (platform, bound to agent bot);
//	agents bot, helper; end users alice, bob
func base() *models.Document {
	return &models.Document{
		Version: 1,
		Servers: []models.ServerDoc{
			{Name: "github", Tools: tools("create_issue", "delete_repo", "get_issue", "list_repos", "push"), DisabledTools: []string{"push"}},
			{Name: "jira", Tools: tools("create_ticket", "get_ticket")},
			{Name: "slack", Public: true, Tools: tools("post", "read")},
			{Name: "docs", Public: true, Tools: tools("search")},
		},
		AccessGroups: []models.AccessGroupDoc{{Name: "dev", Servers: []string{"github", "jira"}}},
		Toolsets: []models.ToolsetDoc{
			{Name: "read-only", Tools: []string{"github/get_issue", "github/list_repos", "jira/get_ticket"}},
			{Name: "chat", Tools: []string{"slack/post"}},
		},
		Organizations: []models.OrganizationDoc{{Name: "acme"}},
		Teams:         []models.TeamDoc{{Name: "platform", Organization: "acme"}, {Name: "orphans"}},
		Keys: []models.KeyDoc{
			{Name: "ci", Team: "platform", Organization: "acme"},
			{Name: "solo", Organization: "acme"},
			{Name: "loner"},
			{Name: "stray", Team: "orphans"},
			{Name: "bound", Team: "platform", Organization: "acme", Agent: "bot"},
		},
		Agents:   []models.AgentDoc{{Name: "bot"}, {Name: "helper"}},
		EndUsers: []models.EndUserDoc{{Name: "alice"}, {Name: "bob"}},
	}
}

func mcp(servers ...string) *models.MCPPermission { return &models.MCPPermission{Servers: servers} }

type edit func(d *models.Document)

func org(f func(o *models.OrganizationDoc)) edit {
	return func(d *models.Document) { f(&d.Organizations[0]) }
}
func team(f func(t *models.TeamDoc)) edit { return func(d *models.Document) { f(&d.Teams[0]) } }
func key(name string, f func(k *models.KeyDoc)) edit {
	return func(d *models.Document) {
		for i := range d.Keys {
			if d.Keys[i].Name == name {
				f(&d.Keys[i])
			}
		}
	}
}
func agent(f func(a *models.AgentDoc)) edit  { return func(d *models.Document) { f(&d.Agents[0]) } }
func user(f func(u *models.EndUserDoc)) edit { return func(d *models.Document) { f(&d.EndUsers[0]) } }
func req(k, server, tool string) Request     { return Request{Key: k, Server: server, Tool: tool} }
func allow() Decision                        { return Decision{Allowed: true} }
func deny(by DecidedBy, who string, c Cause) Decision {
	d := Decision{DecidedBy: by, Principal: who, Cause: c}
	switch by {
	case ByOrganization, ByTeam, ByKey, ByAgent, ByEndUser:
		d.Level = LevelKind(by)
	}
	return d
}

func TestRules(t *testing.T) {
	cases := []struct {
		name  string
		edits []edit
		req   Request
		want  Decision
		// wantKey, when set, is the KeyAccess of req.Key ("-" for empty): the key's own access,
		// without the request's end user or agent (KeyAccessFor is checked against the decision).
		wantKey string
	}{
		// Nothing restricts: public servers only.
		{name: "unrestricted public allowed", req: req("ci", "slack", "post"), want: allow(), wantKey: "docs: search; slack: post, read"},
		{name: "unrestricted non-public default", req: req("ci", "github", "get_issue"), want: deny(ByDefault, "", CauseNotPublic)},

		// Rule: organization selection cascades to teams and keys that set nothing.
		{name: "org selection cascades", edits: []edit{org(func(o *models.OrganizationDoc) { o.MCP = mcp("github") })},
			req: req("ci", "github", "create_issue"), want: allow(), wantKey: "github: create_issue, delete_repo, get_issue, list_repos"},
		{name: "org selection cascades to teamless key", edits: []edit{org(func(o *models.OrganizationDoc) { o.MCP = mcp("jira") })},
			req: req("solo", "jira", "get_ticket"), want: allow(), wantKey: "jira: create_ticket, get_ticket"},
		// Rule: an organization's selection caps public servers.
		{name: "org selection caps public server", edits: []edit{org(func(o *models.OrganizationDoc) { o.MCP = mcp("github") })},
			req: req("ci", "slack", "post"), want: deny(ByOrganization, "acme", CauseNotGranted)},
		// Rule: a lower level can only narrow; an empty key∩team is not refilled by the org.
		{name: "empty team∩key not refilled by org", edits: []edit{
			org(func(o *models.OrganizationDoc) { o.MCP = mcp("github", "jira") }),
			team(func(t *models.TeamDoc) {
				t.MCP = &models.MCPPermission{Tools: map[string][]string{"github": {"get_issue"}}}
			}),
			key("ci", func(k *models.KeyDoc) { k.MCP = mcp("jira") }),
		}, req: req("ci", "jira", "get_ticket"), want: deny(ByTeam, "platform", CauseNotGranted), wantKey: "-"},
		{name: "empty team∩key: key decides team's tool", edits: []edit{
			org(func(o *models.OrganizationDoc) { o.MCP = mcp("github", "jira") }),
			team(func(t *models.TeamDoc) {
				t.MCP = &models.MCPPermission{Tools: map[string][]string{"github": {"get_issue"}}}
			}),
			key("ci", func(k *models.KeyDoc) { k.MCP = mcp("jira") }),
		}, req: req("ci", "github", "get_issue"), want: deny(ByKey, "ci", CauseNotGranted)},
		{name: "key cannot widen org", edits: []edit{
			org(func(o *models.OrganizationDoc) { o.MCP = mcp("jira") }),
			key("ci", func(k *models.KeyDoc) { k.MCP = mcp("github", "jira") }),
		}, req: req("ci", "github", "get_issue"), want: deny(ByOrganization, "acme", CauseNotGranted), wantKey: "jira: create_ticket, get_ticket"},
		// Rule 3: toolsets; enforced at the organization.
		{name: "org toolset grants", edits: []edit{org(func(o *models.OrganizationDoc) { o.MCP = &models.MCPPermission{Toolsets: []string{"read-only"}} })},
			req: req("ci", "github", "get_issue"), want: allow(), wantKey: "github: get_issue, list_repos; jira: get_ticket"},
		{name: "org toolset enforced", edits: []edit{org(func(o *models.OrganizationDoc) { o.MCP = &models.MCPPermission{Toolsets: []string{"read-only"}} })},
			req: req("ci", "github", "create_issue"), want: deny(ByOrganization, "acme", CauseNotGranted)},
		// Rule 2: a tool list replaces the whole catalogue and grants the server on its own.
		{name: "org tool list replaces servers", edits: []edit{org(func(o *models.OrganizationDoc) {
			o.MCP = &models.MCPPermission{Servers: []string{"github"}, Tools: map[string][]string{"github": {"create_issue"}}}
		})}, req: req("ci", "github", "get_issue"), want: deny(ByOrganization, "acme", CauseNotGranted), wantKey: "github: create_issue"},
		{name: "tool list grants unnamed server", edits: []edit{org(func(o *models.OrganizationDoc) {
			o.MCP = &models.MCPPermission{Tools: map[string][]string{"jira": {"get_ticket", "nope"}}}
		})}, req: req("ci", "jira", "get_ticket"), want: allow(), wantKey: "jira: get_ticket"},
		{name: "access group grants whole catalogue", edits: []edit{team(func(t *models.TeamDoc) { t.MCP = &models.MCPPermission{AccessGroups: []string{"dev"}} })},
			req: req("ci", "jira", "create_ticket"), want: allow(), wantKey: "github: create_issue, delete_repo, get_issue, list_repos; jira: create_ticket, get_ticket"},
		{name: "toolset adds to tool list", edits: []edit{key("ci", func(k *models.KeyDoc) {
			k.MCP = &models.MCPPermission{Tools: map[string][]string{"slack": {"read"}}, Toolsets: []string{"chat"}}
		})}, req: req("ci", "slack", "post"), want: allow(), wantKey: "slack: post, read"},
		// Explicit empty mcp means no MCP access.
		{name: "empty mcp at key", edits: []edit{key("ci", func(k *models.KeyDoc) { k.MCP = &models.MCPPermission{} })},
			req: req("ci", "slack", "post"), want: deny(ByKey, "ci", CauseNotGranted), wantKey: "-"},
		{name: "empty mcp at org", edits: []edit{org(func(o *models.OrganizationDoc) { o.MCP = &models.MCPPermission{} })},
			req: req("ci", "docs", "search"), want: deny(ByOrganization, "acme", CauseNotGranted), wantKey: "-"},
		// Blocked at each level.
		{name: "org blocked", edits: []edit{org(func(o *models.OrganizationDoc) { o.Blocked = true })},
			req: req("ci", "slack", "post"), want: Decision{DecidedBy: ByBlocked, Principal: "acme", Level: LevelOrganization, Cause: CauseBlocked}, wantKey: "-"},
		{name: "team blocked", edits: []edit{team(func(t *models.TeamDoc) { t.Blocked = true })},
			req: req("ci", "nope", "x"), want: Decision{DecidedBy: ByBlocked, Principal: "platform", Level: LevelTeam, Cause: CauseBlocked}, wantKey: "-"},
		{name: "key blocked", edits: []edit{key("ci", func(k *models.KeyDoc) { k.Blocked = true })},
			req: req("ci", "slack", "post"), want: Decision{DecidedBy: ByBlocked, Principal: "ci", Level: LevelKey, Cause: CauseBlocked}, wantKey: "-"},
		{name: "org blocked wins over team blocked", edits: []edit{org(func(o *models.OrganizationDoc) { o.Blocked = true }), team(func(t *models.TeamDoc) { t.Blocked = true })},
			req: req("ci", "slack", "post"), want: Decision{DecidedBy: ByBlocked, Principal: "acme", Level: LevelOrganization, Cause: CauseBlocked}},
		// Server: unknown server, unknown tool, disabled tool.
		{name: "unknown server", req: req("ci", "gitlab", "x"), want: deny(ByServer, "gitlab", CauseUnknownServer)},
		{name: "unknown tool", req: req("ci", "slack", "delete"), want: deny(ByServer, "slack", CauseUnknownTool)},
		{name: "disabled tool", edits: []edit{org(func(o *models.OrganizationDoc) { o.MCP = mcp("github") })},
			req: req("ci", "github", "push"), want: deny(ByServer, "github", CauseDisabledTool)},
		{name: "disabled tool even when listed", edits: []edit{key("ci", func(k *models.KeyDoc) {
			k.MCP = &models.MCPPermission{Tools: map[string][]string{"github": {"push", "get_issue"}}}
		})}, req: req("ci", "github", "push"), want: deny(ByServer, "github", CauseDisabledTool), wantKey: "github: get_issue"},
		// deny_tools at each level.
		{name: "deny at org", edits: []edit{org(func(o *models.OrganizationDoc) { o.DenyTools = []string{"slack/post"} })},
			req: req("ci", "slack", "post"), want: deny(ByOrganization, "acme", CauseDenyList), wantKey: "docs: search; slack: read"},
		{name: "deny at team", edits: []edit{team(func(t *models.TeamDoc) { t.MCP, t.DenyTools = mcp("github"), []string{"github/delete_repo"} })},
			req: req("ci", "github", "delete_repo"), want: deny(ByTeam, "platform", CauseDenyList), wantKey: "github: create_issue, get_issue, list_repos"},
		{name: "deny at key", edits: []edit{key("ci", func(k *models.KeyDoc) { k.DenyTools = []string{"docs/search"} })},
			req: req("ci", "docs", "search"), want: deny(ByKey, "ci", CauseDenyList), wantKey: "slack: post, read"},
		{name: "deny at bound agent", edits: []edit{agent(func(a *models.AgentDoc) { a.DenyTools = []string{"slack/read"} })},
			req: req("bound", "slack", "read"), want: deny(ByAgent, "bot", CauseDenyList), wantKey: "docs: search; slack: post"},
		{name: "deny at end user", edits: []edit{user(func(u *models.EndUserDoc) { u.DenyTools = []string{"slack/read"} })},
			req: Request{Key: "ci", Server: "slack", Tool: "read", EndUser: "alice"}, want: deny(ByEndUser, "alice", CauseDenyList)},
		{name: "deny of lower level after grant of upper", edits: []edit{
			org(func(o *models.OrganizationDoc) { o.MCP = mcp("github") }),
			key("ci", func(k *models.KeyDoc) { k.DenyTools = []string{"github/delete_repo"} }),
		}, req: req("ci", "github", "delete_repo"), want: deny(ByKey, "ci", CauseDenyList)},
		{name: "first level wins: org deny before key grant", edits: []edit{
			org(func(o *models.OrganizationDoc) { o.DenyTools = []string{"github/get_issue"} }),
			key("ci", func(k *models.KeyDoc) { k.MCP = mcp("jira") }),
		}, req: req("ci", "github", "get_issue"), want: deny(ByOrganization, "acme", CauseDenyList)},
		// Agents: bound, requested, mismatch.
		{name: "bound agent restricts", edits: []edit{agent(func(a *models.AgentDoc) { a.MCP = mcp("jira") })},
			req: req("bound", "slack", "post"), want: deny(ByAgent, "bot", CauseNotGranted), wantKey: "jira: create_ticket, get_ticket"},
		{name: "bound agent named again", edits: []edit{agent(func(a *models.AgentDoc) { a.MCP = mcp("jira") })},
			req: Request{Key: "bound", Server: "jira", Tool: "get_ticket", Agent: "bot"}, want: allow()},
		{name: "requested agent restricts", edits: []edit{agent(func(a *models.AgentDoc) { a.MCP = mcp("jira") })},
			req: Request{Key: "ci", Server: "slack", Tool: "post", Agent: "bot"}, want: deny(ByAgent, "bot", CauseNotGranted), wantKey: "docs: search; slack: post, read"},
		{name: "agent mismatch", req: Request{Key: "bound", Server: "slack", Tool: "post", Agent: "helper"},
			want: Decision{DecidedBy: ByAgent, Principal: "bot", Level: LevelAgent, Cause: CauseAgentMismatch}},
		{name: "agent mismatch before server", req: Request{Key: "bound", Server: "nope", Tool: "x", Agent: "helper"},
			want: Decision{DecidedBy: ByAgent, Principal: "bot", Level: LevelAgent, Cause: CauseAgentMismatch}},
		// End users.
		{name: "end user restricts", edits: []edit{user(func(u *models.EndUserDoc) { u.MCP = mcp("docs") })},
			req: Request{Key: "ci", Server: "slack", Tool: "post", EndUser: "alice"}, want: deny(ByEndUser, "alice", CauseNotGranted)},
		{name: "end user within grant", edits: []edit{user(func(u *models.EndUserDoc) { u.MCP = mcp("docs", "github") })},
			req: Request{Key: "ci", Server: "github", Tool: "get_issue", EndUser: "alice"}, want: allow()},
		{name: "unknown end user does not restrict", edits: []edit{user(func(u *models.EndUserDoc) { u.MCP = mcp("docs") })},
			req: Request{Key: "ci", Server: "slack", Tool: "post", EndUser: "mallory"}, want: allow()},
		{name: "end user restricts after key", edits: []edit{
			key("ci", func(k *models.KeyDoc) { k.MCP = mcp("jira") }),
			user(func(u *models.EndUserDoc) { u.MCP = mcp("slack") }),
		}, req: Request{Key: "ci", Server: "slack", Tool: "post", EndUser: "alice"}, want: deny(ByKey, "ci", CauseNotGranted)},
		// Missing levels.
		{name: "team without organization", edits: []edit{
			org(func(o *models.OrganizationDoc) { o.MCP = &models.MCPPermission{} }),
			func(d *models.Document) { d.Teams[1].MCP = mcp("jira") },
		}, req: req("stray", "jira", "get_ticket"), want: allow(), wantKey: "jira: create_ticket, get_ticket"},
		{name: "teamless key without organization", edits: []edit{org(func(o *models.OrganizationDoc) { o.MCP = &models.MCPPermission{} })},
			req: req("loner", "slack", "post"), want: allow(), wantKey: "docs: search; slack: post, read"},
		{name: "teamless key without organization, not public", req: req("loner", "jira", "get_ticket"), want: deny(ByDefault, "", CauseNotPublic)},
		{name: "key's own organization ignored when it has a team", edits: []edit{
			func(d *models.Document) {
				d.Organizations = append(d.Organizations, models.OrganizationDoc{Name: "other", Blocked: true})
			},
			key("stray", func(k *models.KeyDoc) { k.Organization = "other" }),
		}, req: req("stray", "slack", "post"), want: allow()},
		{name: "dangling team falls back to key's organization", edits: []edit{
			org(func(o *models.OrganizationDoc) { o.MCP = mcp("jira") }),
			key("ci", func(k *models.KeyDoc) { k.Team = "ghost" }),
		}, req: req("ci", "slack", "post"), want: deny(ByOrganization, "acme", CauseNotGranted), wantKey: "jira: create_ticket, get_ticket"},
		{name: "dangling names in mcp are ignored", edits: []edit{org(func(o *models.OrganizationDoc) {
			o.MCP = &models.MCPPermission{Servers: []string{"ghost", "jira"}, AccessGroups: []string{"nope"}, Toolsets: []string{"nope"},
				Tools: map[string][]string{"ghost": {"x"}}}
			o.DenyTools = []string{"ghost/x", "bad"}
		})}, req: req("ci", "jira", "get_ticket"), want: allow(), wantKey: "jira: create_ticket, get_ticket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := base()
			for _, e := range tc.edits {
				e(doc)
			}
			s := Build(doc)
			got, err := s.Decide(tc.req)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Decide(%+v)\n got %+v\nwant %+v\nreason: %s", tc.req, got, tc.want, got.Reason(tc.req))
			}
			ref, _ := refDecide(doc, tc.req)
			if ref != got {
				t.Fatalf("reference model disagrees: %+v", ref)
			}
			if tc.wantKey != "" {
				a, ok := s.KeyAccess(tc.req.Key)
				if !ok {
					t.Fatal("KeyAccess: no key")
				}
				want := tc.wantKey
				if want == "-" {
					want = "nothing"
				}
				if a.String() != want {
					t.Fatalf("KeyAccess = %s, want %s", a, want)
				}
			}
			af, err := s.KeyAccessFor(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if af.Has(tc.req.Server, tc.req.Tool) != got.Allowed {
				t.Fatalf("KeyAccessFor %s disagrees with decision %+v", af, got)
			}
			if _, err := s.Explain(tc.req); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPrincipalAccess(t *testing.T) {
	doc := base()
	doc.Organizations[0].MCP = mcp("github", "slack")
	doc.Organizations[0].DenyTools = []string{"github/delete_repo"}
	doc.Teams[0].MCP = &models.MCPPermission{Toolsets: []string{"read-only", "chat"}}
	s := Build(doc)
	check := func(what string, a Access, ok bool, want string) {
		t.Helper()
		if !ok {
			t.Fatalf("%s: not found", what)
		}
		if a.String() != want {
			t.Fatalf("%s = %s, want %s", what, a, want)
		}
	}
	a, ok := s.OrganizationAccess("acme")
	check("org", a, ok, "github: create_issue, get_issue, list_repos; slack: post, read")
	a, ok = s.TeamAccess("platform")
	check("team", a, ok, "github: get_issue, list_repos; slack: post")
	a, ok = s.KeyAccess("ci")
	check("key", a, ok, "github: get_issue, list_repos; slack: post")
	a, ok = s.KeyAccess("solo")
	check("teamless key", a, ok, "github: create_issue, get_issue, list_repos; slack: post, read")
	a, ok = s.TeamAccess("orphans")
	check("team without org", a, ok, "docs: search; slack: post, read")
	if _, ok := s.OrganizationAccess("nope"); ok {
		t.Fatal("unknown org found")
	}
	if _, ok := s.TeamAccess("nope"); ok {
		t.Fatal("unknown team found")
	}
	if _, ok := s.KeyAccess("nope"); ok {
		t.Fatal("unknown key found")
	}
	b, _ := json.Marshal(s.AllAccess())
	want := `"ci":{"github":["get_issue","list_repos"],"slack":["post"]}`
	if !strings.Contains(string(b), want) {
		t.Fatalf("AllAccess JSON %s lacks %s", b, want)
	}
	if got := s.OrganizationTeams("acme"); strings.Join(got, ",") != "platform" {
		t.Fatalf("OrganizationTeams = %v", got)
	}
	if got := s.TeamKeys("platform"); strings.Join(got, ",") != "bound,ci" {
		t.Fatalf("TeamKeys = %v", got)
	}
	if got := s.OrganizationKeys("acme"); strings.Join(got, ",") != "solo" {
		t.Fatalf("OrganizationKeys = %v", got)
	}
	if ki, _ := s.KeyInfo("bound"); ki.Organization != "acme" || ki.Team != "platform" || ki.Agent != "bot" {
		t.Fatalf("KeyInfo = %+v", ki)
	}
}

func TestBadInput(t *testing.T) {
	s := Build(base())
	for _, r := range []Request{
		{Key: "nope", Server: "slack", Tool: "post"},
		{Key: "ci", Server: "slack", Tool: "post", Agent: "ghost"},
		{Key: "bound", Server: "slack", Tool: "post", Agent: "ghost"},
	} {
		if _, err := s.Decide(r); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("Decide(%+v) err = %v, want not_found", r, err)
		}
		if _, err := s.KeyAccessFor(r); err == nil {
			t.Errorf("KeyAccessFor(%+v) succeeded", r)
		}
		if _, err := s.Explain(r); err == nil {
			t.Errorf("Explain(%+v) succeeded", r)
		}
	}
	// A nil document and dangling references never panic.
	Build(nil)
	d := &models.Document{
		Teams: []models.TeamDoc{{Name: "t", Organization: "ghost", MCP: &models.MCPPermission{AccessGroups: []string{"x"}}}},
		Keys:  []models.KeyDoc{{Name: "k", Team: "t", Agent: "ghost"}, {Name: "k"}},
	}
	s = Build(d)
	if dec, err := s.Decide(Request{Key: "k", Server: "a", Tool: "b", Agent: "ghost"}); err != nil || dec.Cause != CauseUnknownServer {
		t.Fatalf("dangling bound agent: %+v %v", dec, err)
	}
}

func TestReasons(t *testing.T) {
	doc := base()
	doc.Organizations[0].DenyTools = []string{"github/delete_repo"}
	doc.Teams[0].MCP = mcp("github")
	s := Build(doc)
	for _, tc := range []struct {
		r    Request
		want string
	}{
		{req("ci", "github", "delete_repo"), `tool github/delete_repo is denied by organization "acme": its deny_tools names it`},
		{req("ci", "slack", "post"), `tool slack/post is denied by team "platform": its mcp selection does not grant it`},
		{req("ci", "github", "push"), `tool github/push is disabled on server "github"`},
		{req("ci", "gh", "push"), `unknown server "gh"`},
		{req("ci", "github", "get_issue"), `tool github/get_issue is allowed for key "ci"`},
		{req("loner", "jira", "get_ticket"), `tool jira/get_ticket is denied by default: no level restricts key "loner" and server "jira" is not public`},
		{Request{Key: "bound", Server: "github", Tool: "get_issue", Agent: "helper"}, `key "bound" is bound to agent "bot"; the request names agent "helper"`},
	} {
		d, err := s.Decide(tc.r)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Reason(tc.r); got != tc.want {
			t.Errorf("Reason(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	doc := base()
	doc.Organizations[0].MCP = &models.MCPPermission{AccessGroups: []string{"dev"}, Servers: []string{"github"}, Toolsets: []string{"chat"}}
	doc.Organizations[0].DenyTools = []string{"github/delete_repo"}
	doc.Teams[0].MCP = &models.MCPPermission{Toolsets: []string{"read-only"}, Tools: map[string][]string{"slack": {"post"}}}
	s := Build(doc)
	pe, ok := s.ExplainPrincipal(KindKey, "ci")
	if !ok {
		t.Fatal("no key")
	}
	text := pe.String()
	for _, want := range []string{
		`key "ci" (organization "acme", team "platform"): github: get_issue, list_repos; jira: get_ticket; slack: post`,
		`organization "acme": restricts`,
		`  grants github: create_issue, delete_repo, get_issue, list_repos (from server github; access group dev)`,
		`  grants slack: post (from toolset chat: post)`,
		`  caps docs: search`,
		`  denies github: delete_repo`,
		`team "platform": restricts`,
		`  grants github: get_issue, list_repos (from toolset read-only: get_issue, list_repos)`,
		`  caps github: create_issue`,
		`key "ci": does not restrict`,
		`  no mcp block: does not restrict`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	if _, err := json.Marshal(pe); err != nil {
		t.Fatal(err)
	}
	pe, _ = s.ExplainPrincipal(KindKey, "loner")
	if !pe.Unrestricted || len(pe.Public) != 2 || pe.Public[0].From[0].Kind != SourcePublic {
		t.Fatalf("unrestricted explanation: %+v", pe)
	}
	if _, ok := s.ExplainPrincipal(KindTeam, "nope"); ok {
		t.Fatal("unknown team explained")
	}
	e, err := s.Explain(Request{Key: "ci", Server: "github", Tool: "create_issue", EndUser: "zed"})
	if err != nil {
		t.Fatal(err)
	}
	text = e.String()
	for _, want := range []string{
		`tool github/create_issue is denied by team "platform": its mcp selection does not grant it`,
		`end user "zed" (request): does not restrict`,
		`end user is not defined: does not restrict`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	b, err := json.Marshal(e)
	if err != nil || !strings.Contains(string(b), `"decided_by":"team"`) || !strings.Contains(string(b), `"kind":"access_group","name":"dev"`) {
		t.Fatalf("explanation JSON: %s %v", b, err)
	}
}
