package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// The decision log (migration 00006): raw decisions in segments (decisionseg.go), one row a
// write, partitioned by day on Postgres; and the rollup, calls counted per hour and tuple, which
// replays read. Each has its own retention (PruneDecisions, PruneRollup).

// pruneChunk bounds the rows one DELETE of the pruners removes, so pruning a large backlog never
// holds long locks or builds one huge transaction.
const pruneChunk = 5000

// segmentsPerRead is how many segments ListDecisions decodes a query.
const segmentsPerRead = 32

const day = 24 * time.Hour

// InsertDecisions appends rows to the decision log, in one statement: one segment for each UTC
// day the rows fall in (a Postgres partition holds one day) and at most maxSegment decisions.
// Order is kept within a day. It does not count the rows into the rollup (see AddRollup).
func (s *Store) InsertDecisions(ctx context.Context, rows []models.Decision) error {
	if len(rows) == 0 {
		return nil
	}
	segs := splitByDay(rows)
	args := make([]any, 0, 4*len(segs))
	for _, seg := range segs {
		data, first, last := encodeSegment(seg)
		if s.kind == KindPostgres {
			if err := s.ensurePartition(ctx, first); err != nil {
				return err
			}
		}
		args = append(args, first, last, len(seg), data)
	}
	sql := insertValues("INSERT INTO decisions (first_at, last_at, n, data)", 4, len(segs))
	return s.writeTx(ctx, func(tx *gorm.DB) error { return tx.Exec(sql, args...).Error })
}

// splitByDay groups rows by UTC day, in order of first appearance, in groups of at most
// maxSegment.
func splitByDay(rows []models.Decision) [][]models.Decision {
	first := rows[0].At.UTC().Truncate(day)
	if !slices.ContainsFunc(rows, func(r models.Decision) bool { return !r.At.UTC().Truncate(day).Equal(first) }) {
		return slices.Collect(slices.Chunk(rows, maxSegment))
	}
	var order []time.Time
	byDay := map[time.Time][]models.Decision{}
	for _, r := range rows {
		d := r.At.UTC().Truncate(day)
		if _, ok := byDay[d]; !ok {
			order = append(order, d)
		}
		byDay[d] = append(byDay[d], r)
	}
	var out [][]models.Decision
	for _, d := range order {
		out = append(out, slices.Collect(slices.Chunk(byDay[d], maxSegment))...)
	}
	return out
}

// partitionName is the Postgres partition holding the segments that begin on day d (UTC).
func partitionName(d time.Time) string { return "decisions_d" + d.Format("20060102") }

// ensurePartition creates the Postgres partition of the day of at (microseconds), and the next
// day's, unless this process knows they exist. Replicas may race to create one: the loser's
// CREATE fails and is retried once, finding it there.
func (s *Store) ensurePartition(ctx context.Context, at int64) error {
	d := time.UnixMicro(at).UTC().Truncate(day)
	for _, d := range []time.Time{d, d.Add(day)} {
		if _, ok := s.partitions.Load(d); ok {
			continue
		}
		create := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF decisions FOR VALUES FROM (%d) TO (%d)",
			partitionName(d), micros(d), micros(d.Add(day)))
		err := s.db.WithContext(ctx).Exec(create).Error
		if err != nil {
			err = s.db.WithContext(ctx).Exec(create).Error
		}
		if err != nil {
			return fmt.Errorf("create decision log partition %s: %w", partitionName(d), err)
		}
		s.partitions.Store(d, true)
	}
	return nil
}

