package models_test

import (
	"reflect"
	"sort"
	"testing"

	"github.com/warden-mcp/warden/models"
)

func TestRebase(t *testing.T) {
	org := func(blocked bool, mcp *models.MCPPermission, deny ...string) models.OrganizationDoc {
		return models.OrganizationDoc{Name: "acme", Blocked: blocked, MCP: mcp, DenyTools: deny}
	}
	sel := func(servers, groups, toolsets []string, tools map[string][]string) *models.MCPPermission {
		return &models.MCPPermission{Servers: servers, AccessGroups: groups, Toolsets: toolsets, Tools: tools}
	}
	l := func(s ...string) []string { return s }
	base := org(false, sel(l("postgres"), l("engineering"), l("read-only"), nil), "github/delete_repo")
	for _, tc := range []struct {
		name                string
		base, mine, current models.OrganizationDoc
		want                models.OrganizationDoc
	}{
		{
			name:    "nobody else changed anything: the draft as it is",
			base:    base,
			mine:    org(false, sel(l("postgres"), l("engineering"), l("read-only", "release"), nil), "github/delete_repo"),
			current: base,
			want:    org(false, sel(l("postgres"), l("engineering"), l("read-only", "release"), nil), "github/delete_repo"),
		},
		{
			name:    "finding 4: another admin's deny stays, my toolset is added",
			base:    base,
			mine:    org(false, sel(l("postgres"), l("engineering"), l("read-only", "release"), nil), "github/delete_repo"),
			current: org(false, base.MCP, "github/delete_repo", "slack/post_message"),
			want:    org(false, sel(l("postgres"), l("engineering"), l("read-only", "release"), nil), "github/delete_repo", "slack/post_message"),
		},
		{
			name:    "my removal is applied, their addition kept, in every set",
			base:    base,
			mine:    org(false, sel(nil, l("engineering", "data"), nil, nil)),
			current: org(false, sel(l("postgres", "docs"), l("engineering"), l("read-only", "support"), nil), "github/delete_repo", "slack/post_message"),
			want:    org(false, sel(l("docs"), l("data", "engineering"), l("support"), nil), "slack/post_message"),
		},
		{
			name:    "both added the same name: once",
			base:    base,
			mine:    org(false, base.MCP, "github/delete_repo", "slack/post_message"),
			current: org(false, base.MCP, "github/delete_repo", "slack/post_message"),
			want:    org(false, base.MCP, "github/delete_repo", "slack/post_message"),
		},
		{
			name:    "I removed what they removed already: nothing to remove",
			base:    base,
			mine:    org(false, sel(l("postgres"), nil, l("read-only"), nil), "github/delete_repo"),
			current: org(false, sel(l("postgres"), nil, l("read-only"), nil), "github/delete_repo"),
			want:    org(false, sel(l("postgres"), nil, l("read-only"), nil), "github/delete_repo"),
		},
		{
			name:    "blocked: mine wins when I changed it",
			base:    base,
			mine:    org(true, base.MCP, "github/delete_repo"),
			current: org(false, base.MCP, "github/delete_repo", "slack/post_message"),
			want:    org(true, base.MCP, "github/delete_repo", "slack/post_message"),
		},
		{
			name:    "blocked: theirs stays when I did not touch it",
			base:    base,
			mine:    org(false, sel(l("postgres"), l("engineering"), l("read-only", "release"), nil), "github/delete_repo"),
			current: org(true, base.MCP, "github/delete_repo"),
			want:    org(true, sel(l("postgres"), l("engineering"), l("read-only", "release"), nil), "github/delete_repo"),
		},
		{
			name:    "mode: I switched to no limit; their selection edits do not bring it back",
			base:    base,
			mine:    org(false, nil, "github/delete_repo"),
			current: org(false, sel(l("postgres", "docs"), l("engineering"), l("read-only"), nil), "github/delete_repo"),
			want:    org(false, nil, "github/delete_repo"),
		},
		{
			name:    "mode: they switched to no limit; my selection edit does not bring the limit back",
			base:    base,
			mine:    org(false, sel(l("postgres"), l("engineering"), l("read-only", "release"), nil), "github/delete_repo"),
			current: org(false, nil, "github/delete_repo"),
			want:    org(false, nil, "github/delete_repo"),
		},
		{
			name:    "mode: I switched to a limit while they added a deny",
			base:    org(false, nil),
			mine:    org(false, sel(l("docs"), nil, nil, nil)),
			current: org(false, nil, "slack/post_message"),
			want:    org(false, sel(l("docs"), nil, nil, nil), "slack/post_message"),
		},
		{
			name:    "mode: an empty limit stays a limit (no MCP access)",
			base:    org(false, nil),
			mine:    org(false, sel(nil, nil, nil, nil)),
			current: org(false, nil),
			want:    org(false, sel(nil, nil, nil, nil)),
		},
		{
			name:    "tool limits: per server, set-wise",
			base:    org(false, sel(l("github", "jira"), nil, nil, map[string][]string{"github": l("list_issues", "create_issue")})),
			mine:    org(false, sel(l("github", "jira"), nil, nil, map[string][]string{"github": l("list_issues", "get_issue"), "jira": l("search")})),
			current: org(false, sel(l("github", "jira"), nil, nil, map[string][]string{"github": l("list_issues", "create_issue", "add_comment")})),
			want:    org(false, sel(l("github", "jira"), nil, nil, map[string][]string{"github": l("add_comment", "get_issue", "list_issues"), "jira": l("search")})),
		},
		{
			name:    "tool limits: I lifted a limit they had widened",
			base:    org(false, sel(l("github"), nil, nil, map[string][]string{"github": l("list_issues")})),
			mine:    org(false, sel(l("github"), nil, nil, nil)),
			current: org(false, sel(l("github"), nil, nil, map[string][]string{"github": l("list_issues", "get_issue")})),
			want:    org(false, sel(l("github"), nil, nil, nil)),
		},
		{
			name:    "tool limits: a limit to no tool stays a limit",
			base:    org(false, sel(l("github"), nil, nil, nil)),
			mine:    org(false, sel(l("github"), nil, nil, map[string][]string{"github": {}})),
			current: org(false, sel(l("github"), nil, nil, nil), "slack/post_message"),
			want:    org(false, sel(l("github"), nil, nil, map[string][]string{"github": {}}), "slack/post_message"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := models.Rebase(tc.base, tc.mine, tc.current)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Rebase:\n got  %s\n want %s", show(got), show(tc.want))
			}
			// With nothing changed by anyone else, rebasing is the draft itself.
			if d := models.DiffOrganization(models.Rebase(tc.base, tc.mine, tc.base), tc.mine); !d.Empty() {
				t.Errorf("Rebase onto the base itself differs from the draft: %+v", d)
			}
			// With nothing changed by me, rebasing keeps the current settings.
			if d := models.DiffOrganization(models.Rebase(tc.base, tc.base, tc.current), tc.current); !d.Empty() {
				t.Errorf("Rebase of no edit differs from the current settings: %+v", d)
			}
		})
	}
}

