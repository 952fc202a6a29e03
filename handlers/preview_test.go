package handlers

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// previewImpact is what every page previewing a change shows; these expected values are
// written out from the hand-made diff below.
func TestPreviewImpact(t *testing.T) {
	lost := resolver.Access{"github": {"delete_repo"}}
	gained := resolver.Access{"jira": {"get_ticket"}}
	none := resolver.Access{}
	diff := resolver.DiffResult{
		Principals: []resolver.PrincipalDiff{
			{Kind: resolver.KindOrganization, Name: "acme", Lost: lost, Gained: none},
			{Kind: resolver.KindTeam, Name: "platform", Organization: "acme", Lost: lost, Gained: none},
			{Kind: resolver.KindTeam, Name: "web", Organization: "acme", Lost: none, Gained: gained},
			{Kind: resolver.KindKey, Name: "ci", Organization: "acme", Team: "platform", Lost: lost, Gained: none},
			{Kind: resolver.KindKey, Name: "deploy", Organization: "acme", Team: "platform", Lost: lost, Gained: none},
			{Kind: resolver.KindKey, Name: "front", Organization: "acme", Team: "web", Lost: none, Gained: gained},
			{Kind: resolver.KindKey, Name: "solo", Organization: "acme", Lost: lost, Gained: none},
		},
		Summary: resolver.DiffSummary{Principals: 7, OrganizationsLosing: 1, TeamsLosing: 1, TeamsGaining: 1, KeysLosing: 3, KeysGaining: 1},
	}
	loses := func(kind, name string) views.PrincipalImpact {
		return views.PrincipalImpact{Kind: kind, Name: name, Lost: []views.ServerTools{{Server: "github", Tools: []string{"delete_repo"}}}}
	}
	gains := func(kind, name string) views.PrincipalImpact {
		return views.PrincipalImpact{Kind: kind, Name: name, Gained: []views.ServerTools{{Server: "jira", Tools: []string{"get_ticket"}}}}
	}
	ptr := func(p views.PrincipalImpact) *views.PrincipalImpact { return &p }
	counts := views.PreviewProps{
		Lose: views.ImpactCount{Org: true, Teams: 1, Keys: 3},
		Gain: views.ImpactCount{Teams: 1, Keys: 1},
		ByTool: []views.ToolImpact{
			{Server: "github", Tool: "delete_repo", Lost: views.ImpactCount{Org: true, Teams: 1, Keys: 3}},
			{Server: "jira", Tool: "get_ticket", Gained: views.ImpactCount{Teams: 1, Keys: 1}},
		},
		OrgRow: ptr(loses("organization", "acme")),
	}
	with := func(filter string, groups []views.GroupImpact) views.PreviewProps {
		p := counts
		p.Filter, p.Groups, p.ShownGroups, p.TotalGroups = filter, groups, len(groups), len(groups)
		return p
	}
	cases := []struct {
		filter string
		want   views.PreviewProps
	}{
		{"", with("", []views.GroupImpact{
			{Team: "platform", Row: ptr(loses("team", "platform")), Keys: []views.PrincipalImpact{loses("key", "ci"), loses("key", "deploy")}},
			{Team: "web", Row: ptr(gains("team", "web")), Keys: []views.PrincipalImpact{gains("key", "front")}},
			{Team: "", Keys: []views.PrincipalImpact{loses("key", "solo")}}, // keys without a team last
		})},
		// A key's name matches: its team is listed with that key alone, without the team's row.
		{"DEP", with("DEP", []views.GroupImpact{{Team: "platform", Keys: []views.PrincipalImpact{loses("key", "deploy")}}})},
		// A team's name matches: the team with every key.
		{"we", with("we", []views.GroupImpact{{Team: "web", Row: ptr(gains("team", "web")), Keys: []views.PrincipalImpact{gains("key", "front")}}})},
		{"nobody", with("nobody", nil)},
	}
	for _, tc := range cases {
		if got := previewImpact(diff, tc.filter, 1); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("filter %q:\n got %+v\nwant %+v", tc.filter, got, tc.want)
		}
	}
}

func TestPreviewImpactPages(t *testing.T) {
	var diff resolver.DiffResult
	for i := range 25 {
		diff.Principals = append(diff.Principals, resolver.PrincipalDiff{Kind: resolver.KindTeam, Name: fmt.Sprintf("t%02d", i),
			Lost: resolver.Access{"github": {"delete_repo"}}, Gained: resolver.Access{}})
	}
	for i := range 13 {
		diff.Principals = append(diff.Principals, resolver.PrincipalDiff{Kind: resolver.KindKey, Name: fmt.Sprintf("k%02d", i), Team: "t00",
			Lost: resolver.Access{"github": {"delete_repo"}}, Gained: resolver.Access{}})
	}
	cases := []struct {
		page, shown, next int
		last              string
	}{
		{1, 20, 2, "t19"},
		{2, 25, 0, "t24"},
		{3, 25, 0, "t24"},
	}
	for _, tc := range cases {
		p := previewImpact(diff, "", tc.page)
		if p.ShownGroups != tc.shown || p.TotalGroups != 25 || p.NextPage != tc.next || p.Groups[len(p.Groups)-1].Team != tc.last {
			t.Errorf("page %d: shown %d of %d, next %d, last %s; want %d of 25, next %d, last %s",
				tc.page, p.ShownGroups, p.TotalGroups, p.NextPage, p.Groups[len(p.Groups)-1].Team, tc.shown, tc.next, tc.last)
		}
		// Ten keys a group are listed, the rest counted.
		if g := p.Groups[0]; len(g.Keys) != 10 || g.MoreKeys != 3 || g.Keys[9].Name != "k09" {
			t.Errorf("page %d: team t00 lists %d keys (last %s), %d more; want 10 (last k09), 3 more", tc.page, len(g.Keys), g.Keys[len(g.Keys)-1].Name, g.MoreKeys)
		}
	}
}
