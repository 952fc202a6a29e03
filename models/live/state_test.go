package live_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// A change saved through the store is in the view as soon as Refresh returns, and the view
// carries key secrets and upstream headers of the same revision.
func TestRefreshReflectsSaveInSameProcess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seed(t, st)
		m := live.NewMetrics(func() float64 { return 0 })
		s := live.New(st, live.Options{Metrics: m})
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := s.View()
		if err != nil {
			t.Fatal(err)
		}
		if got := orgServers(t, v); !slices.Equal(got, []string{"github"}) {
			t.Fatalf("acme servers %v, want [github]", got)
		}
		if u := v.Upstreams["jira"]; u.URL != "https://mcp.example.com/jira" || u.Headers != nil {
			t.Errorf("jira upstream %+v", u)
		}

		rev := setOrgServers(t, st, "jira")
		if v2, _ := s.View(); v2 != v {
			t.Fatal("the view changed without a refresh")
		}
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		v, _ = s.View()
		if v.Revision != rev || !slices.Equal(orgServers(t, v), []string{"jira"}) {
			t.Fatalf("after refresh: revision %d (want %d), acme servers %v", v.Revision, rev, orgServers(t, v))
		}
		if a, _ := v.Snapshot.KeyAccess("ci-bot"); !a.Has("jira", "search") || a.Has("github", "create_issue") {
			t.Errorf("ci-bot access %v", a)
		}

		// Nothing changed: Refresh keeps the very same view.
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if v2, _ := s.View(); v2 != v {
			t.Error("a refresh without a change rebuilt the view")
		}

		secret, err := st.IssueKeySecret(ctx, "ci-bot", "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetServerAuthHeaders(ctx, "github", map[string]string{"Authorization": "Bearer up"}, "test"); err != nil {
			t.Fatal(err)
		}
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		v, _ = s.View()
		if v.KeysByHash[models.HashSecret(secret)] != "ci-bot" {
			t.Errorf("the new secret is not in the view: %v", v.KeysByHash)
		}
		if v.Upstreams["github"].Headers["Authorization"] != "Bearer up" {
			t.Errorf("github upstream %+v", v.Upstreams["github"])
		}
		want, _ := st.Revision(ctx)
		if v.Revision != want {
			t.Errorf("view revision %d, database %d", v.Revision, want)
		}
		if got := metricValue(t, m, "warden_snapshot_revision"); got != float64(want) {
			t.Errorf("warden_snapshot_revision %v, want %d", got, want)
		}
		if got := metricValue(t, m, "warden_snapshot_rebuild_seconds"); got != 3 {
			t.Errorf("%v rebuilds observed, want 3 (load, org change, secret+headers)", got)
		}
		if h := s.Health(); h.Status() != "ok" || h.Revision != want || h.Degraded || h.Stale {
			t.Errorf("health %+v", h)
		}
	})
}

// A policy that fails to build never replaces the good view: the state is degraded, keeps
// enforcing the good view until max-stale, then fails closed, and recovers once the policy
// builds again.
func TestFailedBuildKeepsGoodView(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seed(t, st)
		clk := newClock()
		m := live.NewMetrics(func() float64 { return 0 })
		s := live.New(st, live.Options{MaxStale: time.Minute, Clock: clk.Now, Metrics: m})
		if err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
		good, _ := s.View()

		// A table gone: no document can be loaded. (A bad upstream headers row no longer breaks
		// the build; it takes only its server out of service, see TestBadHeadersRowFailsClosedForItsServer.)
		storetest.Exec(t, st, `ALTER TABLE server_tools RENAME TO server_tools_gone`,
			`UPDATE policy_state SET revision = revision + 1 WHERE id = 1`)
		clk.Advance(10 * time.Second)
		err := s.Refresh(ctx)
		if err == nil || !strings.Contains(err.Error(), "server_tools") {
			t.Fatalf("refresh of a broken policy: %v", err)
		}
		if v, err := s.View(); err != nil || v != good {
			t.Fatalf("the good view was not kept: %v", err)
		}
		h := s.Health()
		if h.Status() != "degraded" || !h.Degraded || h.Revision != good.Revision || h.Age != 10*time.Second ||
			!strings.Contains(h.LastError, "server_tools") {
			t.Fatalf("health %+v", h)
		}
		if metricValue(t, m, "warden_snapshot_degraded") != 1 || metricValue(t, m, "warden_snapshot_rebuild_errors_total") != 1 {
			t.Error("degraded metrics not set")
		}

		// Past max-stale the outdated view is refused.
		clk.Advance(time.Minute)
		_, err = s.View()
		var stale *live.StaleError
		if !errors.As(err, &stale) || stale.Revision != good.Revision || stale.Age != 70*time.Second ||
			!strings.Contains(err.Error(), "failing closed") {
			t.Fatalf("View past max-stale: %v", err)
		}
		if h := s.Health(); h.Status() != "unavailable" || !h.Stale {
			t.Fatalf("health %+v", h)
		}

		storetest.Exec(t, st, `ALTER TABLE server_tools_gone RENAME TO server_tools`,
			`UPDATE policy_state SET revision = revision + 1 WHERE id = 1`)
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := s.View()
		if err != nil || v.Revision != good.Revision+2 {
			t.Fatalf("after repair: %v %v", v, err)
		}
		if h := s.Health(); h.Status() != "ok" || h.Age != 0 || metricValue(t, m, "warden_snapshot_degraded") != 0 {
			t.Fatalf("health after repair %+v", h)
		}
	})
}

