package resolver

import (
	"reflect"
	"testing"

	"github.com/warden-mcp/warden/models"
)

// The expected values below are worked out by hand from base() (see its comment): nothing
// restricts there, so every principal has the public slack/post, slack/read and docs/search.

func TestByTool(t *testing.T) {
	lostAll := func(c Impact) []ToolChange {
		return []ToolChange{
			{Server: "docs", Tool: "search", Lost: c},
			{Server: "slack", Tool: "post", Lost: c},
			{Server: "slack", Tool: "read", Lost: c},
		}
	}
	acme := Impact{Organizations: 1, Teams: 1, Keys: 3} // acme, platform, ci + bound + solo
	cases := []struct {
		name string
		diff func() DiffResult
		want []ToolChange
	}{
		{"nothing changes", func() DiffResult {
			s := Build(base())
			return Diff(s, s.WithOrganization(models.OrganizationDoc{Name: "acme"}))
		}, []ToolChange{}},
		{"organization limited to github: its principals swap the public tools for github's", func() DiffResult {
			s := Build(base())
			return Diff(s, s.WithOrganization(models.OrganizationDoc{Name: "acme", MCP: mcp("github")}))
		}, append(lostAll(acme),
			// push is disabled: not in the catalogue, so nobody gains it.
			ToolChange{Server: "github", Tool: "create_issue", Gained: acme},
			ToolChange{Server: "github", Tool: "delete_repo", Gained: acme},
			ToolChange{Server: "github", Tool: "get_issue", Gained: acme},
			ToolChange{Server: "github", Tool: "list_repos", Gained: acme},
		)},
		{"organization denies one tool", func() DiffResult {
			s := Build(base())
			return Diff(s, s.WithOrganization(models.OrganizationDoc{Name: "acme", DenyTools: []string{"slack/post"}}))
		}, []ToolChange{{Server: "slack", Tool: "post", Lost: acme}}},
		{"two unrelated changes between built snapshots: most lost first", func() DiffResult {
			after := base()
			after.Keys[0].Blocked = true     // ci loses everything
			after.Teams[1].MCP = mcp("jira") // orphans and stray swap public for jira
			return Diff(Build(base()), Build(after))
		}, []ToolChange{
			{Server: "docs", Tool: "search", Lost: Impact{Teams: 1, Keys: 2}},
			{Server: "slack", Tool: "post", Lost: Impact{Teams: 1, Keys: 2}},
			{Server: "slack", Tool: "read", Lost: Impact{Teams: 1, Keys: 2}},
			{Server: "jira", Tool: "create_ticket", Gained: Impact{Teams: 1, Keys: 1}},
			{Server: "jira", Tool: "get_ticket", Gained: Impact{Teams: 1, Keys: 1}},
		}},
		{"entries built by hand count one by one", func() DiffResult {
			lost := Access{"github": {"push"}}
			return DiffResult{Principals: []PrincipalDiff{
				{Kind: KindKey, Name: "a", Lost: lost, Gained: Access{}},
				{Kind: KindKey, Name: "b", Lost: lost, Gained: Access{"jira": {"get_ticket"}}},
				{Kind: KindTeam, Name: "t", Lost: Access{}, Gained: Access{"jira": {"get_ticket"}}},
			}}
		}, []ToolChange{
			{Server: "github", Tool: "push", Lost: Impact{Keys: 2}},
			{Server: "jira", Tool: "get_ticket", Gained: Impact{Teams: 1, Keys: 1}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.diff().ByTool(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ByTool:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// placementCase is one row of the KeyInfo and TeamInfo tables: the info of principal of after
// edit is applied to base().
type placementCase[T any] struct {
	name      string
	edit      edit
	principal string
	want      T
}

func checkPlacement[T any](t *testing.T, what string, info func(*Snapshot, string) (T, bool), cases []placementCase[T]) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := base()
			if tc.edit != nil {
				tc.edit(d)
			}
			got, ok := info(Build(d), tc.principal)
			if !ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s(%q) = %+v, %v; want %+v", what, tc.principal, got, ok, tc.want)
			}
		})
	}
	if _, ok := info(Build(base()), "nobody"); ok {
		t.Errorf("%s of an unknown name reports it exists", what)
	}
}

func TestKeyInfoPlacement(t *testing.T) {
	checkPlacement(t, "KeyInfo", (*Snapshot).KeyInfo, []placementCase[KeyInfo]{
		{"key in a team: the team's organization", nil, "ci",
			KeyInfo{Name: "ci", Organization: "acme", Team: "platform"}},
		{"teamless key: its own organization", nil, "solo", KeyInfo{Name: "solo", Organization: "acme"}},
		{"key without organization", nil, "loner", KeyInfo{Name: "loner"}},
		{"team without organization", nil, "stray", KeyInfo{Name: "stray", Team: "orphans"}},
		{"bound to a defined agent", nil, "bound",
			KeyInfo{Name: "bound", Organization: "acme", Team: "platform", Agent: "bot"}},
		{"bound to an agent nobody defined", key("ci", func(k *models.KeyDoc) { k.Agent = "ghost" }), "ci",
			KeyInfo{Name: "ci", Organization: "acme", Team: "platform", Agent: "ghost", AgentMissing: true}},
		{"a team the state lacks: the key's own organization", key("ci", func(k *models.KeyDoc) { k.Team = "gone" }), "ci",
			KeyInfo{Name: "ci", Organization: "acme"}},
		{"blocked itself", key("ci", func(k *models.KeyDoc) { k.Blocked = true }), "ci",
			KeyInfo{Name: "ci", Organization: "acme", Team: "platform", Blocked: true, BlockedBy: []LevelKind{LevelKey}}},
		{"blocked by its team", team(func(t *models.TeamDoc) { t.Blocked = true }), "ci",
			KeyInfo{Name: "ci", Organization: "acme", Team: "platform", Blocked: true, BlockedBy: []LevelKind{LevelTeam}}},
		{"blocked by the organization of its team", org(func(o *models.OrganizationDoc) { o.Blocked = true }), "ci",
			KeyInfo{Name: "ci", Organization: "acme", Team: "platform", Blocked: true, BlockedBy: []LevelKind{LevelOrganization}}},
		{"teamless, blocked by its organization", org(func(o *models.OrganizationDoc) { o.Blocked = true }), "solo",
			KeyInfo{Name: "solo", Organization: "acme", Blocked: true, BlockedBy: []LevelKind{LevelOrganization}}},
		{"blocked at every level, outermost first", func(d *models.Document) {
			d.Organizations[0].Blocked, d.Teams[0].Blocked, d.Keys[0].Blocked = true, true, true
		}, "ci", KeyInfo{Name: "ci", Organization: "acme", Team: "platform", Blocked: true,
			BlockedBy: []LevelKind{LevelOrganization, LevelTeam, LevelKey}}},
		{"another team blocked: not this key", team(func(t *models.TeamDoc) { t.Blocked = true }), "solo",
			KeyInfo{Name: "solo", Organization: "acme"}},
	})
}

func TestTeamInfoPlacement(t *testing.T) {
	checkPlacement(t, "TeamInfo", (*Snapshot).TeamInfo, []placementCase[TeamInfo]{
		{"in an organization", nil, "platform", TeamInfo{Name: "platform", Organization: "acme"}},
		{"without organization", nil, "orphans", TeamInfo{Name: "orphans"}},
		{"naming an organization the state lacks", team(func(t *models.TeamDoc) { t.Organization = "gone" }), "platform",
			TeamInfo{Name: "platform"}},
		{"blocked itself", team(func(t *models.TeamDoc) { t.Blocked = true }), "platform",
			TeamInfo{Name: "platform", Organization: "acme", BlockedBy: []LevelKind{LevelTeam}}},
		{"blocked by its organization", org(func(o *models.OrganizationDoc) { o.Blocked = true }), "platform",
			TeamInfo{Name: "platform", Organization: "acme", BlockedBy: []LevelKind{LevelOrganization}}},
		{"both, outermost first", func(d *models.Document) { d.Organizations[0].Blocked, d.Teams[0].Blocked = true, true }, "platform",
			TeamInfo{Name: "platform", Organization: "acme", BlockedBy: []LevelKind{LevelOrganization, LevelTeam}}},
		{"an organization blocked elsewhere", org(func(o *models.OrganizationDoc) { o.Blocked = true }), "orphans",
			TeamInfo{Name: "orphans"}},
	})
}

func TestServerCatalogue(t *testing.T) {
	d := base()
	d.Servers[1].DisabledTools = []string{"get_ticket", "no_such_tool"} // jira
	d.Servers[2].DisabledTools = []string{"post", "read"}               // slack: nothing left
	s := Build(d)
	want := []ServerCatalogue{
		{Name: "docs", Public: true, Tools: []string{"search"}},
		{Name: "github", Tools: []string{"create_issue", "delete_repo", "get_issue", "list_repos"}, Disabled: []string{"push"}},
		{Name: "jira", Tools: []string{"create_ticket"}, Disabled: []string{"get_ticket"}, UnknownDisabled: []string{"no_such_tool"}},
		{Name: "slack", Public: true, Tools: []string{}, Disabled: []string{"post", "read"}},
	}
	if got := s.Servers(); !reflect.DeepEqual(got, want) {
		t.Errorf("Servers:\n got %+v\nwant %+v", got, want)
	}
	cases := []struct {
		server, tool           string
		known, enabled, turned bool
	}{
		{"github", "get_issue", true, true, false},
		{"github", "push", true, false, true},
		{"github", "nope", true, false, false},
		{"jira", "no_such_tool", true, false, false},
		{"slack", "post", true, false, true},
		{"gitlab", "anything", false, false, false},
	}
	for _, tc := range cases {
		c, ok := s.Server(tc.server)
		if ok != tc.known || c.Enabled(tc.tool) != tc.enabled || c.IsDisabled(tc.tool) != tc.turned {
			t.Errorf("%s/%s: known %v enabled %v disabled %v; want %v %v %v", tc.server, tc.tool,
				ok, c.Enabled(tc.tool), c.IsDisabled(tc.tool), tc.known, tc.enabled, tc.turned)
		}
	}
	if got, want := mustServer(t, s, "github").AllTools(), []string{"create_issue", "delete_repo", "get_issue", "list_repos", "push"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AllTools = %v, want %v", got, want)
	}
	// The result is the caller's: changing it does not change the snapshot.
	c := mustServer(t, s, "github")
	c.Tools[0] = "changed"
	if mustServer(t, s, "github").Tools[0] != "create_issue" {
		t.Error("Server shares its tool list with the snapshot")
	}
}

func mustServer(t *testing.T, s *Snapshot, name string) ServerCatalogue {
	t.Helper()
	c, ok := s.Server(name)
	if !ok {
		t.Fatalf("no server %s", name)
	}
	return c
}
