package main

import (
	"cmp"
	"flag"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
)

// outputFormat is what --format selects: JSON for programs (the default, and what the
// commands printed before --format existed), text for people at a terminal, markdown for a
// pull-request comment.
type outputFormat string

const (
	formatJSON     outputFormat = "json"
	formatText     outputFormat = "text"
	formatMarkdown outputFormat = "markdown"
)

func (f *outputFormat) String() string { return string(*f) }

// Set refuses anything but the three formats, so a typo is a flag error (exit 2), not JSON.
func (f *outputFormat) Set(s string) error {
	switch v := outputFormat(s); v {
	case formatJSON, formatText, formatMarkdown:
		*f = v
		return nil
	}
	return fmt.Errorf("want json, text or markdown")
}

// formatFlag registers --format.
func formatFlag(fs *flag.FlagSet) *outputFormat {
	f := formatJSON
	fs.Var(&f, "format", "output: json, text (a summary for people) or markdown (a pull-request comment)")
	return &f
}

// ---------------------------------------------------------------------------------------------
// Diffs
//
// The text and markdown forms only group and present what the resolver computed: which
// principals changed (DiffResult.Principals, with their organization and team), the totals
// (DiffResult.Summary) and, per group, how many principals gain and lose each tool
// (DiffResult.ByTool). They never work out access themselves.

// diffHeader is what a report says above the diff: a title and, for a plan, what it was made
// against and what it applies.
type diffHeader struct {
	title string
	plan  *planFile // nil for `policy diff`
}

// diffGroup is the principals of one organization and team: the organization itself and its
// teamless keys (team ""), or one team and its keys.
type diffGroup struct {
	team       string
	principals []resolver.PrincipalDiff
	tools      []resolver.ToolChange
}

// orgGroup is the changed principals of one organization ("" for those without one).
type orgGroup struct {
	name                string
	groups              []diffGroup
	orgs, teams, keys   int // changed principals by kind
	toolsLost, toolsWon int // distinct tools someone in it loses, gains
}

