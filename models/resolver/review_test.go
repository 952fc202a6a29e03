package resolver

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver/gen"
	"pgregory.net/rapid"
)

// reviewDoc: acme limits to the dev group and denies delete_repo; team web narrows to a
// toolset; key tl lists github's tools itself; key bound's agent grants through a server.
const reviewDoc = `
version: 1
servers:
  - {name: github, tools: [create_issue, list_issues, delete_repo]}
  - {name: jira, tools: [search, create_ticket]}
  - {name: docs, public: true, tools: [lookup]}
access_groups:
  - {name: dev, servers: [github, jira]}
toolsets:
  - {name: read-only, tools: [github/list_issues, jira/search]}
organizations:
  - {name: acme, mcp: {access_groups: [dev]}, deny_tools: [github/delete_repo]}
  - {name: globex}
teams:
  - {name: platform, organization: acme}
  - {name: web, organization: acme, mcp: {toolsets: [read-only]}}
  - {name: other, organization: globex}
keys:
  - {name: ci-bot, team: platform}
  - {name: tl, team: platform, mcp: {servers: [github], tools: {github: [create_issue]}, toolsets: [read-only]}}
  - {name: frontend, team: web}
  - {name: bound, team: platform, agent: helper}
  - {name: globex-key, team: other}
agents:
  - {name: helper, mcp: {servers: [github]}}
`

func reviewSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	doc, err := models.ParseDocument([]byte(reviewDoc))
	if err != nil {
		t.Fatal(err)
	}
	return Build(doc)
}

// holderLines renders holders as "key tl: organization acme [access_group dev] > key tl
// [tool_list, toolset read-only]", written out in the tests below.
func holderLines(hs []ToolHolder) []string {
	var out []string
	for _, h := range hs {
		var steps []string
		for _, st := range h.Path {
			var from []string
			for _, f := range st.From {
				from = append(from, strings.TrimSpace(string(f.Kind)+" "+f.Name))
			}
			steps = append(steps, string(st.Level)+" "+st.Name+" ["+strings.Join(from, ", ")+"]")
		}
		line := string(h.Kind) + " " + h.Name + ": " + strings.Join(steps, " > ")
		if h.Public {
			line = string(h.Kind) + " " + h.Name + ": public"
		}
		out = append(out, line)
	}
	return out
}

func TestWhoCanCall(t *testing.T) {
	s := reviewSnapshot(t)
	for _, tc := range []struct {
		server, tool string
		want         []string
	}{
		{"github", "list_issues", []string{
			"organization acme: organization acme [access_group dev]",
			"team platform: organization acme [access_group dev]",
			"team web: organization acme [access_group dev] > team web [toolset read-only]",
			"key bound: organization acme [access_group dev] > agent helper [server github]",
			"key ci-bot: organization acme [access_group dev]",
			"key frontend: organization acme [access_group dev] > team web [toolset read-only]",
			// The tool list replaces the server entry for github; the toolset still adds.
			"key tl: organization acme [access_group dev] > key tl [toolset read-only]",
		}},
		{"github", "create_issue", []string{
			"organization acme: organization acme [access_group dev]",
			"team platform: organization acme [access_group dev]",
			"key bound: organization acme [access_group dev] > agent helper [server github]",
			"key ci-bot: organization acme [access_group dev]",
			"key tl: organization acme [access_group dev] > key tl [tool_list]",
		}},
		// Denied by acme, and nobody else restricts to it: globex's chain grants public servers only.
		{"github", "delete_repo", nil},
		{"docs", "lookup", []string{"organization globex: public", "team other: public", "key globex-key: public"}},
	} {
		h, ok := s.WhoCanCall(tc.server, tc.tool)
		if !ok {
			t.Fatalf("%s/%s: not in the catalogue", tc.server, tc.tool)
		}
		got := holderLines(slices.Concat(h.Organizations, h.Teams, h.Keys))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s/%s:\n got %q\nwant %q", tc.server, tc.tool, got, tc.want)
		}
	}
	if _, ok := s.WhoCanCall("github", "nope"); ok {
		t.Error("an unknown tool is in the catalogue")
	}
	h, _ := s.WhoCanCall("jira", "search")
	b, _ := json.Marshal(h.Keys[0])
	if want := `{"kind":"key","name":"ci-bot","organization":"acme","team":"platform","path":[{"level":"organization","name":"acme","from":[{"kind":"access_group","name":"dev"}]}]}`; string(b) != want {
		t.Errorf("JSON %s\nwant %s", b, want)
	}
}