func TestDiffOrganization(t *testing.T) {
	yes := true
	from := models.OrganizationDoc{Name: "acme", DenyTools: []string{"github/delete_repo"}}
	to := models.OrganizationDoc{Name: "acme", Blocked: true, MCP: &models.MCPPermission{Servers: []string{"docs"}},
		DenyTools: []string{"slack/post_message", "github/delete_repo"}}
	d := models.DiffOrganization(from, to)
	want := models.OrganizationDelta{Blocked: &yes, Limit: &yes,
		Servers: models.SetDelta{Added: []string{"docs"}}, DenyTools: models.SetDelta{Added: []string{"slack/post_message"}}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("delta %+v, want %+v", d, want)
	}
	if d.Empty() || !models.DiffOrganization(to, to).Empty() {
		t.Error("Empty is wrong")
	}
}

func show(o models.OrganizationDoc) string {
	s := "blocked=" + map[bool]string{true: "yes", false: "no"}[o.Blocked]
	if o.MCP == nil {
		s += " mcp=none"
	} else {
		s += " mcp=" + showMCP(*o.MCP)
	}
	return s + " deny=" + showList(o.DenyTools)
}

func showMCP(p models.MCPPermission) string {
	s := "{servers:" + showList(p.Servers) + " groups:" + showList(p.AccessGroups) + " toolsets:" + showList(p.Toolsets)
	if p.Tools != nil {
		s += " tools:{"
		for _, k := range sortedKeys(p.Tools) {
			s += k + ":" + showList(p.Tools[k]) + " "
		}
		s += "}"
	}
	return s + "}"
}

func showList(l []string) string {
	if l == nil {
		return "nil"
	}
	out := "["
	for i, s := range l {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out + "]"
}

func sortedKeys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