// groupDiff splits a diff by organization, then team, organizations and teams by name (the
// principals without an organization last).
func groupDiff(d resolver.DiffResult) []orgGroup {
	type at struct{ org, team string }
	byGroup := map[at][]resolver.PrincipalDiff{}
	for _, p := range d.Principals {
		g := at{p.Organization, p.Team}
		switch p.Kind {
		case resolver.KindOrganization:
			g = at{p.Name, ""}
		case resolver.KindTeam:
			g = at{p.Organization, p.Name}
		}
		byGroup[g] = append(byGroup[g], p)
	}
	orgs := map[string]*orgGroup{}
	for g, ps := range byGroup {
		o := orgs[g.org]
		if o == nil {
			o = &orgGroup{name: g.org}
			orgs[g.org] = o
		}
		o.groups = append(o.groups, diffGroup{team: g.team, principals: ps,
			tools: resolver.DiffResult{Principals: ps}.ByTool()})
		for _, p := range ps {
			switch p.Kind {
			case resolver.KindOrganization:
				o.orgs++
			case resolver.KindTeam:
				o.teams++
			default:
				o.keys++
			}
		}
	}
	out := make([]orgGroup, 0, len(orgs))
	for _, o := range orgs {
		slices.SortFunc(o.groups, func(a, b diffGroup) int { return strings.Compare(a.team, b.team) })
		var all []resolver.PrincipalDiff
		for _, g := range o.groups {
			all = append(all, g.principals...)
		}
		for _, tc := range (resolver.DiffResult{Principals: all}).ByTool() {
			if tc.Lost.Any() {
				o.toolsLost++
			}
			if tc.Gained.Any() {
				o.toolsWon++
			}
		}
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b orgGroup) int {
		if (a.name == "") != (b.name == "") {
			return cmp.Compare(b.name, a.name) // "" last
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// plural writes "1 key", "3 keys".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// impactText writes a count of principals: "1 team, 3 keys".
func impactText(c resolver.Impact) string {
	var parts []string
	if c.Organizations > 0 {
		parts = append(parts, plural(c.Organizations, "organization", "organizations"))
	}
	if c.Teams > 0 {
		parts = append(parts, plural(c.Teams, "team", "teams"))
	}
	if c.Keys > 0 {
		parts = append(parts, plural(c.Keys, "key", "keys"))
	}
	return strings.Join(parts, ", ")
}

// verb conjugates for a count: "1 key loses", "3 keys lose", "1 team, 3 keys lose".
func verb(c resolver.Impact, one, many string) string {
	if c.Organizations+c.Teams+c.Keys == 1 {
		return one
	}
	return many
}

func kindCounts(orgs, teams, keys int) string {
	return impactText(resolver.Impact{Organizations: orgs, Teams: teams, Keys: keys})
}

// summaryLines are the diff's totals, counts first: who changes, who loses and gains how
// many tools (a tool lost by three keys counts three times, as DiffSummary counts).
func summaryLines(s resolver.DiffSummary, orgs []orgGroup) []string {
	var o, t, k int
	for _, g := range orgs {
		o, t, k = o+g.orgs, t+g.teams, k+g.keys
	}
	return []string{
		fmt.Sprintf("%s change access: %s.", plural(s.Principals, "principal", "principals"), kindCounts(o, t, k)),
		fmt.Sprintf("− losing:  %s (%s in all)", orNone(kindCounts(s.OrganizationsLosing, s.TeamsLosing, s.KeysLosing)),
			plural(s.ToolsLost, "tool", "tools")),
		fmt.Sprintf("+ gaining: %s (%s in all)", orNone(kindCounts(s.OrganizationsGaining, s.TeamsGaining, s.KeysGaining)),
			plural(s.ToolsGained, "tool", "tools")),
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// maxNames bounds the principals a text group lists by name.
const maxNames = 10

// names lists up to maxNames principals of one kind by name, each marked − (only loses),
// + (only gains) or ± (both).
func names(ps []resolver.PrincipalDiff, kind resolver.PrincipalKind) string {
	var out []string
	n := 0
	for _, p := range ps {
		if p.Kind != kind {
			continue
		}
		if n++; n > maxNames {
			continue
		}
		mark := "±"
		switch {
		case len(p.Gained) == 0:
			mark = "−"
		case len(p.Lost) == 0:
			mark = "+"
		}
		out = append(out, mark+p.Name)
	}
	if n > maxNames {
		out = append(out, fmt.Sprintf("and %d more", n-maxNames))
	}
	return strings.Join(out, ", ")
}

// planLines are what a plan says about its base and document, for text and markdown alike.
func planLines(p *planFile, code func(string) string) []string {
	out := []string{fmt.Sprintf("Base: revision %d, sha256 %s; planned document: sha256 %s.",
		p.BaseRevision, code(models.ShortSHA256(p.BaseSHA256)), code(models.ShortSHA256(p.DocumentSHA256)))}
	if !p.Changed {
		out = append(out, "No changes: the database already holds this document; applying the plan writes nothing.")
	}
	return out
}

// writeDiffText writes a Terraform-style summary: the totals, then each organization and team
// with the tools its principals gain (+) and lose (−), most lost first.
func writeDiffText(w io.Writer, h diffHeader, d resolver.DiffResult) error {
	var b strings.Builder
	b.WriteString(h.title + "\n")
	if h.plan != nil {
		for _, l := range planLines(h.plan, func(s string) string { return s }) {
			b.WriteString(l + "\n")
		}
	}
	if d.Empty() {
		b.WriteString("No access changes.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	orgs := groupDiff(d)
	for i, l := range summaryLines(d.Summary, orgs) {
		if i > 0 {
			b.WriteString("  ")
		}
		b.WriteString(l + "\n")
	}
	for _, o := range orgs {
		b.WriteString("\n")
		if o.name == "" {
			b.WriteString("no organization")
		} else {
			fmt.Fprintf(&b, "organization %q", o.name)
		}
		fmt.Fprintf(&b, ": %s change; %s lost, %s gained\n", kindCounts(o.orgs, o.teams, o.keys),
			plural(o.toolsLost, "tool", "tools"), plural(o.toolsWon, "tool", "tools"))
		for _, g := range o.groups {
			indent := "  "
			if g.team != "" {
				fmt.Fprintf(&b, "  team %q\n", g.team)
				indent = "    "
			}
			for _, tc := range g.tools {
				if tc.Lost.Any() {
					fmt.Fprintf(&b, "%s− %s %s %s/%s\n", indent, impactText(tc.Lost), verb(tc.Lost, "loses", "lose"), tc.Server, tc.Tool)
				}
				if tc.Gained.Any() {
					fmt.Fprintf(&b, "%s+ %s %s %s/%s\n", indent, impactText(tc.Gained), verb(tc.Gained, "gains", "gain"), tc.Server, tc.Tool)
				}
			}
			if ks := names(g.principals, resolver.KindKey); ks != "" {
				fmt.Fprintf(&b, "%s  keys: %s\n", indent, ks)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// GitHub refuses comments over 65,536 characters; a markdown report stops adding organization
// sections before it gets there, and an organization's table before maxMarkdownRows.
const (
	maxMarkdown     = 60000
	maxMarkdownRows = 200
)

// mdCode writes s as an inline code span that survives a table cell: a fence longer than any
// run of backticks in s, and pipes escaped (GitHub splits cells on them even inside code).
// Names in code spans also cannot mention anyone (@team) or turn into emphasis.
func mdCode(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// writeDiffMarkdown writes a pull-request comment: the totals, a table with a row per
// organization, then a collapsed section per organization listing each team's tool changes.
func writeDiffMarkdown(w io.Writer, h diffHeader, d resolver.DiffResult) error {
	var b strings.Builder
	b.WriteString("### " + h.title + "\n\n")
	if h.plan != nil {
		for _, l := range planLines(h.plan, mdCode) {
			b.WriteString(l + "\n")
		}
		b.WriteString("\n")
	}
	if d.Empty() {
		b.WriteString("**No access changes.**\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	orgs := groupDiff(d)
	sm := d.Summary
	fmt.Fprintf(&b, "**%s**\n\n", summaryLines(sm, orgs)[0])
	b.WriteString("| | organizations | teams | keys | tools |\n| --- | ---: | ---: | ---: | ---: |\n")
	fmt.Fprintf(&b, "| − losing | %d | %d | %d | %d |\n", sm.OrganizationsLosing, sm.TeamsLosing, sm.KeysLosing, sm.ToolsLost)
	fmt.Fprintf(&b, "| + gaining | %d | %d | %d | %d |\n\n", sm.OrganizationsGaining, sm.TeamsGaining, sm.KeysGaining, sm.ToolsGained)
	b.WriteString("| organization | teams | keys | tools lost | tools gained |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, o := range orgs {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", orgLabel(o.name), o.teams, o.keys, o.toolsLost, o.toolsWon)
	}
	for i, o := range orgs {
		sec := orgSection(o)
		if b.Len()+len(sec) > maxMarkdown {
			fmt.Fprintf(&b, "\n_%s not shown: the comment would be too long. The JSON output (or the plan file) has the whole diff._\n",
				plural(len(orgs)-i, "more organization", "more organizations"))
			break
		}
		b.WriteString(sec)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orgLabel(name string) string {
	if name == "" {
		return "_(no organization)_"
	}
	return mdCode(name)
}

// orgSection is one organization's collapsible section.
func orgSection(o orgGroup) string {
	var b strings.Builder
	label := "<i>no organization</i>"
	if o.name != "" {
		label = "<code>" + html.EscapeString(o.name) + "</code>"
	}
	// GitHub renders no markdown inside <summary>: HTML it is.
	fmt.Fprintf(&b, "\n<details>\n<summary>%s: %s change</summary>\n\n", label, kindCounts(o.orgs, o.teams, o.keys))
	b.WriteString("| team | change | who | tool |\n| --- | --- | --- | --- |\n")
	rows, total := 0, 0
	for _, g := range o.groups {
		team := "_(organization)_"
		if g.team != "" {
			team = mdCode(g.team)
		}
		row := func(sign string, c resolver.Impact, verb, server, tool string) {
			if total++; total > maxMarkdownRows {
				return
			}
			rows++
			fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", team, sign, verb, impactText(c), mdCode(server+"/"+tool))
		}
		for _, tc := range g.tools {
			if tc.Lost.Any() {
				row("−", tc.Lost, "loses", tc.Server, tc.Tool)
			}
			if tc.Gained.Any() {
				row("+", tc.Gained, "gains", tc.Server, tc.Tool)
			}
		}
	}
	if total > rows {
		fmt.Fprintf(&b, "\n_%d more rows not shown._\n", total-rows)
	}
	first := true
	for _, g := range o.groups {
		ks := names(g.principals, resolver.KindKey)
		if ks == "" {
			continue
		}
		if first {
			b.WriteString("\nKeys (− loses, + gains, ± both):\n\n")
			first = false
		}
		team := "_(no team)_"
		if g.team != "" {
			team = mdCode(g.team)
		}
		fmt.Fprintf(&b, "- %s: %s\n", team, mdCode(ks))
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

// writeDiff writes a diff in the chosen format.
func writeDiff(e env, f outputFormat, h diffHeader, d resolver.DiffResult) int {
	var err error
	switch f {
	case formatText:
		err = writeDiffText(e.stdout, h, d)
	case formatMarkdown:
		err = writeDiffMarkdown(e.stdout, h, d)
	default:
		if h.plan != nil {
			return writeJSON(e, h.plan)
		}
		return writeJSON(e, d)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "warden: write %s: %v\n", f, err)
		return exitFailure
	}
	return exitOK
}

// ---------------------------------------------------------------------------------------------
// Decisions

// writeCheck writes one decision: in text a verdict line and the deciding reason, with
// explain the level-by-level explanation after them; in markdown the same, the explanation
// collapsed.
func writeCheck(w io.Writer, f outputFormat, ex resolver.Explanation, explain bool) error {
	r := ex.Request
	who := fmt.Sprintf("key %q", r.Key)
	var via []string
	if r.Agent != "" {
		via = append(via, fmt.Sprintf("agent %q", r.Agent))
	}
	if r.EndUser != "" {
		via = append(via, fmt.Sprintf("end user %q", r.EndUser))
	}
	if len(via) > 0 {
		who += " (" + strings.Join(via, ", ") + ")"
	}
	verdict := "allowed"
	if !ex.Decision.Allowed {
		verdict = "denied by " + string(ex.Decision.DecidedBy)
	}
	var b strings.Builder
	switch f {
	case formatMarkdown:
		// The reason in a code span too: names may hold an @, which GitHub would read as a mention.
		fmt.Fprintf(&b, "**%s**: %s → %s\n\n%s\n", verdict, mdCode(who), mdCode(r.Server+"/"+r.Tool), mdCode(ex.Reason))
		if explain {
			b.WriteString("\n<details>\n<summary>Explanation, level by level</summary>\n\n```\n")
			for _, l := range ex.Chain.Lines() {
				b.WriteString(strings.ReplaceAll(l, "```", "`\u200b``") + "\n")
			}
			b.WriteString("```\n\n</details>\n")
		}
	default:
		fmt.Fprintf(&b, "%s: %s → %s/%s\n%s\n", verdict, who, r.Server, r.Tool, ex.Reason)
		if explain {
			b.WriteString("\n")
			for _, l := range ex.Chain.Lines() {
				b.WriteString(l + "\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// checkExit is policy check's exit code for a decision written out: 0 allowed, 1 denied.
func checkExit(d resolver.Decision) int {
	if d.Allowed {
		return exitOK
	}
	return exitFailure
}
