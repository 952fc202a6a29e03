package store

import (
	"context"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// OrganizationUpdate is a change to one organization: settings a person loaded at
// SettingsRevision, edited, and previewed at BaseRevision.
type OrganizationUpdate struct {
	Org models.OrganizationDoc
	// SettingsRevision is the revision at which the organization's stored settings were loaded
	// into the draft. If the organization's own settings changed after it, saving would
	// overwrite that change.
	SettingsRevision int64
	// BaseRevision is the revision the draft's preview was computed at (at least
	// SettingsRevision). If anything else affecting the organization changed after it, the
	// preview no longer shows what the save does.
	BaseRevision int64
	Actor        string
	// Summary is the human description of the change's effect (the preview's diff summary);
	// it is kept on the audit event.
	Summary string
	// Verify, when set, is called under the policy lock once the revision checks have passed,
	// with the current revision, before anything is written; an error from it is returned and
	// nothing is written. The console checks guards with it against the state at save time.
	Verify func(revision int64) error
}

// UpdateOrganization writes an organization's settings in one transaction, provided neither
// the organization's own settings changed since u.SettingsRevision nor anything else that
// affects its principals since u.BaseRevision: otherwise it writes nothing and returns a
// *models.ConflictError saying which (models.ConflictSettings with the organization's audit
// events, or models.ConflictRelated). It returns the new revision (the current one when the
// settings were already as given). Returns Invalid if a revision is negative, newer than the
// current one, or SettingsRevision is after BaseRevision; NotFound if the organization does not
// exist; and models.Problems if the settings name unknown servers, groups, toolsets or tools.
func (s *Store) UpdateOrganization(ctx context.Context, u OrganizationUpdate) (int64, error) {
	r, err := s.ChangePrincipals(ctx, PrincipalChange{
		Kind: models.KindOrganization, Name: u.Org.Name, Put: models.Document{Organizations: []models.OrganizationDoc{u.Org}},
		SettingsRevision: u.SettingsRevision, BaseRevision: u.BaseRevision, Actor: u.Actor, Summary: u.Summary, Verify: u.Verify,
	})
	return r.Revision, err
}

// OrganizationChangesSince returns the audit events of the organization's own settings
// (created, updated, deleted) committed after revision since, oldest first. The first one's
// Before is the organization's settings at since; the last one's After, its settings now.
func (s *Store) OrganizationChangesSince(ctx context.Context, org string, since int64) ([]models.AuditEvent, error) {
	return s.PrincipalChangesSince(ctx, models.KindOrganization, org, since)
}

// ChangesSince returns the audit events of one entity's own settings committed after revision
// since, oldest first (see OrganizationChangesSince).
func (s *Store) ChangesSince(ctx context.Context, kind, name string, since int64) ([]models.AuditEvent, error) {
	return entityChanges(s.db.WithContext(ctx), kind, name, since)
}

// revisionBounds checks a save's revisions under the policy lock against the stored revision
// cur: a revision from the future (forged, or from another database) would otherwise make
// every event look old. It returns Invalid for unsound revisions.
func revisionBounds(cur, settingsRev, baseRev int64) error {
	switch {
	case settingsRev < 0 || baseRev < 0:
		return models.Errorf(models.EInvalid, "revisions cannot be negative (settings %d, preview %d)", settingsRev, baseRev)
	case baseRev > cur:
		return models.Errorf(models.EInvalid, "preview revision %d is newer than the current revision %d", baseRev, cur)
	case settingsRev > baseRev:
		return models.Errorf(models.EInvalid, "settings revision %d is after the preview revision %d", settingsRev, baseRev)
	}
	return nil
}

// checkRevisions is the staleness check of every revision-checked save, run under the policy
// lock against the stored revision cur (after revisionBounds): the entity's own settings must
// not have changed since settingsRev, nor anything related (as told by related, given the
// revision to look after) since baseRev. A stale save gets a *models.ConflictError.
func checkRevisions(tx *gorm.DB, cur int64, kind, name string, settingsRev, baseRev int64, related func(since int64) (string, error)) error {
	return checkRevisionsOf(cur, kind, name, settingsRev, baseRev,
		func(since int64) ([]models.AuditEvent, error) { return entityChanges(tx, kind, name, since) }, related)
}

// checkRevisionsOf is checkRevisions with the entity's own changes read by own (a principal's
// leave out its key secret's events, which are not settings).
func checkRevisionsOf(cur int64, kind, name string, settingsRev, baseRev int64,
	own func(since int64) ([]models.AuditEvent, error), related func(since int64) (string, error)) error {
	if cur != settingsRev {
		own, err := own(settingsRev)
		if err != nil {
			return err
		}
		if len(own) > 0 {
			return &models.ConflictError{Reason: models.ConflictSettings, Kind: kind, Name: name,
				Since: settingsRev, Revision: cur, Changes: own}
		}
	}
	if cur != baseRev {
		stale, err := related(baseRev)
		if err != nil {
			return err
		}
		if stale != "" {
			return &models.ConflictError{Reason: models.ConflictRelated, Kind: kind, Name: name,
				Since: baseRev, Revision: cur, Cause: stale}
		}
	}
	return nil
}

// lockPolicy serialises writers on Postgres for the rest of the transaction, so two saves
// computed at the same revision cannot both pass the staleness check. SQLite already allows
// one writer at a time.
func lockPolicy(tx *gorm.DB) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	return tx.Exec("SELECT revision FROM policy_state WHERE id = 1 FOR UPDATE").Error
}
