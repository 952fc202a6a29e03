package store

import (
	"context"
	"time"

	"github.com/warden-mcp/warden/models"
)

// pruneChunk bounds the rows one DELETE of PruneDecisions removes, so pruning a large backlog
// never holds long locks or builds one huge transaction.
const pruneChunk = 5000

// InsertDecisions appends rows to the decision log in as few statements as possible. IDs are
// assigned by the database; times are stored in UTC.
func (s *Store) InsertDecisions(ctx context.Context, rows []models.Decision) error {
	if len(rows) == 0 {
		return nil
	}
	out := make([]models.Decision, len(rows))
	for i, r := range rows {
		r.ID = 0
		r.At = r.At.UTC()
		out[i] = r
	}
	return s.db.WithContext(ctx).CreateInBatches(out, batchSize).Error
}

// PruneDecisions deletes decision log rows older than olderThan, in chunks, and returns how many
// it deleted.
func (s *Store) PruneDecisions(ctx context.Context, olderThan time.Time) (int64, error) {
	cutoff := olderThan.UTC()
	var total int64
	for {
		res := s.db.WithContext(ctx).Exec(
			"DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE at < ? ORDER BY id LIMIT ?)",
			cutoff, pruneChunk)
		if res.Error != nil {
			return total, res.Error
		}
		total += res.RowsAffected
		if res.RowsAffected < pruneChunk {
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

// ListDecisions returns decision log rows matching f, newest first.
func (s *Store) ListDecisions(ctx context.Context, f DecisionFilter) ([]models.Decision, error) {
	q := s.db.WithContext(ctx).Model(&models.Decision{}).Order("id DESC")
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
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []models.Decision
	err := q.Limit(f.Limit).Find(&out).Error
	return out, err
}
