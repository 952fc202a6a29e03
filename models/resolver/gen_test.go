package resolver

import (
	"reflect"
	"sync"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver/gen"
)

func smallGen() gen.Config {
	c := gen.Small()
	c.Servers, c.ToolsPerServer, c.Organizations, c.Teams, c.Keys, c.BigOrgKeys, c.Agents, c.EndUsers = 12, 8, 4, 20, 300, 100, 6, 8
	c.Blocked = 0.05
	return c
}

// TestGeneratedMatchesReference runs a realistic generated mix through the resolver and the
// reference model: every principal's access, a sample of decisions, and the preview diff.
func TestGeneratedMatchesReference(t *testing.T) {
	cfg := smallGen()
	doc := gen.Generate(cfg)
	if !reflect.DeepEqual(doc, gen.Generate(cfg)) {
		t.Fatal("Generate is not deterministic")
	}
	s := Build(doc)
	want := refAll(doc)
	got := s.AllAccess()
	for n, w := range want.Keys {
		if !got.Keys[n].Equal(w) {
			t.Fatalf("key %s = %s, want %s", n, got.Keys[n], w)
		}
	}
	for n, w := range want.Teams {
		if !got.Teams[n].Equal(w) {
			t.Fatalf("team %s = %s, want %s", n, got.Teams[n], w)
		}
	}
	for n, w := range want.Organizations {
		if !got.Organizations[n].Equal(w) {
			t.Fatalf("organization %s = %s, want %s", n, got.Organizations[n], w)
		}
	}
	for i, r := range benchRequests(doc, cfg, 2000, 0.5) {
		d, err := s.Decide(r)
		rd, rerr := refDecide(doc, r)
		if (err == nil) != (rerr == nil) || d != rd {
			t.Fatalf("request %d %+v: %+v %v, reference %+v %v", i, r, d, err, rd, rerr)
		}
	}
	org, after := changedBigOrg(doc)
	d := Diff(s, s.WithOrganization(org))
	ref := refDiff(doc, after)
	if len(d.Principals) != len(ref) || len(ref) == 0 {
		t.Fatalf("diff has %d principals, reference %d", len(d.Principals), len(ref))
	}
	for i, w := range ref {
		g := d.Principals[i]
		if g.Name != w.Name || !g.Gained.Equal(w.Gained) || !g.Lost.Equal(w.Lost) {
			t.Fatalf("diff entry %d: %s +%s -%s, want %s +%s -%s", i, g.Name, g.Gained, g.Lost, w.Name, w.Gained, w.Lost)
		}
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	doc := base()
	doc.Organizations[0].MCP = mcp("github", "slack")
	doc.Teams[0].DenyTools = []string{"github/delete_repo"}
	doc.EndUsers[0].MCP = mcp("github")
	doc.Agents[1].MCP = mcp("slack")
	s := Build(doc)
	for _, r := range []Request{
		req("ci", "github", "get_issue"),
		req("ci", "github", "delete_repo"),
		req("ci", "jira", "get_ticket"),
		req("ci", "nope", "x"),
		req("ci", "github", "push"),
		{Key: "ci", Server: "github", Tool: "get_issue", EndUser: "alice", Agent: "helper"},
		{Key: "bound", Server: "github", Tool: "get_issue", Agent: "helper"},
		{Key: "ci", Server: "slack", Tool: "post", EndUser: "someone"},
	} {
		if n := testing.AllocsPerRun(100, func() { s.Decide(r) }); n != 0 {
			t.Errorf("Decide(%+v) allocates %v times", r, n)
		}
	}
}

// TestConcurrentUse decides on one snapshot from several goroutines while others derive new
// snapshots from it (run with -race to check there is no hidden mutation).
func TestConcurrentUse(t *testing.T) {
	cfg := smallGen()
	doc := gen.Generate(cfg)
	s := Build(doc)
	reqs := benchRequests(doc, cfg, 500, 0.5)
	want := make([]Decision, len(reqs))
	for i, r := range reqs {
		want[i], _ = s.Decide(r)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, r := range reqs {
				if d, _ := s.Decide(r); d != want[i] {
					t.Errorf("decision changed under concurrency: %+v", r)
					return
				}
			}
			s.AllAccess()
			s.ExplainPrincipal(KindKey, doc.Keys[0].Name)
		}()
	}
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := doc.Organizations[g]
			o.MCP = &models.MCPPermission{}
			Diff(s, s.WithOrganization(o))
			Diff(s, s.Update(doc))
		}()
	}
	wg.Wait()
}
