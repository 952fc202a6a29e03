package store

import (
	"context"

	"github.com/warden-mcp/warden/models"
)

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	EntityKind string
	EntityName string
	Limit      int // 0 means 100
	Offset     int
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
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []models.AuditEvent
	err := q.Limit(f.Limit).Offset(f.Offset).Find(&out).Error
	return out, err
}
