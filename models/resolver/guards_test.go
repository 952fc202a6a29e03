package resolver

import (
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"pgregory.net/rapid"
)

func atMost(n int) *int { return &n }

// guardsBase is base with acme limited to github and jira: ci, solo and bound may call github's
// four enabled tools and jira's two; loner and stray, restricted by nothing, the public slack
// and docs.
func guardsBase() *models.Document {
	d := base()
	d.Organizations[0].MCP = mcp("github", "jira")
	return d
}

func TestCheckGuards(t *testing.T) {
	v := func(name string, tools ...string) GuardViolation {
		return GuardViolation{Kind: KindKey, Name: name, Tools: tools}
	}
	jiraAll := []string{"github/delete_repo", "jira/create_ticket", "jira/get_ticket"}
	for _, tc := range []struct {
		name  string
		edit  edit
		guard models.GuardDoc
		want  []GuardViolation
	}{
		{"forbid for agent-bound keys", nil,
			models.GuardDoc{Forbid: []string{"*/delete_*"}, For: &models.GuardScope{AgentBound: true}},
			[]GuardViolation{v("bound", "github/delete_repo")}},
		{"forbid for every key, tools sorted", nil,
			models.GuardDoc{Forbid: []string{"jira/*", "*/delete_*"}},
			[]GuardViolation{v("bound", jiraAll...), v("ci", jiraAll...), v("solo", jiraAll...)}},
		{"a disabled tool is called by nobody", nil,
			models.GuardDoc{Forbid: []string{"github/push"}}, nil},
		{"a pattern matching no catalogue tool", nil,
			models.GuardDoc{Forbid: []string{"*/drop_*"}}, nil},
		{"scope by team and key, public servers", nil,
			models.GuardDoc{Forbid: []string{"slack/*"}, For: &models.GuardScope{Teams: []string{"orphans"}, Keys: []string{"loner", "ci"}}},
			[]GuardViolation{v("loner", "slack/post", "slack/read"), v("stray", "slack/post", "slack/read")}},
		{"scope by organization reaches team keys and teamless keys", nil,
			models.GuardDoc{Forbid: []string{"github/get_issue"}, For: &models.GuardScope{Organizations: []string{"acme"}}},
			[]GuardViolation{v("bound", "github/get_issue"), v("ci", "github/get_issue"), v("solo", "github/get_issue")}},
		{"agent_bound narrows the names", nil,
			models.GuardDoc{Forbid: []string{"*/*"}, For: &models.GuardScope{AgentBound: true, Organizations: []string{"acme"}}},
			[]GuardViolation{v("bound", "github/create_issue", "github/delete_repo", "github/get_issue", "github/list_repos", "jira/create_ticket", "jira/get_ticket")}},
		{"blocked keys never violate", func(d *models.Document) { d.Keys[1].Blocked = true; d.Teams[0].Blocked = true },
			models.GuardDoc{Forbid: []string{"github/get_issue"}}, nil},
		{"deny_tools removes the violation", func(d *models.Document) { d.Keys[0].DenyTools = []string{"github/delete_repo"} },
			models.GuardDoc{Forbid: []string{"github/delete_repo"}, For: &models.GuardScope{Keys: []string{"ci", "loner"}}}, nil},
		{"at_most reached is kept", nil,
			models.GuardDoc{Tool: "github/create_issue", AtMost: atMost(3)}, nil},
		{"at_most exceeded: every holder violates", nil,
			models.GuardDoc{Tool: "github/create_issue", AtMost: atMost(2)},
			[]GuardViolation{v("bound", "github/create_issue"), v("ci", "github/create_issue"), v("solo", "github/create_issue")}},
		{"at_most counts the keys in scope only", nil,
			models.GuardDoc{Tool: "github/create_issue", AtMost: atMost(1), For: &models.GuardScope{Keys: []string{"ci", "loner"}}}, nil},
		{"at_most 0", nil,
			models.GuardDoc{Tool: "slack/read", AtMost: atMost(0)},
			[]GuardViolation{v("loner", "slack/read"), v("stray", "slack/read")}},
		{"at_most of a tool outside the catalogue", nil,
			models.GuardDoc{Tool: "github/push", AtMost: atMost(0)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := guardsBase()
			if tc.edit != nil {
				tc.edit(d)
			}
			tc.guard.Name = "g"
			got := Build(d).CheckGuards([]models.GuardDoc{tc.guard})
			want := []GuardReport{{Name: "g", Violations: tc.want}}
			if want[0].Violations == nil {
				want[0].Violations = []GuardViolation{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("CheckGuards\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestAddedViolations(t *testing.T) {
	before := []GuardReport{
		{Name: "a", Violations: []GuardViolation{{KindKey, "ci", []string{"s/x"}}, {KindKey, "gone", []string{"s/x"}}}},
		{Name: "b", Violations: []GuardViolation{}},
	}
	after := []GuardReport{
		{Name: "a", Violations: []GuardViolation{{KindKey, "ci", []string{"s/x", "s/y"}}, {KindKey, "new", []string{"s/x"}}}},
		{Name: "b", Violations: []GuardViolation{}},
		{Name: "c", Violations: []GuardViolation{{KindKey, "ci", []string{"s/x"}}}},
	}
	want := []GuardReport{
		{Name: "a", Violations: []GuardViolation{{KindKey, "ci", []string{"s/y"}}, {KindKey, "new", []string{"s/x"}}}},
		{Name: "c", Violations: []GuardViolation{{KindKey, "ci", []string{"s/x"}}}},
	}
	if got := AddedViolations(before, after); !reflect.DeepEqual(got, want) {
		t.Errorf("AddedViolations\n got %+v\nwant %+v", got, want)
	}
	fixed := []GuardReport{{Name: "a", Violations: before[0].Violations[:1]}}
	if got := AddedViolations(before, fixed); got != nil {
		t.Errorf("removing violations adds %+v", got)
	}
	if got := AddedViolations(after, after); got != nil {
		t.Errorf("no change adds %+v", got)
	}
}

func TestGuardProblems(t *testing.T) {
	d := guardsBase()
	d.Guards = []models.GuardDoc{
		{Name: "holds", Forbid: []string{"github/push"}},
		{Name: "no-agent-deletes", Forbid: []string{"*/delete_*"}, For: &models.GuardScope{AgentBound: true}},
		{Name: "few-creators", Tool: "github/create_issue", AtMost: atMost(2)},
	}
	got := GuardProblems(d).Error()
	want := strings.Join([]string{
		`guards[1]: guard no-agent-deletes: key "bound" may call github/delete_repo, which it forbids`,
		`guards[2]: guard few-creators: key "bound" may call github/create_issue; 3 keys may, at most 2`,
		`guards[2]: guard few-creators: key "ci" may call github/create_issue; 3 keys may, at most 2`,
		`guards[2]: guard few-creators: key "solo" may call github/create_issue; 3 keys may, at most 2`,
	}, "\n")
	if got != want {
		t.Errorf("GuardProblems:\n%s\nwant\n%s", got, want)
	}
	d.Guards = d.Guards[:1]
	if p := GuardProblems(d); p != nil {
		t.Errorf("a holding guard: %v", p)
	}
}

// drawGuard is a random guard over the property tests' pools: patterns whose parts are names,
// *, or names with a * (dangling server and tool names included), and a random scope.
func drawGuard(t *rapid.T, name string) models.GuardDoc {
	g := models.GuardDoc{Name: name}
	serverParts := append(withDangling(poolServers, "sx"), "*", "s*", "*1", "s*2")
	toolParts := append(slices.Clone(poolTools), "z", "*", "a*", "*b")
	if rapid.Bool().Draw(t, "forbid") {
		for n := rapid.IntRange(1, 3).Draw(t, "patterns"); n > 0; n-- {
			g.Forbid = append(g.Forbid, rapid.SampledFrom(serverParts).Draw(t, "sp")+"/"+rapid.SampledFrom(toolParts).Draw(t, "tp"))
		}
	} else {
		g.Tool = rapid.SampledFrom(withDangling(poolServers, "sx")).Draw(t, "ts") + "/" + rapid.SampledFrom(append(slices.Clone(poolTools), "z")).Draw(t, "tt")
		g.AtMost = atMost(rapid.IntRange(0, 4).Draw(t, "at_most"))
	}
	if rapid.IntRange(0, 2).Draw(t, "scoped") > 0 {
		g.For = &models.GuardScope{
			AgentBound:    rapid.IntRange(0, 2).Draw(t, "agent_bound") == 0,
			Organizations: subset(t, withDangling(poolOrgs, "ox"), 3, "scope_orgs"),
			Teams:         subset(t, withDangling(poolTeams, "tx"), 3, "scope_teams"),
			Keys:          subset(t, withDangling(poolKeys, "kx"), 3, "scope_keys"),
		}
	}
	return g
}

// globRegexp is the brute force's reading of a pattern, independent of MatchToolPattern: a
// regular expression over "server/tool" in which * never crosses the slash.
func globRegexp(pattern string) *regexp.Regexp {
	server, tool, _ := strings.Cut(pattern, "/")
	part := func(p string) string {
		return strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, `[^/]*`)
	}
	return regexp.MustCompile("^" + part(server) + "/" + part(tool) + "$")
}

// refCheckGuard is CheckGuards by enumeration: every key of the document (first of each name),
// every server and tool of its reference access.
func refCheckGuard(doc *models.Document, g models.GuardDoc) GuardReport {
	r := GuardReport{Name: g.Name, Violations: []GuardViolation{}}
	seen := map[string]bool{}
	for _, k := range doc.Keys {
		if seen[k.Name] {
			continue
		}
		seen[k.Name] = true
		if sc := g.For; sc != nil {
			org := k.Organization
			team := refTeam(doc, k.Team)
			if team != nil {
				org = team.Organization
			}
			inOrg := refOrg(doc, org) != nil && slices.Contains(sc.Organizations, org)
			inTeam := team != nil && slices.Contains(sc.Teams, team.Name)
			named := len(sc.Organizations)+len(sc.Teams)+len(sc.Keys) > 0
			if (sc.AgentBound && k.Agent == "") || (named && !inOrg && !inTeam && !slices.Contains(sc.Keys, k.Name)) {
				continue
			}
		}
		acc, err := refAccessFor(doc, Request{Key: k.Name})
		if err != nil {
			panic(err)
		}
		var may []string
		for server, ts := range acc {
			for _, tool := range ts {
				st := server + "/" + tool
				if g.Forbid == nil && st == g.Tool {
					may = append(may, st)
				}
				for _, p := range g.Forbid {
					if globRegexp(p).MatchString(st) {
						may = append(may, st)
						break
					}
				}
			}
		}
		if len(may) > 0 {
			slices.SortFunc(may, cmpTool)
			r.Violations = append(r.Violations, GuardViolation{Kind: KindKey, Name: k.Name, Tools: may})
		}
	}
	if g.Forbid == nil && len(r.Violations) <= *g.AtMost {
		r.Violations = []GuardViolation{}
	}
	sort.Slice(r.Violations, func(i, j int) bool { return r.Violations[i].Name < r.Violations[j].Name })
	return r
}

// TestPropertyGuards: CheckGuards agrees with the brute-force enumeration on random documents
// and guards, on built and on derived snapshots; and AddedViolations is empty exactly when
// every violation after a random edit was there before.
func TestPropertyGuards(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc := drawDoc(t)
		var guards []models.GuardDoc
		for i := rapid.IntRange(1, 4).Draw(t, "guards"); i > 0; i-- {
			guards = append(guards, drawGuard(t, "g"+string(rune('0'+i))))
		}
		check := func(what string, s *Snapshot, d *models.Document) []GuardReport {
			got := s.CheckGuards(guards)
			for i, g := range guards {
				if want := refCheckGuard(d, g); !reflect.DeepEqual(got[i], want) {
					t.Fatalf("%s: guard %+v (for %+v)\n got %+v\nwant %+v", what, g, g.For, got[i], want)
				}
			}
			return got
		}
		built := Build(doc)
		before := check("built", built, doc)
		next := mutate(t, doc)
		derived := built.Update(next)
		after := check("derived", derived, next)
		added := AddedViolations(before, after)
		// CheckGuardChange, which shares work between the two, gives the same.
		if n, a, ad := CheckGuardChange(built, derived, guards); !reflect.DeepEqual(n, before) || !reflect.DeepEqual(a, after) || !reflect.DeepEqual(ad, added) {
			t.Fatalf("CheckGuardChange differs:\n%+v\n%+v\n%+v\nwant\n%+v\n%+v\n%+v", n, a, ad, before, after, added)
		}
		had := map[string]bool{}
		for _, r := range before {
			for _, v := range r.Violations {
				for _, tl := range v.Tools {
					had[r.Name+" "+v.Name+" "+tl] = true
				}
			}
		}
		fresh := 0
		for _, r := range after {
			for _, v := range r.Violations {
				for _, tl := range v.Tools {
					if !had[r.Name+" "+v.Name+" "+tl] {
						fresh++
					}
				}
			}
		}
		n := 0
		for _, r := range added {
			for _, v := range r.Violations {
				n += len(v.Tools)
			}
		}
		if n != fresh {
			t.Fatalf("AddedViolations lists %d violations, %d are new: %+v", n, fresh, added)
		}
	})
}