// With the database gone the last good view is enforced until max-stale, then View fails closed.
func TestUnreachableDatabaseFailsClosedAfterMaxStale(t *testing.T) {
	ctx := context.Background()
	st := seeded(t, store.KindSQLite)
	clk := newClock()
	s := live.New(st, live.Options{MaxStale: 5 * time.Minute, Clock: clk.Now})
	if err := s.Load(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	clk.Advance(time.Minute)
	if err := s.Refresh(ctx); err == nil {
		t.Fatal("refresh on a closed database succeeded")
	}
	if v, err := s.View(); err != nil || v.Revision != 1 {
		t.Fatalf("within max-stale: %v %v", v, err)
	}
	if h := s.Health(); h.Status() != "degraded" || h.Age != time.Minute || h.LastError == "" {
		t.Fatalf("health %+v", h)
	}
	clk.Advance(4 * time.Minute)
	if _, err := s.View(); err != nil {
		t.Fatalf("exactly max-stale old: %v", err)
	}
	clk.Advance(time.Millisecond)
	var stale *live.StaleError
	if _, err := s.View(); !errors.As(err, &stale) || !strings.Contains(stale.Cause, "closed") {
		t.Fatalf("past max-stale: %v", err)
	}
}

func TestNoViewBeforeLoad(t *testing.T) {
	st := seeded(t, store.KindSQLite)
	s := live.New(st, live.Options{})
	if _, err := s.View(); !errors.Is(err, live.ErrNoView) {
		t.Errorf("View before Load: %v", err)
	}
	if h := s.Health(); h.Status() != "unavailable" || h.Revision != 0 {
		t.Errorf("health before Load %+v", h)
	}
	var none *live.State
	if _, err := none.View(); !errors.Is(err, live.ErrNoView) {
		t.Errorf("View of a nil State: %v", err)
	}
}

// On SQLite, Run's periodic check picks up changes made by another process (here: another
// store handle on the same file, as `warden import` would be).
func TestRunPollsSQLite(t *testing.T) {
	st := seeded(t, store.KindSQLite)
	other, err := store.Open(context.Background(), st.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	s := live.New(st, live.Options{PollInterval: 20 * time.Millisecond})
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	rev := setOrgServers(t, other, "jira", "github")
	waitFor(t, 5*time.Second, "the poll to pick up the change", func() bool {
		v, err := s.View()
		return err == nil && v.Revision == rev
	})
	if h := s.Health(); h.Listening || h.Status() != "ok" {
		t.Errorf("health %+v", h)
	}
}

// On Postgres, Run learns of another replica's change through LISTEN/NOTIFY alone (the poll is
// an hour away), survives its listening connection being killed, and propagates 100 changes.
func TestRunNotifyPostgres(t *testing.T) {
	a := seeded(t, store.KindPostgres)
	b, err := store.Open(context.Background(), a.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := live.New(b, live.Options{PollInterval: time.Hour})
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 5*time.Second, "the listener", func() bool { return s.Health().Listening })

	at := func(rev int64) func() bool {
		return func() bool { v, err := s.View(); return err == nil && v.Revision >= rev }
	}
	rev := setOrgServers(t, a, "jira")
	waitFor(t, 5*time.Second, "the notification", at(rev))
	if v, _ := s.View(); !slices.Equal(orgServers(t, v), []string{"jira"}) {
		t.Fatalf("acme servers %v", orgServers(t, v))
	}

	// Kill the listening connection: Run reconnects and catches up on what it missed.
	storetest.Exec(t, a, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = '`+store.ListenApplicationName+`' AND datname = current_database()`)
	waitFor(t, 5*time.Second, "the listener to drop", func() bool { return !s.Health().Listening })
	rev = setOrgServers(t, a, "github")
	waitFor(t, 10*time.Second, "the listener to reconnect and catch up", at(rev))
	waitFor(t, 5*time.Second, "the listener", func() bool { return s.Health().Listening })
	rev = setOrgServers(t, a, "jira")
	waitFor(t, 5*time.Second, "a notification after reconnecting", at(rev))

	// Propagation of 100 changes between two State instances in one process (no HTTP).
	lat := make([]time.Duration, 0, 100)
	for i := range 100 {
		servers := []string{"jira"}
		if i%2 == 0 {
			servers = []string{"github"} // acme is on jira now
		}
		rev := setOrgServers(t, a, servers...)
		committed := time.Now()
		for !at(rev)() {
			if time.Since(committed) > 5*time.Second {
				t.Fatalf("change %d (revision %d) not seen within 5s", i, rev)
			}
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(committed))
	}
	t.Logf("in-process propagation over %d changes (commit -> other State's view): p50 %s, p99 %s, max %s",
		len(lat), percentile(lat, 50), percentile(lat, 99), percentile(lat, 100))
}

func TestMetricsExposition(t *testing.T) {
	st := seeded(t, store.KindSQLite)
	var s *live.State
	m := live.NewMetrics(func() float64 { return s.Age().Seconds() })
	s = live.New(st, live.Options{Metrics: m})
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.Decisions.WithLabelValues("denied", "organization").Inc()
	srv := httptest.NewServer(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"warden_snapshot_revision 1\n",
		"warden_snapshot_rebuild_seconds_count 1\n",
		"warden_snapshot_age_seconds ",
		"warden_snapshot_degraded 0\n",
		`warden_decisions_total{decided_by="organization",outcome="denied"} 1`,
		"warden_decision_log_dropped_total 0\n",
		"go_goroutines ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
