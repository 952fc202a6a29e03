package live_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite" for raw statements
	dto "github.com/prometheus/client_model/go"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// TestMain removes the warden binary the process tests build (once) for the whole package.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

const baseDoc = `version: 1
servers:
  - {name: github, url: "https://mcp.example.com/github", tools: [create_issue, list_issues]}
  - {name: jira, url: "https://mcp.example.com/jira", tools: [search]}
organizations:
  - {name: acme, mcp: {servers: [github]}}
teams:
  - {name: platform, organization: acme}
keys:
  - {name: ci-bot, team: platform}
`

// seeded returns a fresh store of the given kind holding baseDoc.
func seeded(t testing.TB, kind string) *store.Store {
	t.Helper()
	st := storetest.Open(t, kind)
	seed(t, st)
	return st
}

// seed imports baseDoc into st.
func seed(t testing.TB, st *store.Store) {
	t.Helper()
	storetest.MustApply(t, st, storetest.MustLoad(t, baseDoc))
}

// setOrgServers changes acme's MCP servers the way the console's save does and returns the new
// revision.
func setOrgServers(t testing.TB, st *store.Store, servers ...string) int64 {
	t.Helper()
	ctx := context.Background()
	base, err := st.Revision(ctx)
	if err != nil {
		t.Fatalf("revision: %v", err)
	}
	rev, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{
		Org:              models.OrganizationDoc{Name: "acme", MCP: &models.MCPPermission{Servers: servers}},
		SettingsRevision: base, BaseRevision: base, Actor: "test", Summary: fmt.Sprintf("acme uses %v", servers),
	})
	if err != nil {
		t.Fatalf("update organization: %v", err)
	}
	if rev <= base {
		t.Fatalf("update organization: revision %d did not move from %d", rev, base)
	}
	return rev
}

// orgServers lists the servers acme may use in v.
func orgServers(t testing.TB, v *live.View) []string {
	t.Helper()
	a, ok := v.Snapshot.OrganizationAccess("acme")
	if !ok {
		t.Fatal("acme is not in the view")
	}
	return a.Servers()
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// metricValue reads a counter, gauge, or a histogram's sample count from the registry.
func metricValue(t testing.TB, m *live.Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		var sum float64
		for _, mt := range f.GetMetric() {
			sum += value(mt)
		}
		return sum
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// waitFor polls cond every few milliseconds until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