func TestUnusedAccess(t *testing.T) {
	s := reviewSnapshot(t)
	keys, teams := s.UnusedAccess(Usage{
		"ci-bot":   {"github": {"create_issue", "list_issues"}, "jira": {"search"}},
		"frontend": {"github": {"list_issues"}, "jira": {"search"}},
		"nobody":   {"github": {"list_issues"}}, // a key that is gone counts for nothing
	})
	line := func(g UnusedGrant) string {
		return string(g.Kind) + " " + g.Name + " " + strconv.Itoa(g.Count) + "/" + strconv.Itoa(g.Holds) + " " + g.Unused().String()
	}
	var got []string
	for _, g := range slices.Concat(keys, teams) {
		got = append(got, line(g))
	}
	// Most unused first, then by name; frontend used all it holds (web's toolset within acme).
	want := []string{
		"key tl 3/3 github: create_issue, list_issues; jira: search",
		"key bound 2/2 github: create_issue, list_issues",
		"key ci-bot 1/4 jira: create_ticket",
		"key globex-key 1/1 docs: lookup",
		"team other 1/1 docs: lookup",
		"team platform 1/4 jira: create_ticket",
	}
	if !slices.Equal(got, want) {
		t.Errorf("unused:\n got %q\nwant %q", got, want)
	}
}

func TestToolsChanged(t *testing.T) {
	s := reviewSnapshot(t)
	doc, _ := models.ParseDocument([]byte(reviewDoc))
	doc.Teams[1].MCP = &models.MCPPermission{Servers: []string{"jira"}} // web: read-only → jira
	after := s.Update(doc)
	for _, tc := range []struct {
		r    Request
		want bool
	}{
		{Request{Key: "frontend"}, true},
		{Request{Key: "ci-bot"}, false},
		{Request{Key: "ci-bot", Agent: "helper"}, false},
		{Request{Key: "gone"}, false},
		// web's change swaps github/list_issues for jira/create_ticket: both servers change.
		{Request{Key: "frontend", Server: "github"}, true},
		{Request{Key: "frontend", Server: "docs"}, false},
	} {
		if got := ToolsChanged(s, after, tc.r); got != tc.want {
			t.Errorf("ToolsChanged(%+v) = %v, want %v", tc.r, got, tc.want)
		}
	}
	doc.Keys = slices.DeleteFunc(doc.Keys, func(k models.KeyDoc) bool { return k.Name == "ci-bot" })
	if !ToolsChanged(s, Build(doc), Request{Key: "ci-bot"}) {
		t.Error("a deleted key's tools did not change")
	}
}

