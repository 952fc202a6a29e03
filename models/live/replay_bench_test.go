package live_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/resolver/gen"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// BenchmarkReplay measures the replay part of a preview (live.Replay: read the window's summed
// totals and the rollup's hours since, decide every recorded tuple before and after) with 1,000,000 recorded calls in the 7-day window:
// 20,000 (key, end user, agent, server, tool) tuples, 80% of them of the organization the draft
// changes (500 teams, 20,000 keys), calls spread over the tuples by a Zipf-like law and over
// the week uniformly. The calls are written as the decision log writes them (raw segments of
// 500, and the rollup), which also measures the raw bytes a decision costs. It reports p50 and
// p95 per replay, the rollup rows read, and bytes per raw decision.
//
//	WARDEN_TEST_DATABASE_URL=... go test ./models/live -run '^$' -bench Replay -benchtime 50x
func BenchmarkReplay(b *testing.B) {
	cfg := gen.Large()
	cfg.Organizations, cfg.Teams, cfg.Keys, cfg.BigOrgKeys = 5, 625, 25000, 20000
	cfg.Agents, cfg.EndUsers = 50, 100
	doc := gen.Generate(cfg)
	big := doc.Organization(gen.OrgName(0))
	before := resolver.Build(doc)
	draft := *big
	draft.MCP = &models.MCPPermission{AccessGroups: []string{doc.AccessGroups[0].Name}, Toolsets: []string{doc.Toolsets[0].Name}}
	draft.DenyTools = append(slices.Clone(big.DenyTools), doc.Toolsets[0].Tools[0])
	after := before.WithOrganization(draft)
	scope := resolver.Scope{Organizations: []string{big.Name}}
	now := time.Now()
	rows := benchTraffic(doc, before, big.Name, now)
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			st := storetest.Open(b, kind)
			ctx := context.Background()
			size0 := dbBytes(b, st)
			start := time.Now()
			var r store.Rollup
			for batch := range slices.Chunk(rows, live.DefaultDecisionBatch) {
				if err := st.InsertDecisions(ctx, batch); err != nil {
					b.Fatal(err)
				}
				for i := range batch {
					r.Add(&batch[i])
				}
			}
			raw := dbBytes(b, st) - size0
			counts := r.Len()
			if err := st.AddRollup(ctx, &r); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: %d decisions written in %s: %.1f bytes a decision raw; %d rollup rows", kind, len(rows),
				time.Since(start).Round(time.Millisecond), float64(raw)/float64(len(rows)), counts)
			// Before the windows are summed, a replay reads every hour of the window.
			var slow []time.Duration
			for range 3 {
				t0 := time.Now()
				if _, err := live.Replay(ctx, st, before, after, scope, 168*time.Hour, now); err != nil {
					b.Fatal(err)
				}
				slow = append(slow, time.Since(t0).Round(time.Millisecond))
			}
			t0 := time.Now()
			if err := st.RefreshReplayWindows(ctx, live.ReplayWindows, now); err != nil {
				b.Fatal(err)
			}
			b.Logf("replay from every hour of the window: %v; summing the three windows took %s", slow, time.Since(t0).Round(time.Millisecond))
			var res resolver.ReplayResult
			durations := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				var err error
				res, err = live.Replay(ctx, st, before, after, scope, 168*time.Hour, now)
				if err != nil {
					b.Fatal(err)
				}
				durations = append(durations, time.Since(t0))
			}
			if res.Calls == 0 || res.NewlyDenied.Calls == 0 {
				b.Fatalf("the replay found nothing: %+v", res)
			}
			b.Logf("replayed %d calls by %d keys: %d calls by %d keys newly denied, %d newly allowed",
				res.Calls, res.Keys, res.NewlyDenied.Calls, res.NewlyDenied.Keys, res.NewlyAllowed.Calls)
			slices.Sort(durations)
			q := func(p float64) float64 {
				return float64(durations[int(p*float64(len(durations)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.95), "p95-ms")
			b.ReportMetric(float64(raw)/float64(len(rows)), "raw-bytes/decision")
			b.ReportMetric(float64(counts), "rollup-rows")
		})
	}
}

// benchTraffic is 1,000,000 calls of 20,000 tuples over the week before now, in time order.
func benchTraffic(doc *models.Document, s *resolver.Snapshot, org string, now time.Time) []models.Decision {
	const calls, tuples = 1_000_000, 20_000
	rng := rand.New(rand.NewPCG(7, 7))
	var inOrg, others []string
	for _, k := range doc.Keys {
		if info, _ := s.KeyInfo(k.Name); info.Organization == org {
			inOrg = append(inOrg, k.Name)
		} else {
			others = append(others, k.Name)
		}
	}
	servers := s.Servers()
	type tuple struct {
		models.CallTuple
		allowed bool
	}
	ts := make([]tuple, tuples)
	for i := range ts {
		key := inOrg[rng.IntN(len(inOrg))]
		if rng.Float64() < 0.2 {
			key = others[rng.IntN(len(others))]
		}
		t := models.CallTuple{Key: key}
		// Mostly tools the key holds, as real traffic is; some it does not.
		acc, _ := s.KeyAccess(key)
		if held := acc.Servers(); len(held) > 0 && rng.Float64() < 0.9 {
			t.Server = held[rng.IntN(len(held))]
			t.Tool = acc[t.Server][rng.IntN(len(acc[t.Server]))]
		} else {
			srv := servers[rng.IntN(len(servers))]
			t.Server, t.Tool = srv.Name, srv.Tools[rng.IntN(len(srv.Tools))]
		}
		if rng.Float64() < 0.1 {
			t.EndUser = gen.EndUserName(rng.IntN(100))
		}
		ts[i] = tuple{CallTuple: t, allowed: acc.Has(t.Server, t.Tool)}
	}
	// Zipf-like weights: tuple i gets calls in proportion to 1/(i+1)^0.9.
	weights := make([]float64, tuples)
	sum := 0.0
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+1), 0.9)
		sum += weights[i]
	}
	rows := make([]models.Decision, 0, calls)
	for i, t := range ts {
		n := int(math.Round(weights[i] / sum * calls))
		for range n {
			d := models.Decision{At: now.Add(-time.Duration(rng.Int64N(int64(167 * time.Hour)))), Kind: models.DecisionCall,
				KeyName: t.Key, EndUser: t.EndUser, Agent: t.Agent, Server: t.Server, Tool: t.Tool, Allowed: t.allowed, Revision: 1}
			if !d.Allowed {
				d.DecidedBy = "key"
			}
			rows = append(rows, d)
		}
	}
	for len(rows) < calls {
		rows = append(rows, rows[rng.IntN(len(rows))])
	}
	rows = rows[:calls]
	slices.SortFunc(rows, func(a, b models.Decision) int { return a.At.Compare(b.At) })
	return rows
}

// dbBytes is the space st's database takes: SQLite's pages in use (after a checkpoint), or
// Postgres's decision log partitions with their indexes.
func dbBytes(b *testing.B, st *store.Store) int64 {
	b.Helper()
	q := `SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::text FROM pg_partition_tree('decisions')`
	if st.Kind() == store.KindSQLite {
		storetest.Exec(b, st, "PRAGMA wal_checkpoint(TRUNCATE)")
		q = `SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()) - (SELECT freelist_count FROM pragma_freelist_count()) * (SELECT page_size FROM pragma_page_size())`
	}
	n, err := strconv.ParseInt(storetest.QueryString(b, st, q), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
