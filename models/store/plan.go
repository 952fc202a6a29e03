package store

import (
	"context"
	"slices"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// Base is the state a saved plan was made against: the policy revision and the SHA-256 of the
// canonical document at that revision (models.CanonicalDocument).
type Base struct {
	Revision int64
	SHA256   string
}

// maxConflictEvents bounds the audit events a stale plan's ConflictError lists.
const maxConflictEvents = 200

// ApplyPlanned is ApplyDocument for a saved plan: it writes doc only if the policy is still at
// base.Revision and its canonical document still has the hash base.SHA256 (when given, so a
// plan made against another database at the same revision number is refused too). Both are
// checked inside the write transaction, under the same lock as the write, so no commit can
// slip in between the check and the write.
//
// When the state moved, nothing is written and the error is a *models.ConflictError with
// Reason models.ConflictRevision, whose Changes are the audit events committed since the base
// revision (who, what, when; the latest maxConflictEvents, Omitted counting the others).
func (s *Store) ApplyPlanned(ctx context.Context, doc *models.Document, actor string, base Base) (*ImportSummary, error) {
	if base.Revision < 0 {
		return nil, models.Errorf(models.EInvalid, "base revision cannot be negative (%d)", base.Revision)
	}
	return s.applyDocument(ctx, doc, actor, &base)
}

// check returns a ConflictError unless the loaded state cur is the base (a nil base always
// passes: a plain import).
func (b *Base) check(tx *gorm.DB, cur *state) error {
	if b == nil {
		return nil
	}
	conflict := &models.ConflictError{Reason: models.ConflictRevision, Since: b.Revision, Revision: cur.rev}
	switch {
	case cur.rev > b.Revision:
		events, omitted, err := eventsSince(tx, b.Revision)
		if err != nil {
			return err
		}
		conflict.Changes, conflict.Omitted = events, omitted
		if len(events) == 0 {
			conflict.Cause = "no audit events record the changes"
		}
		return conflict
	case cur.rev < b.Revision:
		conflict.Cause = "the database is at an older revision than the plan: the plan was made against another database, or this one was restored"
		return conflict
	}
	if b.SHA256 == "" {
		return nil
	}
	_, sum, err := models.CanonicalDocument(cur.doc)
	if err != nil {
		return err
	}
	if sum != b.SHA256 {
		conflict.Cause = "same revision, but a different document (sha256 " + models.ShortSHA256(sum) + ", the plan's " + models.ShortSHA256(b.SHA256) + "): the plan was made against another database"
		return conflict
	}
	return nil
}

// eventsSince returns the latest maxConflictEvents audit events after revision since, oldest
// first, and how many earlier ones were left out.
func eventsSince(tx *gorm.DB, since int64) ([]models.AuditEvent, int, error) {
	var events []models.AuditEvent
	if err := tx.Select("id", "at", "actor", "action", "entity_kind", "entity_name", "revision", "summary").
		Where("revision > ?", since).Order("id DESC").Limit(maxConflictEvents).Find(&events).Error; err != nil {
		return nil, 0, err
	}
	slices.Reverse(events)
	omitted := 0
	if len(events) == maxConflictEvents {
		var n int64
		if err := tx.Model(&models.AuditEvent{}).Where("revision > ?", since).Count(&n).Error; err != nil {
			return nil, 0, err
		}
		omitted = int(n) - len(events)
	}
	return events, omitted, nil
}
