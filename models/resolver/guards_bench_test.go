package resolver

import (
	"testing"

	"github.com/warden-mcp/warden/models"
)

// benchGuards are guards of both forms over the generated document: a pattern guard for
// agent-bound keys, one for the big organization's keys matching about a third of the
// catalogue, a broad "*/*" guard for a team, and a tool limit over every key.
func benchGuards() []models.GuardDoc {
	limit := 5
	return []models.GuardDoc{
		{Name: "agents", Forbid: []string{"*/tool-0*", "srv-001/tool-29"}, For: &models.GuardScope{AgentBound: true}},
		{Name: "big-org", Forbid: []string{"srv-0*/*"}, For: &models.GuardScope{Organizations: []string{"org-000"}}},
		{Name: "team", Forbid: []string{"*/*"}, For: &models.GuardScope{Teams: []string{"team-00001"}}},
		{Name: "limit", Tool: "srv-000/tool-00", AtMost: &limit},
	}
}

// BenchmarkCheckGuards evaluates the guards on the whole generated state (100,000 keys at
// gen.Large()).
func BenchmarkCheckGuards(b *testing.B) {
	doc, _ := largeDoc()
	s := Build(doc)
	guards := benchGuards()
	b.ResetTimer()
	start, n := cpuNanos(), 0
	for b.Loop() {
		s.CheckGuards(guards)
		n++
	}
	b.ReportMetric(float64(cpuNanos()-start)/float64(n), "cpu-ns/op")
}

// BenchmarkGuardsPreview is what a preview adds for the guards: the current state and the
// draft checked, and the added violations found. The draft lifts the big organization's limit
// (20,000 keys), which its guard's existing violations then list by the thousand tools each.
func BenchmarkGuardsPreview(b *testing.B) {
	doc, _ := largeDoc()
	s := Build(doc)
	org := *doc.Organization("org-000")
	org.MCP = nil
	after := s.WithOrganization(org)
	guards := benchGuards()
	b.ResetTimer()
	start, n, added := cpuNanos(), 0, 0
	for b.Loop() {
		added = 0
		_, _, add := CheckGuardChange(s, after, guards)
		for _, r := range add {
			added += len(r.Violations)
		}
		n++
	}
	b.ReportMetric(float64(cpuNanos()-start)/float64(n), "cpu-ns/op")
	b.ReportMetric(float64(added), "violations-added")
}