// PruneDecisions deletes the raw decisions older than olderThan and returns how many it deleted.
// On Postgres it drops the partitions of the days that ended before olderThan; a segment is
// deleted once its newest decision is older than olderThan. The rollup is not touched.
func (s *Store) PruneDecisions(ctx context.Context, olderThan time.Time) (int64, error) {
	cutoff := micros(olderThan)
	var total int64
	if s.kind == KindPostgres {
		var parts []string
		err := s.db.WithContext(ctx).Raw(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'decisions'::regclass ORDER BY c.relname`).Scan(&parts).Error
		if err != nil {
			return 0, err
		}
		for _, p := range parts {
			d, err := time.Parse("20060102", strings.TrimPrefix(p, "decisions_d"))
			if err != nil || micros(d.Add(day)) > cutoff {
				continue
			}
			var n int64
			err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				if err := tx.Raw("SELECT coalesce(sum(n), 0) FROM " + p).Scan(&n).Error; err != nil {
					return err
				}
				return tx.Exec("DROP TABLE " + p).Error
			})
			if err != nil {
				return total, fmt.Errorf("drop decision log partition %s: %w", p, err)
			}
			s.partitions.Delete(d)
			total += n
		}
	}
	for {
		var ns []int64
		err := s.writeTx(ctx, func(tx *gorm.DB) error {
			return tx.Raw("DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE last_at < ? ORDER BY id LIMIT ?) RETURNING n",
				cutoff, segmentsPerRead).Scan(&ns).Error
		})
		if err != nil {
			return total, err
		}
		for _, n := range ns {
			total += n
		}
		if len(ns) < segmentsPerRead {
			break
		}
	}
	n, err := s.pruneChunked(ctx, "DELETE FROM decisions_legacy WHERE id IN (SELECT id FROM decisions_legacy WHERE at < ? ORDER BY id LIMIT ?)", olderThan.UTC())
	return total + n, err
}

// pruneChunked runs a DELETE of at most pruneChunk rows (its last parameter) until it deletes
// fewer, and returns how many rows it deleted.
func (s *Store) pruneChunked(ctx context.Context, del string, args ...any) (int64, error) {
	var total int64
	for {
		var affected int64
		err := s.writeTx(ctx, func(tx *gorm.DB) error {
			res := tx.Exec(del, append(args, pruneChunk)...)
			affected = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, err
		}
		total += affected
		if affected < pruneChunk {
			return total, nil
		}
	}
}

// DecisionFilter selects decision log rows, newest first. Zero fields do not filter.
type DecisionFilter struct {
	Since, Until time.Time // at >= Since, at < Until
	Kind         string
	Key          string
	EndUser      string
	Agent        string
	Server       string
	Tool         string
	Allowed      *bool
	// BeforeID pages backwards: only rows with a smaller id (pass the last id of the previous page).
	BeforeID int64
	Limit    int // 0 means 100
}

func (f *DecisionFilter) match(d *models.Decision) bool {
	return (f.Since.IsZero() || !d.At.Before(f.Since)) && (f.Until.IsZero() || d.At.Before(f.Until)) &&
		(f.Kind == "" || d.Kind == f.Kind) && (f.Key == "" || d.KeyName == f.Key) && (f.EndUser == "" || d.EndUser == f.EndUser) &&
		(f.Agent == "" || d.Agent == f.Agent) && (f.Server == "" || d.Server == f.Server) && (f.Tool == "" || d.Tool == f.Tool) &&
		(f.Allowed == nil || d.Allowed == *f.Allowed) && (f.BeforeID <= 0 || d.ID < f.BeforeID)
}

// ListDecisions returns decision log rows matching f, newest first. It decodes the segments
// of the time range newest first until it has f.Limit rows, then reads the rows the version 3
// log left (decisions_legacy), which are older than every segment.
func (s *Store) ListDecisions(ctx context.Context, f DecisionFilter) ([]models.Decision, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []models.Decision
	below := int64(-1) // segments below this id are still to read; -1: all
	if f.BeforeID > 0 {
		below = f.BeforeID>>segmentIDShift + 1
	}
	type segment struct {
		ID      int64
		FirstAt int64
		N       int
		Data    []byte
	}
	for len(out) < f.Limit {
		q := s.db.WithContext(ctx).Table("decisions").Select("id, first_at, n, data").Order("id DESC").Limit(segmentsPerRead)
		if below >= 0 {
			q = q.Where("id < ?", below)
		}
		if !f.Since.IsZero() {
			q = q.Where("last_at >= ?", micros(f.Since))
		}
		if !f.Until.IsZero() {
			q = q.Where("first_at < ?", micros(f.Until))
		}
		var segs []segment
		if err := q.Scan(&segs).Error; err != nil {
			return nil, err
		}
		for _, sg := range segs {
			rows, err := decodeSegment(sg.ID, sg.FirstAt, sg.N, sg.Data)
			if err != nil {
				return nil, err
			}
			for i := len(rows) - 1; i >= 0 && len(out) < f.Limit; i-- {
				if f.match(&rows[i]) {
					out = append(out, rows[i])
				}
			}
			below = sg.ID
		}
		if len(segs) < segmentsPerRead {
			break
		}
	}
	if len(out) == f.Limit {
		return out, nil
	}
	legacy, err := s.listLegacyDecisions(ctx, f, f.Limit-len(out))
	return append(out, legacy...), err
}

func (s *Store) listLegacyDecisions(ctx context.Context, f DecisionFilter, limit int) ([]models.Decision, error) {
	q := s.db.WithContext(ctx).Table("decisions_legacy").Order("id DESC")
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", f.Until.UTC())
	}
	for _, c := range [...]struct{ col, v string }{
		{"kind", f.Kind}, {"key_name", f.Key}, {"end_user", f.EndUser}, {"agent", f.Agent}, {"server", f.Server}, {"tool", f.Tool},
	} {
		if c.v != "" {
			q = q.Where(c.col+" = ?", c.v)
		}
	}
	if f.Allowed != nil {
		q = q.Where("allowed = ?", *f.Allowed)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []models.Decision
	err := q.Limit(limit).Find(&out).Error
	return out, err
}

// RollupCount is the calls of one tuple in one hour.
type RollupCount struct {
	Hour time.Time // the start of the hour, UTC
	models.CallTuple
	Calls    int64
	LastSeen time.Time
}

type rollupKey struct {
	hour int64 // seconds since the epoch
	models.CallTuple
}

// Rollup accumulates decisions into the rollup's counts, in memory, until AddRollup writes them.
// It counts calls only: the tools/call decisions of the gateway and the checks of the decision
// API (kind call, with a tool), not tools/list answers. The zero Rollup is empty and ready.
type Rollup struct {
	m map[rollupKey]*RollupCount
}

// Add counts d if it is a call.
func (r *Rollup) Add(d *models.Decision) {
	if d.Kind != models.DecisionCall || d.Tool == "" {
		return
	}
	at := d.At.UTC()
	hour := at.Truncate(time.Hour)
	k := rollupKey{hour.Unix(), models.CallTuple{Key: d.KeyName, EndUser: d.EndUser, Agent: d.Agent, Server: d.Server, Tool: d.Tool}}
	if r.m == nil {
		r.m = map[rollupKey]*RollupCount{}
	}
	c := r.m[k]
	if c == nil {
		c = &RollupCount{Hour: hour, CallTuple: k.CallTuple}
		r.m[k] = c
	}
	c.Calls++
	if at.After(c.LastSeen) {
		c.LastSeen = at
	}
}

// Len is how many (hour, tuple) counts r holds.
func (r *Rollup) Len() int { return len(r.m) }

// Reset empties r.
func (r *Rollup) Reset() { clear(r.m) }

// tupleCache maps tuples to their numbers in decision_tuples. It is emptied every
// tupleCacheAge, so a number it holds was used within that time and still has rollup rows (the
// rollup retention is far longer), which keeps PruneRollup from deleting it under the writer.
type tupleCache struct {
	mu    sync.Mutex
	ids   map[models.CallTuple]int64
	since time.Time
}

const (
	tupleCacheAge = time.Hour
	tupleCacheMax = 200_000
)

func (c *tupleCache) get(missing func(models.CallTuple)) func(models.CallTuple) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.since) > tupleCacheAge || len(c.ids) > tupleCacheMax {
		c.ids, c.since = map[models.CallTuple]int64{}, time.Now()
	}
	ids := c.ids
	return func(t models.CallTuple) (int64, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		id, ok := ids[t]
		if !ok && missing != nil {
			missing(t)
		}
		return id, ok
	}
}

func (c *tupleCache) put(found map[models.CallTuple]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids, c.since = map[models.CallTuple]int64{}, time.Now()
	}
	for t, id := range found {
		c.ids[t] = id
	}
}

func (c *tupleCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = nil
}

// Rows a statement of AddRollup carries.
const (
	tuplesPerInsert = 200
	countsPerUpsert = 400
)

// AddRollup adds r's counts to the rollup, in one transaction: the tuples are numbered (once,
// in decision_tuples), then each hour's count is added to the stored one and its last seen
// raised. r is left as it was; the caller resets it once the write succeeded.
func (s *Store) AddRollup(ctx context.Context, r *Rollup) error {
	if r.Len() == 0 {
		return nil
	}
	var unknown []models.CallTuple
	seen := map[models.CallTuple]bool{}
	lookup := s.tuples.get(func(t models.CallTuple) {
		if !seen[t] {
			seen[t] = true
			unknown = append(unknown, t)
		}
	})
	for k := range r.m {
		lookup(k.CallTuple)
	}
	found := map[models.CallTuple]int64{}
	greatest := "GREATEST"
	if s.kind == KindSQLite {
		greatest = "max"
	}
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		clear(found)
		for chunk := range slices.Chunk(unknown, tuplesPerInsert) {
			args := make([]any, 0, 5*len(chunk))
			for _, t := range chunk {
				args = append(args, t.Key, t.EndUser, t.Agent, t.Server, t.Tool)
			}
			sql := insertValues("INSERT INTO decision_tuples (key_name, end_user, agent, server, tool)", 5, len(chunk))
			// DO UPDATE (a no-op) rather than DO NOTHING, so RETURNING names the existing rows too.
			sql += " ON CONFLICT (key_name, end_user, agent, server, tool) DO UPDATE SET key_name = excluded.key_name" +
				" RETURNING id, key_name, end_user, agent, server, tool"
			rows, err := tx.Raw(sql, args...).Rows()
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var t models.CallTuple
				if err := rows.Scan(&id, &t.Key, &t.EndUser, &t.Agent, &t.Server, &t.Tool); err != nil {
					rows.Close()
					return err
				}
				found[t] = id
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		counts := make([]*RollupCount, 0, len(r.m))
		for _, c := range r.m {
			counts = append(counts, c)
		}
		for chunk := range slices.Chunk(counts, countsPerUpsert) {
			args := make([]any, 0, 4*len(chunk))
			for _, c := range chunk {
				id, ok := found[c.CallTuple]
				if !ok {
					if id, ok = lookup(c.CallTuple); !ok {
						return fmt.Errorf("decision rollup: tuple %+v was not numbered", c.CallTuple)
					}
				}
				args = append(args, c.Hour.Unix(), id, c.Calls, micros(c.LastSeen))
			}
			sql := insertValues("INSERT INTO decision_rollup (hour, tuple_id, calls, last_seen)", 4, len(chunk))
			sql += " ON CONFLICT (hour, tuple_id) DO UPDATE SET calls = decision_rollup.calls + excluded.calls, last_seen = " +
				greatest + "(decision_rollup.last_seen, excluded.last_seen)"
			if err := tx.Exec(sql, args...).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("decision rollup: %w", err)
	}
	s.tuples.put(found)
	return nil
}

// Replay windows: how fresh a window's totals must be to be used, and how long after an hour
// ends its totals are refreshed (the writer adds an hour's last counts up to its rollup flush
// interval after it ended).
const (
	windowFreshness = 2 * time.Hour
	windowSettle    = 5 * time.Minute
)

// tupleColumns are the names of a tuple, as queries joining decision_tuples t select them.
const tupleColumns = "t.key_name, t.end_user, t.agent, t.server, t.tool"

// RecordedCalls returns the calls of every tuple counted in the rollup over the window before
// now, with the last time each called, and since when they are counted: the rollup counts by
// the hour, so the window begins at an hour's start. For a window of whole hours refreshed by
// RefreshReplayWindows within the last two hours, it reads the window's totals and the hours
// after them (tens of thousands of rows however many calls were made); otherwise every hour
// of the window (since: the start of the hour now-window falls in).
func (s *Store) RecordedCalls(ctx context.Context, window time.Duration, now time.Time) ([]models.RecordedCalls, time.Time, error) {
	now = now.UTC()
	var out []models.RecordedCalls
	var since time.Time
	// One read transaction: a refresh between reading a window's totals and the hours after
	// them would count an hour twice.
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out, since = nil, time.Time{}
		var until []int64
		if window%time.Hour == 0 {
			err := tx.Raw("SELECT until_hour FROM decision_windows WHERE window_hours = ?", int64(window/time.Hour)).Scan(&until).Error
			if err != nil {
				return err
			}
		}
		if len(until) == 1 && now.Sub(time.Unix(until[0], 0)) <= windowFreshness && !time.Unix(until[0], 0).After(now) {
			since = time.Unix(until[0], 0).UTC().Add(-window)
			totals, err := scanRecorded(tx.Raw(`SELECT `+tupleColumns+`, w.calls, w.last_seen FROM decision_window_totals w
				JOIN decision_tuples t ON t.id = w.tuple_id WHERE w.window_hours = ?`, int64(window/time.Hour)))
			if err != nil {
				return err
			}
			recent, err := scanRecorded(tx.Raw(`SELECT `+tupleColumns+`, r.calls, r.last_seen FROM (SELECT tuple_id, sum(calls) AS calls,
				max(last_seen) AS last_seen FROM decision_rollup WHERE hour >= ? GROUP BY tuple_id) r JOIN decision_tuples t ON t.id = r.tuple_id`, until[0]))
			if err != nil {
				return err
			}
			out = mergeRecorded(totals, recent)
			return nil
		}
		since = now.Add(-window).Truncate(time.Hour)
		var err error
		out, err = scanRecorded(tx.Raw(`SELECT `+tupleColumns+`, r.calls, r.last_seen FROM (SELECT tuple_id, sum(calls) AS calls,
			max(last_seen) AS last_seen FROM decision_rollup WHERE hour >= ? GROUP BY tuple_id) r JOIN decision_tuples t ON t.id = r.tuple_id`, since.Unix()))
		return err
	}, readOnlyTx(s.kind))
	return out, since, err
}

// scanRecorded reads rows of a tuple's names, calls and last seen.
func scanRecorded(q *gorm.DB) ([]models.RecordedCalls, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []models.RecordedCalls
	for rows.Next() {
		var c models.RecordedCalls
		var last int64
		if err := rows.Scan(&c.Key, &c.EndUser, &c.Agent, &c.Server, &c.Tool, &c.Calls, &last); err != nil {
			return nil, err
		}
		c.LastSeen = time.UnixMicro(last).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// mergeRecorded adds recent's calls to totals' (one entry a tuple).
func mergeRecorded(totals, recent []models.RecordedCalls) []models.RecordedCalls {
	if len(recent) == 0 {
		return totals
	}
	at := make(map[models.CallTuple]int, len(totals))
	for i, c := range totals {
		at[c.CallTuple] = i
	}
	for _, c := range recent {
		i, ok := at[c.CallTuple]
		if !ok {
			totals = append(totals, c)
			continue
		}
		totals[i].Calls += c.Calls
		if c.LastSeen.After(totals[i].LastSeen) {
			totals[i].LastSeen = c.LastSeen
		}
	}
	return totals
}

// windowTotal is one tuple's calls in a window, as RefreshReplayWindows sums them.
type windowTotal struct {
	TupleID  int64
	Calls    int64
	LastSeen int64
}

// RefreshReplayWindows sums the rollup per tuple over each window (whole hours) ending at the
// last hour that ended a few minutes before now, unless that is what the window's totals
// already count. The sum is read outside the write transaction, so it never holds SQLite's
// write lock while it reads the rollup; the write replaces the window's totals at once.
func (s *Store) RefreshReplayWindows(ctx context.Context, windows []time.Duration, now time.Time) error {
	until := now.UTC().Add(-windowSettle).Truncate(time.Hour).Unix()
	refreshed := false
	for _, w := range windows {
		if w <= 0 || w%time.Hour != 0 {
			return fmt.Errorf("replay window %s is not a whole number of hours", w)
		}
		hours := int64(w / time.Hour)
		var have []int64
		if err := s.db.WithContext(ctx).Raw("SELECT until_hour FROM decision_windows WHERE window_hours = ?", hours).Scan(&have).Error; err != nil {
			return err
		}
		if len(have) == 1 && have[0] == until {
			continue
		}
		var totals []windowTotal
		err := s.db.WithContext(ctx).Raw(`SELECT tuple_id, sum(calls) AS calls, max(last_seen) AS last_seen FROM decision_rollup
			WHERE hour >= ? AND hour < ? GROUP BY tuple_id`, until-hours*3600, until).Scan(&totals).Error
		if err != nil {
			return err
		}
		err = s.writeTx(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec("DELETE FROM decision_window_totals WHERE window_hours = ?", hours).Error; err != nil {
				return err
			}
			for chunk := range slices.Chunk(totals, countsPerUpsert) {
				args := make([]any, 0, 4*len(chunk))
				for _, t := range chunk {
					args = append(args, hours, t.TupleID, t.Calls, t.LastSeen)
				}
				sql := insertValues("INSERT INTO decision_window_totals (window_hours, tuple_id, calls, last_seen)", 4, len(chunk))
				if err := tx.Exec(sql, args...).Error; err != nil {
					return err
				}
			}
			return tx.Exec(`INSERT INTO decision_windows (window_hours, until_hour) VALUES (?, ?)
				ON CONFLICT (window_hours) DO UPDATE SET until_hour = excluded.until_hour`, hours, until).Error
		})
		if err != nil {
			return fmt.Errorf("refresh the %s replay window: %w", w, err)
		}
		refreshed = true
	}
	if refreshed && s.kind == KindPostgres {
		// Fresh statistics, so the planner reads the hours after the totals through the primary
		// key: with stale ones (a rollup grown since autovacuum last looked) it scanned the whole
		// rollup, 100 ms of a 1,000,000-call week.
		if err := s.db.WithContext(ctx).Exec("ANALYZE decision_rollup, decision_window_totals, decision_tuples").Error; err != nil {
			return fmt.Errorf("analyze the decision rollup: %w", err)
		}
	}
	return nil
}

// PruneRollup deletes the rollup's hours that began before olderThan, a day at a time, then
// the tuples no hour counts any more; it returns how many hours' counts it deleted.
func (s *Store) PruneRollup(ctx context.Context, olderThan time.Time) (int64, error) {
	cutoff := olderThan.UTC().Truncate(time.Hour).Unix()
	var total int64
	for {
		var oldest *int64
		if err := s.db.WithContext(ctx).Raw("SELECT min(hour) FROM decision_rollup").Scan(&oldest).Error; err != nil {
			return total, err
		}
		if oldest == nil || *oldest >= cutoff {
			break
		}
		var affected int64
		err := s.writeTx(ctx, func(tx *gorm.DB) error {
			res := tx.Exec("DELETE FROM decision_rollup WHERE hour < ?", min(cutoff, *oldest+int64(day/time.Second)))
			affected = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, err
		}
		total += affected
	}
	if total == 0 {
		return 0, nil
	}
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		// NOT IN: both databases hash the subquery once (there is no index on tuple_id).
		return tx.Exec("DELETE FROM decision_tuples WHERE id NOT IN (SELECT tuple_id FROM decision_rollup)").Error
	})
	s.tuples.clear()
	return total, err
}

// insertValues is head (an INSERT INTO with its columns) with VALUES for rows rows of cols
// parameters each.
func insertValues(head string, cols, rows int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	var b strings.Builder
	b.Grow(len(head) + 8 + rows*(len(row)+1))
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}
