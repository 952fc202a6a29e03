package handlers

import (
	"sort"

	"github.com/warden-mcp/warden/models"
	"strconv"
	"strings"

	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// Preview paging: groups (teams) a page, and changed keys listed per team; the rest is counted,
// so a preview of a 20,000-key organization stays a small response.
const (
	groupsPerPage = 20
	keysPerGroup  = 10
	toolRows      = 50
	chipsPerRow   = 12
)

// previewImpact turns a resolver diff into the panel's rows: the headline counts, impact by tool
// and impact by team with keys nested, filtered (a part of a team's or key's name, any case) and
// showing page pages of groups. Every page previewing a change calls it with the resolver's
// diff of that change; the caller adds what only it knows (the subject, revision, problems).
func previewImpact(diff resolver.DiffResult, filter string, page int) views.PreviewProps {
	p := views.PreviewProps{Filter: filter}
	sum := diff.Summary
	p.Lose = views.ImpactCount{Teams: sum.TeamsLosing, Keys: sum.KeysLosing, Org: sum.OrganizationsLosing > 0, Orgs: several(sum.OrganizationsLosing)}
	p.Gain = views.ImpactCount{Teams: sum.TeamsGaining, Keys: sum.KeysGaining, Org: sum.OrganizationsGaining > 0, Orgs: several(sum.OrganizationsGaining)}
	p.ByTool = byTool(diff)
	if len(p.ByTool) > toolRows {
		p.ByTool, p.MoreTools = p.ByTool[:toolRows], len(p.ByTool)-toolRows
	}
	groups, orgRow := groupDiff(diff)
	if orgRow != nil {
		r := principalImpact(*orgRow)
		p.OrgRow = &r
	}
	p.Groups, p.ShownGroups, p.TotalGroups = pageGroups(groups, filter, page*groupsPerPage)
	if p.ShownGroups < p.TotalGroups {
		p.NextPage = page + 1
	}
	return p
}

// diffGroup is one team's change with its keys' (team "" holds the keys without a team).
type diffGroup struct {
	team string
	row  *resolver.PrincipalDiff
	keys []resolver.PrincipalDiff
}

// groupDiff groups a diff's teams and keys by team, teams by name and keys without a team
// last; the organization's own row stands apart.
func groupDiff(diff resolver.DiffResult) ([]*diffGroup, *resolver.PrincipalDiff) {
	var orgRow *resolver.PrincipalDiff
	byTeam := map[string]*diffGroup{}
	get := func(team string) *diffGroup {
		g := byTeam[team]
		if g == nil {
			g = &diffGroup{team: team}
			byTeam[team] = g
		}
		return g
	}
	for i := range diff.Principals {
		d := &diff.Principals[i]
		switch d.Kind {
		case resolver.KindOrganization:
			orgRow = d
		case resolver.KindTeam:
			get(d.Name).row = d
		case resolver.KindKey:
			get(d.Team).keys = append(get(d.Team).keys, *d)
		}
	}
	groups := make([]*diffGroup, 0, len(byTeam))
	for _, g := range byTeam {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		a, b := groups[i].team, groups[j].team
		if (a == "") != (b == "") {
			return b == ""
		}
		return a < b
	})
	return groups, orgRow
}

// pageGroups keeps the groups matching filter (a team by its name shows every key, otherwise
// only its matching keys are shown), up to limit of them; it counts every match.
func pageGroups(groups []*diffGroup, filter string, limit int) (shown []views.GroupImpact, nShown, total int) {
	filter = strings.ToLower(filter)
	match := func(s string) bool { return filter == "" || strings.Contains(strings.ToLower(s), filter) }
	for _, g := range groups {
		keys := g.keys
		if !match(g.team) {
			keys = nil
			for _, k := range g.keys {
				if match(k.Name) {
					keys = append(keys, k)
				}
			}
			if len(keys) == 0 {
				continue
			}
		}
		total++
		if len(shown) >= limit {
			continue
		}
		vg := views.GroupImpact{Team: g.team}
		if g.row != nil && match(g.team) {
			r := principalImpact(*g.row)
			vg.Row = &r
		}
		for i, k := range keys {
			if i == keysPerGroup {
				vg.MoreKeys = len(keys) - keysPerGroup
				break
			}
			vg.Keys = append(vg.Keys, principalImpact(k))
		}
		shown = append(shown, vg)
	}
	return shown, len(shown), total
}

// principalImpact is one principal's row: what it loses and gains, as chips.
func principalImpact(d resolver.PrincipalDiff) views.PrincipalImpact {
	r := views.PrincipalImpact{Kind: string(d.Kind), Name: d.Name}
	budget := chipsPerRow
	r.Lost, r.MoreLost = serverTools(d.Lost, &budget)
	r.Gained, r.MoreGained = serverTools(d.Gained, &budget)
	return r
}

