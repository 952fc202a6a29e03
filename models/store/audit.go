package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	EntityKind string
	EntityName string
	// NameContains and Actor narrow further: a part of the entity's name (any case), the exact
	// actor.
	NameContains string
	Actor        string
	// Since and Until bound the event's time: Since <= at < Until (zero: unbounded).
	Since, Until time.Time
	Limit        int // 0 means 100
	Offset       int
}

// ListAuditEvents returns audit events matching f, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, f AuditFilter) ([]models.AuditEvent, error) {
	q := s.db.WithContext(ctx).Order("id DESC")
	if f.EntityKind != "" {
		q = q.Where("entity_kind = ?", f.EntityKind)
	}
	if f.EntityName != "" {
		q = q.Where("entity_name = ?", f.EntityName)
	}
	if f.NameContains != "" {
		q = q.Where("LOWER(entity_name) LIKE ? ESCAPE '\\'", "%"+likeEscape(strings.ToLower(f.NameContains))+"%")
	}
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if !f.Since.IsZero() {
		q = q.Where("at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		q = q.Where("at < ?", f.Until)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []models.AuditEvent
	err := q.Limit(f.Limit).Offset(f.Offset).Find(&out).Error
	return out, err
}

// likeEscape escapes LIKE's wildcards, so a filter matches them literally.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AuditEvent returns one audit event by id, NotFound if there is none.
func (s *Store) AuditEvent(ctx context.Context, id int64) (*models.AuditEvent, error) {
	var e models.AuditEvent
	err := s.db.WithContext(ctx).First(&e, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ENotFound, "no audit event %d", id)
	}
	return &e, err
}

// AuditEventsFrom returns every audit event of revision rev and after, newest first: what to
// undo, entity by entity, to see the policy as it was before revision rev.
func (s *Store) AuditEventsFrom(ctx context.Context, rev int64) ([]models.AuditEvent, error) {
	var out []models.AuditEvent
	err := s.db.WithContext(ctx).Where("revision >= ?", rev).Order("id DESC").Find(&out).Error
	return out, err
}
