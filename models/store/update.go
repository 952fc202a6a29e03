package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// DocumentUpdate is a revision-checked change to one entity of the catalogue (a server, an
// access group, a toolset) or any change expressed as an edit of the whole document: settings
// a person loaded at SettingsRevision, edited, and previewed at BaseRevision, as for
// OrganizationUpdate.
type DocumentUpdate struct {
	// Kind and Name name the entity whose own changes make the save stale (models.KindServer, ...).
	Kind, Name       string
	SettingsRevision int64
	BaseRevision     int64
	Actor            string
	// Summary is the preview's diff summary, kept on every audit event the save writes.
	Summary string
	// Edit changes the current document (a clone, loaded under the policy lock) into the one to
	// store. It returns a models error (NotFound, Invalid, Conflict) to write nothing.
	Edit func(doc *models.Document) error
	// Verify, when set, is called under the policy lock with the current document and the one
	// to store, after every other check; an error from it writes nothing. The console checks
	// the guards with it, on the state the save changes.
	Verify func(cur, next *models.Document) error
}

// UpdateDocument applies u.Edit to the current document in one transaction, provided neither
// the entity's own settings changed since u.SettingsRevision nor anything else that can change
// anyone's access since u.BaseRevision (a catalogue entity reaches every organization, so every
// change counts but secrets and upstream headers); otherwise it writes nothing and returns a
// *models.ConflictError. It returns the new revision (the current one when nothing changed).
// The edited document is validated whole: its problems come back as models.Problems.
func (s *Store) UpdateDocument(ctx context.Context, u DocumentUpdate) (int64, error) {
	var rev int64
	err := s.writeState(ctx, func(tx *gorm.DB, cur *state) error {
		if err := revisionBounds(cur.rev, u.SettingsRevision, u.BaseRevision); err != nil {
			return err
		}
		next := cur.doc.Clone()
		if err := u.Edit(next); err != nil {
			return err
		}
		next.Normalize()
		if probs := next.Validate(); len(probs) > 0 {
			return probs
		}
		if err := checkRevisions(tx, cur.rev, u.Kind, u.Name, u.SettingsRevision, u.BaseRevision,
			func(since int64) (string, error) { return affectsAnyone(tx, u.Kind, u.Name, since) }); err != nil {
			return err
		}
		if u.Verify != nil {
			if err := u.Verify(cur.doc, next); err != nil {
				return err
			}
		}
		var err error
		_, rev, err = s.write(tx, cur, next, u.Actor, u.Summary)
		return err
	})
	return rev, err
}

// affectsAnyone describes the first change after revision since that can change anyone's
// access, other than to the entity's own settings (checked before); "" when none can.
func affectsAnyone(tx *gorm.DB, kind, name string, since int64) (string, error) {
	var events []models.AuditEvent
	if err := tx.Where("revision > ?", since).Order("id").Find(&events).Error; err != nil {
		return "", err
	}
	for _, e := range events {
		switch {
		case e.Action == "set_auth_headers" || e.Action == "issue_secret":
		case e.EntityKind == kind && e.EntityName == name:
		default:
			return e.EntityKind + " " + e.EntityName + " was " + e.Action + "d", nil
		}
	}
	return "", nil
}
