package store

import (
	"context"
	"fmt"
	"slices"
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
	rows, err := s.calls(ctx, since, "AND server = ? AND tool = ?", server, tool)
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
	q := "SELECT key_name, server, tool, COUNT(*), MAX(at) FROM decisions WHERE kind = ? AND allowed AND at >= ? " +
		where + " GROUP BY key_name, server, tool"
	rows, err := s.db.WithContext(ctx).Raw(q, append([]any{models.DecisionCall, since.UTC()}, args...)...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LastCall
	for rows.Next() {
		var c LastCall
		var last dbTime
		if err := rows.Scan(&c.Key, &c.Server, &c.Tool, &c.Calls, &last); err != nil {
			return nil, err
		}
		c.Last = last.t
		out = append(out, c)
	}
	return out, rows.Err()
}

// dbTime reads a time an aggregate returns: Postgres gives a time, SQLite the text the driver
// wrote (an aggregate's result carries no column type for the driver to parse it by).
type dbTime struct{ t time.Time }

// sqliteTimes are the layouts the SQLite driver writes times in (its default first).
var sqliteTimes = []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"}

func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		d.t = x.UTC()
		return nil
	case nil:
		d.t = time.Time{}
		return nil
	case []byte:
		return d.Scan(string(x))
	case string:
		for _, layout := range sqliteTimes {
			if t, err := time.Parse(layout, x); err == nil {
				d.t = t.UTC()
				return nil
			}
		}
		return fmt.Errorf("decision log: unreadable time %q", x)
	}
	return fmt.Errorf("decision log: unexpected time value %T", v)
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
	db := s.db.WithContext(ctx).Model(&models.Decision{})
	if q.AfterID > 0 {
		db = db.Where("id > ?", q.AfterID).Order("id ASC")
	} else {
		db = db.Order("id DESC")
	}
	if !f.Since.IsZero() {
		db = db.Where("at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		db = db.Where("at < ?", f.Until.UTC())
	}
	for _, c := range [...]struct{ col, v string }{
		{"kind", f.Kind}, {"key_name", f.Key}, {"end_user", f.EndUser}, {"agent", f.Agent}, {"server", f.Server}, {"tool", f.Tool},
	} {
		if c.v != "" {
			db = db.Where(c.col+" = ?", c.v)
		}
	}
	if f.Allowed != nil {
		db = db.Where("allowed = ?", *f.Allowed)
	}
	switch q.DecidedBy {
	case "":
	case "allowed":
		db = db.Where("decided_by = ''")
	default:
		db = db.Where("decided_by = ?", q.DecidedBy)
	}
	if f.BeforeID > 0 {
		db = db.Where("id < ?", f.BeforeID)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []models.Decision
	if err := db.Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, err
	}
	if q.AfterID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}
