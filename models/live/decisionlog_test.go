package live_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// Records reach the decision log in batches, field for field, and Close writes what is queued.
func TestDecisionLogWritesBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		m := live.NewMetrics(func() float64 { return 0 })
		// Retention -1: the records are dated 2026-03-01, which the pruner must not touch here.
		l := live.NewDecisionLog(st, live.DecisionLogOptions{Metrics: m, BatchSize: 100, FlushInterval: time.Hour, Retention: -1})
		at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.FixedZone("CET", 3600))
		const n = 1234
		for i := range n {
			r := live.DecisionRecord{
				At: at.Add(time.Duration(i) * time.Millisecond), Kind: models.DecisionCall, Key: fmt.Sprintf("key-%d", i%7),
				EndUser: "alice", Agent: "triage", Server: "github", Tool: "create_issue", Allowed: i%3 != 0, Revision: 42,
			}
			if !r.Allowed {
				r.DecidedBy = "organization"
			}
			if i == n-1 {
				r = live.DecisionRecord{Kind: models.DecisionList, Key: "key-x", Server: "jira", Allowed: true, Revision: 43}
			}
			l.Record(r)
		}
		// Full batches are written without waiting for the (hour-long) flush interval.
		waitFor(t, 30*time.Second, "a full batch to be written", func() bool {
			return metricValue(t, m, "warden_decision_log_written_total") >= 100
		})
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if got := metricValue(t, m, "warden_decision_log_written_total"); got != n {
			t.Errorf("written %v, want %d", got, n)
		}
		rows, err := st.ListDecisions(ctx, store.DecisionFilter{Limit: 2000})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n {
			t.Fatalf("%d rows, want %d", len(rows), n)
		}
		last := rows[0] // newest first
		if last.Kind != models.DecisionList || last.KeyName != "key-x" || last.Tool != "" || last.Revision != 43 ||
			time.Since(last.At) > time.Minute {
			t.Errorf("list record %+v (a record without a time gets the current one)", last)
		}
		first := rows[n-1]
		want := models.Decision{
			ID: first.ID, At: at, Kind: "call", KeyName: "key-0", EndUser: "alice", Agent: "triage", Server: "github",
			Tool: "create_issue", Allowed: false, DecidedBy: "organization", Revision: 42,
		}
		if !first.At.Equal(want.At) {
			t.Errorf("at %s, want %s", first.At, want.At)
		}
		first.At = want.At
		if first != want {
			t.Errorf("first row\n got %+v\nwant %+v", first, want)
		}
		if rec := live.FromDecision(first); rec.Key != "key-0" || rec.DecidedBy != "organization" {
			t.Errorf("FromDecision %+v", rec)
		}

		denied := false
		rows, err = st.ListDecisions(ctx, store.DecisionFilter{Key: "key-0", Allowed: &denied, Since: at, Until: at.Add(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		// i%7 == 0 and i%3 == 0 within the first 1000 records (1 ms apart): i = 0, 21, ..., 987.
		if len(rows) != 48 {
			t.Errorf("filtered: %d rows, want 48", len(rows))
		}
		page, err := st.ListDecisions(ctx, store.DecisionFilter{Limit: 10, BeforeID: rows[0].ID})
		if err != nil || len(page) != 10 || page[0].ID >= rows[0].ID {
			t.Errorf("paging: %d rows, %v", len(page), err)
		}

		// The rollup counts the calls (not the tools/list) per tuple: key-0 made 177 of the 1,233
		// calls, the six other keys 176 each.
		calls, _, err := st.RecordedCalls(ctx, time.Since(at)+time.Hour, time.Now())
		if err != nil || len(calls) != 7 {
			t.Fatalf("recorded calls: %d tuples, %v; want 7", len(calls), err)
		}
		for _, c := range calls {
			want := int64(176)
			if c.Key == "key-0" {
				want = 177
			}
			if c.Calls != want || c.EndUser != "alice" || c.Agent != "triage" || c.Server != "github" || c.Tool != "create_issue" ||
				c.LastSeen.Before(at) || c.LastSeen.After(at.Add(2*time.Second)) {
				t.Errorf("recorded %+v, want %d calls", c, want)
			}
		}

		// After Close, records are dropped and counted.
		l.Record(live.DecisionRecord{Key: "late"})
		if got := metricValue(t, m, "warden_decision_log_dropped_total"); got != 1 {
			t.Errorf("dropped %v, want 1", got)
		}
	})
}

// Rows older than the retention are pruned when the log starts (and periodically after).
func TestDecisionLogPrunesByRetention(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := newClock()
		var rows []models.Decision
		for _, age := range []time.Duration{40 * 24 * time.Hour, 31 * 24 * time.Hour, 29 * 24 * time.Hour, time.Hour} {
			rows = append(rows, models.Decision{At: clk.Now().Add(-age), Kind: "call", KeyName: age.String(), Allowed: true})
		}
		if err := st.InsertDecisions(ctx, rows); err != nil {
			t.Fatal(err)
		}
		l := live.NewDecisionLog(st, live.DecisionLogOptions{Retention: 30 * 24 * time.Hour, Clock: clk.Now})
		waitFor(t, 5*time.Second, "the prune at start", func() bool {
			left, err := st.ListDecisions(ctx, store.DecisionFilter{})
			return err == nil && len(left) == 2
		})
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		left, _ := st.ListDecisions(ctx, store.DecisionFilter{})
		if left[0].KeyName != "1h0m0s" || left[1].KeyName != "696h0m0s" {
			t.Errorf("kept %+v", left)
		}
		n, err := st.PruneDecisions(ctx, clk.Now())
		if err != nil || n != 2 {
			t.Errorf("PruneDecisions: %d, %v", n, err)
		}
	})
}

// Record never blocks: with the database gone, the writer keeps a bounded backlog, the queue
// fills, and further records are dropped and counted. Close gives up when its context ends.
func TestDecisionLogNeverBlocks(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	st.Close()
	m := live.NewMetrics(func() float64 { return 0 })
	l := live.NewDecisionLog(st, live.DecisionLogOptions{
		Metrics: m, Buffer: 10, BatchSize: 5, FlushInterval: 10 * time.Millisecond, Retention: -1,
	})
	start := time.Now()
	for range 100000 {
		l.Record(live.DecisionRecord{Key: "k", Allowed: true})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("100000 Record calls took %s", d)
	}
	dropped := metricValue(t, m, "warden_decision_log_dropped_total")
	// The writer holds at most 4 batches (20) and the queue 10: everything else is dropped.
	if dropped < 100000-30 {
		t.Errorf("dropped %v of 100000", dropped)
	}
	waitFor(t, 5*time.Second, "a failed write", func() bool { return metricValue(t, m, "warden_decision_log_flush_errors_total") > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := l.Close(ctx); err == nil {
		t.Error("Close reported success though nothing could be written")
	}
	if got := metricValue(t, m, "warden_decision_log_dropped_total"); got != 100000 {
		t.Errorf("after Close, dropped %v, want all 100000", got)
	}
}
