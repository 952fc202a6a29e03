package live_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver/gen"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// orgChange saves a new mcp block for an organization the way the console does
// (store.UpdateOrganization), alternating between two settings, and returns the new revision and
// how long the save took.
func orgChange(tb testing.TB, st *store.Store, org string, i int) (int64, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	base, err := st.Revision(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	mcp := &models.MCPPermission{Servers: []string{gen.ServerName(1), gen.ServerName(2)}, AccessGroups: []string{"group-00"}}
	if i%2 == 1 {
		mcp = &models.MCPPermission{Servers: []string{gen.ServerName(3)}}
	}
	start := time.Now()
	rev, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{
		Org: models.OrganizationDoc{Name: org, MCP: mcp}, SettingsRevision: base, BaseRevision: base, Actor: "bench",
	})
	if err != nil {
		tb.Fatalf("update organization: %v", err)
	}
	if rev <= base {
		tb.Fatalf("update organization %s: revision stayed %d", org, base)
	}
	return rev, time.Since(start)
}

// BenchmarkRefreshOrgChange measures what one saved organization change costs a replica now that
// refresh is incremental: State.Refresh after store.UpdateOrganization (timed: the refresh only;
// the save is reported as save-ms). org-000 holds 20% of the keys (20,000 at the large size),
// org-001 about 1/50 of the rest.
//
//	go test ./models/live -run '^$' -bench RefreshOrgChange -benchtime 10x
func BenchmarkRefreshOrgChange(b *testing.B) {
	for _, size := range []struct {
		name string
		cfg  gen.Config
	}{{"small", gen.Small()}, {"large", gen.Large()}} {
		for _, kind := range storetest.Kinds {
			b.Run(size.name+"/"+kind, func(b *testing.B) {
				st := storetest.Open(b, kind)
				doc := gen.Generate(size.cfg)
				start := time.Now()
				storetest.MustApply(b, st, doc)
				b.Logf("%d keys, %d teams, %d servers imported in %s", len(doc.Keys), len(doc.Teams), len(doc.Servers), time.Since(start))
				s := live.New(st, live.Options{})
				ctx := context.Background()
				start = time.Now()
				if err := s.Load(ctx); err != nil {
					b.Fatal(err)
				}
				b.Logf("full build: %s", time.Since(start))
				for _, org := range []string{gen.OrgName(0), gen.OrgName(1)} {
					b.Run(org, func(b *testing.B) {
						inc0, full0 := s.Builds()
						var save time.Duration
						i := 0
						b.ResetTimer()
						for b.Loop() {
							b.StopTimer()
							rev, d := orgChange(b, st, org, i)
							save += d
							i++
							b.StartTimer()
							if err := s.Refresh(ctx); err != nil {
								b.Fatal(err)
							}
							b.StopTimer()
							if v, _ := s.View(); v == nil || v.Revision != rev {
								b.Fatal("the view is not at the saved revision")
							}
							b.StartTimer()
						}
						b.ReportMetric(float64(save.Milliseconds())/float64(i), "save-ms")
						inc, full := s.Builds()
						if full != full0 || inc-inc0 != int64(i) {
							b.Fatalf("%d incremental refreshes and %d full builds for %d changes", inc-inc0, full-full0, i)
						}
						// Where a refresh's time goes: reading the changes vs. patching the view.
						v, _ := s.View()
						start := time.Now()
						if _, err := st.Changes(ctx, v.Revision-1); err != nil {
							b.Fatal(err)
						}
						b.Logf("store.Changes for the last change alone: %s", time.Since(start))
					})
				}
			})
		}
	}
}

// TestLargePropagationPostgres measures, at the large size (100,000 keys), how long a change
// saved on one replica takes to be enforced by another (commit -> other State's view, through
// NOTIFY) and by the saving process itself (save + Refresh, as the console does), over 100
// organization changes. It imports the large policy, so it runs only when
// WARDEN_LARGE_TESTS is set:
//
//	WARDEN_LARGE_TESTS=1 go test ./models/live -run TestLargePropagationPostgres -v -timeout 30m
func TestLargePropagationPostgres(t *testing.T) {
	if os.Getenv("WARDEN_LARGE_TESTS") == "" {
		t.Skip("set WARDEN_LARGE_TESTS=1 to import the large policy and measure propagation")
	}
	ctx := context.Background()
	a := storetest.Open(t, store.KindPostgres)
	doc := gen.Generate(gen.Large())
	start := time.Now()
	storetest.MustApply(t, a, doc)
	t.Logf("%d keys imported in %s", len(doc.Keys), time.Since(start))
	b, err := store.Open(ctx, a.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// A: the replica that saves (console: save, then Refresh). B: another replica, notified.
	sa := live.New(a, live.Options{PollInterval: time.Hour})
	sb := live.New(b, live.Options{PollInterval: time.Hour})
	for _, s := range []*live.State{sa, sb} {
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { sb.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 5*time.Second, "the listener", func() bool { return sb.Health().Listening })

	const changes = 100
	var toB, toA, saves, refreshA []time.Duration
	for i := range changes {
		org := gen.OrgName(i % 2 * 7) // org-000 (20,000 keys) and org-007
		saveStart := time.Now()
		rev, save := orgChange(t, a, org, i/2)
		committed := time.Now()
		if err := sa.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		refreshed := time.Now()
		for {
			if v, err := sb.View(); err == nil && v.Revision >= rev {
				break
			}
			if time.Since(committed) > 10*time.Second {
				t.Fatalf("change %d (revision %d) not seen by B within 10s", i, rev)
			}
			time.Sleep(100 * time.Microsecond)
		}
		toB = append(toB, time.Since(committed))
		toA = append(toA, refreshed.Sub(saveStart))
		saves = append(saves, save)
		refreshA = append(refreshA, refreshed.Sub(committed))
		if v, _ := sa.View(); v.Revision != rev {
			t.Fatalf("A enforces revision %d after Refresh, want %d", v.Revision, rev)
		}
	}
	incA, fullA := sa.Builds()
	incB, fullB := sb.Builds()
	t.Logf("commit -> B enforces (NOTIFY + incremental refresh): p50 %s, p99 %s, max %s",
		percentile(toB, 50), percentile(toB, 99), percentile(toB, 100))
	t.Logf("A: Refresh after its own save: p50 %s, p99 %s; save (UpdateOrganization) p50 %s, p99 %s; save -> enforced on A p50 %s, p99 %s",
		percentile(refreshA, 50), percentile(refreshA, 99), percentile(saves, 50), percentile(saves, 99), percentile(toA, 50), percentile(toA, 99))
	t.Logf("views: A %d incremental, %d full; B %d incremental, %d full", incA, fullA, incB, fullB)
	if fullB != 1 || fullA != 1 {
		t.Errorf("a change needed a full build (A %d, B %d full builds including the first load)", fullA, fullB)
	}
	if p99 := percentile(toB, 99); p99 > time.Second {
		t.Errorf("p99 propagation %s, above the 1 s target", p99)
	}
}