// preview is the organization settings page's panel for a draft, and the snapshot with the
// draft saved (nil when there is nothing to diff or the draft has problems), which the
// recorded-traffic replay needs; the guards are checked on it.
func (h *Orgs) preview(v *live.View, in draftInput) (views.PreviewProps, *resolver.Snapshot) {
	var after *resolver.Snapshot
	p := draftPreview(in, v.Revision, func() (resolver.DiffResult, models.Problems) {
		diff, a, probs := h.diff(v, in.org)
		if len(probs) == 0 {
			after = a
		}
		return diff, probs
	})
	p.Subject, p.Base, p.FormID, p.Below = in.org.Name, "/orgs/"+in.org.Name+"/settings", "org-settings", "every team and key of "+in.org.Name
	p.EmptyLimit = in.org.MCP.IsEmpty() && len(p.Problems) == 0
	p.Now = choiceNow(in.form, func(mcp *models.MCPPermission) (resolver.Access, bool) {
		o := in.org
		o.MCP = mcp
		return v.Snapshot.OrganizationAccessAs(o)
	})
	if after != nil {
		p.Guards = checkGuards(v.Doc.Guards, v.Snapshot, after).Props()
	}
	return p, after
}

// draftPreview is the panel for a draft of any level: empty for the stored settings, the
// problems of a draft that has some, otherwise the impact of the resolver's diff (diff).
func draftPreview(in draftInput, rev int64, diff func() (resolver.DiffResult, models.Problems)) views.PreviewProps {
	p := views.PreviewProps{Revision: rev, Filter: in.filter}
	if in.stored {
		return p
	}
	if len(in.problems) > 0 {
		p.Problems = in.problems
		return p
	}
	d, probs := diff()
	if len(probs) > 0 {
		p.Problems = probs
		return p
	}
	p = previewImpact(d, in.filter, in.page)
	p.Revision = rev
	return p
}

// choiceNow says what a level would get right now under each MCP access choice, for the
// selection the form holds (kept while Inherit is chosen): access computes the level's access
// (the resolver's) with an mcp block of mcp, nil for Inherit.
func choiceNow(f views.AccessForm, access func(mcp *models.MCPPermission) (resolver.Access, bool)) views.ChoiceNow {
	words := func(prefix string, mcp *models.MCPPermission) string {
		a, ok := access(mcp)
		if !ok {
			return ""
		}
		return prefix + accessWords(a) + "."
	}
	sel := &models.MCPPermission{Servers: f.Servers, AccessGroups: f.AccessGroups, Toolsets: f.Toolsets}
	if len(f.ToolLimits) > 0 {
		sel.Tools = f.ToolLimits
	}
	return views.ChoiceNow{Inherit: words("With Inherit it would get ", nil), Limit: words("With this selection it would get ", sel), Selected: f.Limit}
}

// accessWords is an access in a few words: "3 servers · 27 tools (github, jira, docs)".
func accessWords(a resolver.Access) string {
	s := accessSummary(a)
	if s.Tools == 0 {
		return "no MCP access"
	}
	servers := a.Servers()
	list := strings.Join(servers[:min(len(servers), 4)], ", ")
	if len(servers) > 4 {
		list += ", …"
	}
	return s.String() + " (" + list + ")"
}

// byTool is the resolver's impact by tool, as the panel counts it.
func byTool(diff resolver.DiffResult) []views.ToolImpact {
	changes := diff.ByTool()
	out := make([]views.ToolImpact, len(changes))
	for i, c := range changes {
		out[i] = views.ToolImpact{Server: c.Server, Tool: c.Tool, Lost: impactCount(c.Lost), Gained: impactCount(c.Gained)}
	}
	return out
}

func impactCount(c resolver.Impact) views.ImpactCount {
	return views.ImpactCount{Org: c.Organizations > 0, Teams: c.Teams, Keys: c.Keys}
}

// serverTools lists a's tools as chips, at most *budget of them; it returns how many were left
// out and spends the budget.
func serverTools(a resolver.Access, budget *int) ([]views.ServerTools, int) {
	var out []views.ServerTools
	more := 0
	for _, s := range a.Servers() {
		tools := a[s]
		n := min(len(tools), *budget)
		if n > 0 {
			out = append(out, views.ServerTools{Server: s, Tools: tools[:n]})
		}
		*budget -= n
		more += len(tools) - n
	}
	return out, more
}

// savedSummary says in one sentence what a saved change did to access, naming the tool when
// only one changed: "14 keys lost access to github/delete_repo."
func savedSummary(diff resolver.DiffResult) string {
	if diff.Empty() {
		return "no team or key gains or loses access."
	}
	var lostTools, gainedTools []string
	for _, t := range diff.ByTool() {
		if t.Lost.Any() {
			lostTools = append(lostTools, t.Server+"/"+t.Tool)
		}
		if t.Gained.Any() {
			gainedTools = append(gainedTools, t.Server+"/"+t.Tool)
		}
	}
	s := diff.Summary
	var parts []string
	if who := views.ImpactWords(views.ImpactCount{Org: s.OrganizationsLosing > 0, Orgs: several(s.OrganizationsLosing), Teams: s.TeamsLosing, Keys: s.KeysLosing}); who != "" {
		parts = append(parts, who+" lost access to "+toolWords(lostTools))
	}
	if who := views.ImpactWords(views.ImpactCount{Org: s.OrganizationsGaining > 0, Orgs: several(s.OrganizationsGaining), Teams: s.TeamsGaining, Keys: s.KeysGaining}); who != "" {
		parts = append(parts, who+" gained access to "+toolWords(gainedTools))
	}
	return strings.Join(parts, "; ") + "."
}

func toolWords(tools []string) string {
	if len(tools) == 1 {
		return tools[0]
	}
	return strconv.Itoa(len(tools)) + " tools"
}

// several is n when it counts more than one organization (ImpactCount.Orgs), else 0.
func several(n int) int {
	if n > 1 {
		return n
	}
	return 0
}