// TestPropertyReview: WhoCanCall lists exactly the principals whose access has the tool, each
// with one step for every restricting level of its chain and sources that each grant the tool
// on their own; UnusedAccess is access minus usage; ToolsChanged agrees with comparing
// KeyAccessFor.
func TestPropertyReview(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc := drawDoc(t)
		s := Build(doc)
		all := s.AllAccess()
		for _, sv := range s.Servers() {
			for _, tool := range sv.AllTools() {
				if !sv.Enabled(tool) {
					continue
				}
				h, ok := s.WhoCanCall(sv.Name, tool)
				if !ok {
					t.Fatalf("%s/%s missing", sv.Name, tool)
				}
				checkHolders(t, s, doc, h.Organizations, all.Organizations, sv.Name, tool)
				checkHolders(t, s, doc, h.Teams, all.Teams, sv.Name, tool)
				checkHolders(t, s, doc, h.Keys, all.Keys, sv.Name, tool)
			}
		}

		used := Usage{}
		for _, k := range poolKeys {
			if a := all.Keys[k]; a != nil && rapid.Bool().Draw(t, "uses") {
				u := Access{}
				for srv, tools := range a {
					u[srv] = subset(t, tools, 2, "used")
				}
				used[k] = u
			}
		}
		keys, teams := s.UnusedAccess(used)
		want := map[string]Access{}
		for k, a := range all.Keys {
			if m, _ := minus(a, used[k]); len(m) > 0 {
				want["key "+k] = m
			}
		}
		for tn, a := range all.Teams {
			team := Access{}
			for _, k := range s.TeamKeys(tn) {
				for srv, tools := range used[k] {
					team[srv] = append(team[srv], tools...)
				}
			}
			for srv := range team {
				slices.Sort(team[srv])
				team[srv] = slices.Compact(team[srv])
			}
			if m, _ := minus(a, team); len(m) > 0 {
				want["team "+tn] = m
			}
		}
		got := map[string]Access{}
		for _, g := range slices.Concat(keys, teams) {
			if g.Count != g.Unused().Count() {
				t.Fatalf("%s %s: count %d of %s", g.Kind, g.Name, g.Count, g.Unused())
			}
			got[string(g.Kind)+" "+g.Name] = g.Unused()
		}
		if len(got) != len(want) {
			t.Fatalf("unused %v, want %v", got, want)
		}
		for n, a := range want {
			if !a.Equal(got[n]) {
				t.Fatalf("unused %s = %s, want %s", n, got[n], a)
			}
		}

		after := drawDoc(t)
		sa := Build(after)
		for _, k := range withDangling(poolKeys, "kx") {
			for _, ag := range []string{"", "a0", "ax"} {
				r := Request{Key: k, Agent: ag, Server: rapid.SampledFrom([]string{"", "s0", "s1"}).Draw(t, "server")}
				b, errB := s.KeyAccessFor(r)
				a, errA := sa.KeyAccessFor(r)
				differ := !a.Equal(b)
				if r.Server != "" {
					differ = !slices.Equal(a[r.Server], b[r.Server])
				}
				want := (errA == nil) != (errB == nil) || (errA == nil && differ)
				if got := ToolsChanged(s, sa, r); got != want {
					t.Fatalf("ToolsChanged(%+v) = %v: before %s (%v), after %s (%v)", r, got, b, errB, a, errA)
				}
			}
		}
	})
}

