package store_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func calls(n int, at time.Time, key, tool string) []models.Decision {
	out := make([]models.Decision, n)
	for i := range out {
		out[i] = models.Decision{At: at, Kind: models.DecisionCall, KeyName: key, Server: "github", Tool: tool, Allowed: true, Revision: 1}
	}
	return out
}

// A window's recorded calls are the same read from its summed totals plus the hours after
// them as from every hour; the expected counts are written out from the calls recorded.
func TestRecordedCallsWindows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)
		var rows []models.Decision
		rows = append(rows, calls(3, now.Add(-48*time.Hour), "k1", "x")...)
		rows = append(rows, calls(2, now.Add(-40*time.Minute), "k1", "x")...)                                     // hour 11:00
		rows = append(rows, calls(5, now.Add(-722*time.Hour), "k2", "y")...)                                      // outside 7 and 30 days
		rows = append(rows, calls(1, now.Add(-10*time.Minute), "k2", "y")...)                                     // hour 12:00
		rows = append(rows, calls(6, now.Add(-200*time.Hour), "k3", "z")...)                                      // outside 7 days
		rows = append(rows, models.Decision{At: now, Kind: models.DecisionList, KeyName: "k1", Server: "github"}) // not a call
		storetest.RecordDecisions(t, st, rows...)
		type got struct {
			key   string
			calls int64
			last  time.Time
		}
		read := func(window time.Duration) ([]got, time.Time) {
			t.Helper()
			rc, since, err := st.RecordedCalls(ctx, window, now)
			if err != nil {
				t.Fatal(err)
			}
			var out []got
			for _, c := range rc {
				out = append(out, got{c.Key, c.Calls, c.LastSeen})
			}
			slices.SortFunc(out, func(a, b got) int { return strings.Compare(a.key, b.key) })
			return out, since
		}
		week := []got{{"k1", 5, now.Add(-40 * time.Minute)}, {"k2", 1, now.Add(-10 * time.Minute)}}
		month := []got{{"k1", 5, now.Add(-40 * time.Minute)}, {"k2", 1, now.Add(-10 * time.Minute)}, {"k3", 6, now.Add(-200 * time.Hour)}}
		weekSince := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
		for _, pass := range []string{"every hour", "summed"} {
			if pass == "summed" {
				if err := st.RefreshReplayWindows(ctx, []time.Duration{168 * time.Hour, 720 * time.Hour}, now); err != nil {
					t.Fatal(err)
				}
			}
			if g, since := read(168 * time.Hour); !reflect.DeepEqual(g, week) || !since.Equal(weekSince) {
				t.Errorf("%s, 7 days: %v since %s; want %v since %s", pass, g, since, week, weekSince)
			}
			if g, _ := read(720 * time.Hour); !reflect.DeepEqual(g, month) {
				t.Errorf("%s, 30 days: %v; want %v", pass, g, month)
			}
		}
		// Calls after the totals were summed are added to them.
		storetest.RecordDecisions(t, st, calls(4, now.Add(-2*time.Minute), "k1", "x")...)
		week[0].calls, week[0].last = 9, now.Add(-2*time.Minute)
		if g, _ := read(168 * time.Hour); !reflect.DeepEqual(g, week) {
			t.Errorf("after more calls: %v; want %v", g, week)
		}
		// Totals too old to use: every hour is read again.
		if _, since, err := st.RecordedCalls(ctx, 168*time.Hour, now.Add(3*time.Hour)); err != nil || !since.Equal(weekSince.Add(3*time.Hour)) {
			t.Errorf("stale totals: since %s, %v", since, err)
		}
		if err := st.RefreshReplayWindows(ctx, []time.Duration{90 * time.Minute}, now); err == nil {
			t.Error("a window of 1.5 hours was summed")
		}
	})
}

// Migration 6 keeps version 3's decision log readable (after the segments) and counts its
// calls into the rollup.
func TestDecisionLogMigration(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, storetest.DSN(t, kind))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.MigrateTo(ctx, 4); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Microsecond)
			for i, key := range []string{"a", "a", "b"} {
				storetest.ExecArgs(t, st, "INSERT INTO decisions (id, at, kind, key_name, end_user, agent, server, tool, allowed, decided_by, revision) VALUES (?, ?, 'call', ?, '', '', 'github', 'x', TRUE, '', 1)",
					70000+i, old.Add(time.Duration(i)*time.Second), key)
			}
			storetest.ExecArgs(t, st, "INSERT INTO decisions (id, at, kind, key_name, server, allowed, revision) VALUES (80000, ?, 'list', 'a', 'github', TRUE, 1)", old)
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			rc, _, err := st.RecordedCalls(ctx, 24*time.Hour, time.Now())
			slices.SortFunc(rc, func(a, b models.RecordedCalls) int { return strings.Compare(a.Key, b.Key) })
			if err != nil || len(rc) != 2 || rc[0].Key != "a" || rc[0].Calls != 2 || rc[1].Calls != 1 ||
				rc[0].LastSeen.Sub(old.Add(time.Second)).Abs() >= time.Millisecond { // SQLite's dates keep milliseconds
				t.Fatalf("legacy calls in the rollup: %+v, %v", rc, err)
			}
			storetest.RecordDecisions(t, st, calls(1, time.Now(), "c", "x")...)
			rows, err := st.ListDecisions(ctx, store.DecisionFilter{})
			if err != nil || len(rows) != 5 || rows[0].KeyName != "c" || rows[1].ID != 80000 || rows[1].Kind != "list" || rows[4].ID != 70000 {
				t.Fatalf("decisions after the migration: %+v, %v", rows, err)
			}
			if rows[0].ID <= 80000 {
				t.Errorf("new decision id %d is not after the legacy ones", rows[0].ID)
			}
			page, err := st.ListDecisions(ctx, store.DecisionFilter{BeforeID: rows[0].ID, Key: "a"})
			if err != nil || len(page) != 3 {
				t.Errorf("legacy page: %+v, %v", page, err)
			}
			if n, err := st.PruneDecisions(ctx, time.Now().Add(time.Minute)); err != nil || n != 5 {
				t.Errorf("prune: %d, %v; want all 5 decisions", n, err)
			}
		})
	}
}
