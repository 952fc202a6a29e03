package store

import (
	"context"
	"time"

	"github.com/warden-mcp/warden/models"
)

// Reads of the decision log for the access review pages: when each key last called a tool,
// which tools keys called in a window, and the log itself, filtered and paged. Calls are the
// allowed `tools/call` decisions of the gateway and the checks of the decision API; filtered
// tools/list records and refused calls do not count as using a tool.

// LastCall is when a key last called a tool, and how often in the window read.
type LastCall struct {
	Key    string
	Server string
	Tool   string
	Calls  int64
	Last   time.Time
}

// LastCalls returns, per key, the last allowed call of server/tool since since (zero: the
// whole log), keyed by key name.
func (s *Store) LastCalls(ctx context.Context, server, tool string, since time.Time) (map[string]LastCall, error) {
	rows, err := s.calls(ctx, since, "AND t.server = ? AND t.tool = ?", server, tool)
	if err != nil {
		return nil, err
	}
	out := make(map[string]LastCall, len(rows))
	for _, r := range rows {
		out[r.Key] = r
	}
	return out, nil
}

// CalledTools returns every (key, server, tool) with an allowed call since since, with the
// count and the last call.
func (s *Store) CalledTools(ctx context.Context, since time.Time) ([]LastCall, error) {
	return s.calls(ctx, since, "")
}

func (s *Store) calls(ctx context.Context, since time.Time, where string, args ...any) ([]LastCall, error) {
	// The hourly rollup the decision log's writer keeps (a tuple's calls per hour), not the raw
	// log: a window of a million calls is tens of thousands of rollup rows. It counts every
	// tools/call and check of the tuple, allowed or not; an hour counts when it started at or
	// after the hour of since.
	q := "SELECT t.key_name, t.server, t.tool, SUM(r.calls), MAX(r.last_seen) FROM decision_rollup r " +
		"JOIN decision_tuples t ON t.id = r.tuple_id WHERE r.hour >= ? " + where + " GROUP BY t.key_name, t.server, t.tool"
	hour := since.Unix() / 3600 * 3600
	if since.IsZero() {
		hour = 0
	}
	rows, err := s.db.WithContext(ctx).Raw(q, append([]any{hour}, args...)...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LastCall
	for rows.Next() {
		var c LastCall
		var last int64
		if err := rows.Scan(&c.Key, &c.Server, &c.Tool, &c.Calls, &last); err != nil {
			return nil, err
		}
		c.Last = time.UnixMicro(last).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// DecisionQuery selects a page of the decision log, newest first: the filters of
// DecisionFilter plus the deciding level.
type DecisionQuery struct {
	DecisionFilter
	// DecidedBy filters on what decided ("allowed" selects the allowed rows, whose decided_by
	// is empty); "" does not filter.
	DecidedBy string
	// AfterID pages forwards (towards newer rows): only rows with a larger id, the page
	// nearest to it. Rows still come newest first.
	AfterID int64
}

// QueryDecisions returns a page of decision log rows, newest first (keyset paging on the id:
// pass the last id of the previous page as BeforeID, or the first as AfterID for the newer page).
func (s *Store) QueryDecisions(ctx context.Context, q DecisionQuery) ([]models.Decision, error) {
	f := q.DecisionFilter
	if f.Limit <= 0 {
		f.Limit = 100
	}
	decided := func(d *models.Decision) bool {
		switch q.DecidedBy {
		case "":
			return true
		case "allowed":
			return d.DecidedBy == ""
		}
		return d.DecidedBy == q.DecidedBy
	}
	if q.AfterID > 0 {
		return s.scanDecisionsAfter(ctx, f, q.AfterID, f.Limit, decided)
	}
	return s.scanDecisions(ctx, f, f.Limit, decided)
}