func checkHolders(t *rapid.T, s *Snapshot, doc *models.Document, hs []ToolHolder, access map[string]Access, server, tool string) {
	var want []string
	for n, a := range access {
		if a.Has(server, tool) {
			want = append(want, n)
		}
	}
	slices.Sort(want)
	var got []string
	for _, h := range hs {
		got = append(got, h.Name)
		restricting := restrictingLevels(s, doc, h)
		var path []string
		for _, st := range h.Path {
			path = append(path, string(st.Level)+" "+st.Name)
			if len(st.From) == 0 {
				t.Fatalf("%s %s %s/%s: step %s %s has no source", h.Kind, h.Name, server, tool, st.Level, st.Name)
			}
			for _, f := range st.From {
				if !grantsAlone(doc, levelMCP(doc, st), f, server, tool) {
					t.Fatalf("%s %s %s/%s: source %+v of %s %s does not grant it", h.Kind, h.Name, server, tool, f, st.Level, st.Name)
				}
			}
		}
		if !slices.Equal(path, restricting) || h.Public != (len(restricting) == 0) {
			t.Fatalf("%s %s %s/%s: path %q (public %v), restricting levels %q", h.Kind, h.Name, server, tool, path, h.Public, restricting)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("holders of %s/%s: %q, want %q", server, tool, got, want)
	}
}

// restrictingLevels are the levels of a holder's chain that have an mcp block, from the
// document.
func restrictingLevels(s *Snapshot, doc *models.Document, h ToolHolder) []string {
	var out []string
	add := func(kind LevelKind, name string, p *models.MCPPermission) {
		if p != nil {
			out = append(out, string(kind)+" "+name)
		}
	}
	org := func(name string) {
		for _, o := range doc.Organizations {
			if o.Name == name {
				add(LevelOrganization, o.Name, o.MCP)
			}
		}
	}
	team := func(name string) {
		for _, tm := range doc.Teams {
			if tm.Name == name {
				add(LevelTeam, tm.Name, tm.MCP)
			}
		}
	}
	switch h.Kind {
	case KindOrganization:
		org(h.Name)
	case KindTeam:
		org(h.Organization)
		team(h.Name)
	case KindKey:
		org(h.Organization)
		team(h.Team)
		for _, k := range doc.Keys {
			if k.Name != h.Name {
				continue
			}
			add(LevelKey, k.Name, k.MCP)
			for _, a := range doc.Agents {
				if a.Name == k.Agent {
					add(LevelAgent, a.Name, a.MCP)
				}
			}
		}
	}
	return out
}

func levelMCP(doc *models.Document, st PathStep) *models.MCPPermission {
	switch st.Level {
	case LevelOrganization:
		for _, o := range doc.Organizations {
			if o.Name == st.Name {
				return o.MCP
			}
		}
	case LevelTeam:
		for _, tm := range doc.Teams {
			if tm.Name == st.Name {
				return tm.MCP
			}
		}
	case LevelKey:
		for _, k := range doc.Keys {
			if k.Name == st.Name {
				return k.MCP
			}
		}
	case LevelAgent:
		for _, a := range doc.Agents {
			if a.Name == st.Name {
				return a.MCP
			}
		}
	}
	return nil
}

// grantsAlone reports whether an mcp block made of source f alone (a tool list as the level
// has it) grants the tool, asked of a fresh snapshot with one probe key.
func grantsAlone(doc *models.Document, p *models.MCPPermission, f GrantSource, server, tool string) bool {
	if p == nil {
		return false
	}
	probe := &models.MCPPermission{}
	switch f.Kind {
	case SourceServer:
		probe.Servers = []string{f.Name}
	case SourceAccessGroup:
		probe.AccessGroups = []string{f.Name}
	case SourceToolset:
		probe.Toolsets = []string{f.Name}
	case SourceToolList:
		probe.Tools = map[string][]string{server: p.Tools[server]}
	}
	// A source a tool list replaces grants nothing: the probe keeps the level's tool list.
	if f.Kind == SourceServer || f.Kind == SourceAccessGroup {
		if list, ok := p.Tools[server]; ok {
			probe.Tools = map[string][]string{server: list}
			if !slices.Contains(list, tool) {
				return false
			}
		}
	}
	d := &models.Document{Version: 1, Servers: doc.Servers, AccessGroups: doc.AccessGroups, Toolsets: doc.Toolsets,
		Keys: []models.KeyDoc{{Name: "probe", MCP: probe}}}
	a, _ := Build(d).KeyAccess("probe")
	return a.Has(server, tool)
}

// BenchmarkWhoCanCall: the holders of one tool, with their paths, at 100,000 keys.
func BenchmarkWhoCanCall(b *testing.B) {
	doc, cfg := largeDoc()
	s := Build(doc)
	// A tool of a public server many chains reach, and one few reach.
	for _, srv := range []string{gen.ServerName(0), gen.ServerName(cfg.Servers - 1)} {
		sc, _ := s.Server(srv)
		tool := sc.Tools[0]
		b.Run(srv, func(b *testing.B) {
			var n int
			for b.Loop() {
				h, _ := s.WhoCanCall(srv, tool)
				n = len(h.Keys)
			}
			b.ReportMetric(float64(n), "keys")
		})
	}
}

// BenchmarkUnusedAccess: every key's and team's unused tools at 100,000 keys, a tenth of the keys
// having used some tools.
func BenchmarkUnusedAccess(b *testing.B) {
	doc, _ := largeDoc()
	s := Build(doc)
	used := Usage{}
	for i, k := range s.Keys() {
		if i%10 == 0 {
			a, _ := s.KeyAccess(k)
			u := Access{}
			for srv, tools := range a {
				u[srv] = tools[:(len(tools)+1)/2]
			}
			used[k] = u
		}
	}
	b.ResetTimer()
	var nk int
	for b.Loop() {
		keys, _ := s.UnusedAccess(used)
		nk = len(keys)
	}
	b.ReportMetric(float64(nk), "keys")
}
