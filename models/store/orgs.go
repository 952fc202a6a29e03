package store

import (
	"context"
	"encoding/json"

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
	var rev int64
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		if err := lockPolicy(tx); err != nil {
			return err
		}
		// Only the catalogue and this organization are read: the save costs the same for an
		// organization of ten keys and one of twenty thousand.
		cur, err := loadOrganization(tx, u.Org.Name)
		if err != nil {
			return err
		}
		if err := revisionBounds(cur.rev, u.SettingsRevision, u.BaseRevision); err != nil {
			return err
		}
		org := cur.doc.Organization(u.Org.Name)
		if org == nil {
			return models.Errorf(models.ENotFound, "unknown organization %q", u.Org.Name)
		}
		if probs := cur.doc.ValidateLevel(u.Org.MCP, u.Org.DenyTools); len(probs) > 0 {
			return probs
		}
		if err := checkRevisions(tx, cur.rev, models.KindOrganization, u.Org.Name, u.SettingsRevision, u.BaseRevision,
			func(since int64) (string, error) {
				return affectsOrganization(tx, cur.id(models.KindOrganization, u.Org.Name), u.Org.Name, since)
			}); err != nil {
			return err
		}
		next := cur.doc.Clone()
		*next.Organization(u.Org.Name) = u.Org
		next.Normalize()
		_, rev, err = s.write(tx, cur, next, u.Actor, u.Summary)
		return err
	})
	return rev, err
}

// OrganizationChangesSince returns the audit events of the organization's own settings
// (created, updated, deleted) committed after revision since, oldest first. The first one's
// Before is the organization's settings at since; the last one's After, its settings now.
func (s *Store) OrganizationChangesSince(ctx context.Context, org string, since int64) ([]models.AuditEvent, error) {
	return s.ChangesSince(ctx, models.KindOrganization, org, since)
}

// ChangesSince returns the audit events of one entity's own settings committed after revision
// since, oldest first (see OrganizationChangesSince).
func (s *Store) ChangesSince(ctx context.Context, kind, name string, since int64) ([]models.AuditEvent, error) {
	return entityChanges(s.db.WithContext(ctx), kind, name, since)
}

func entityChanges(tx *gorm.DB, kind, name string, since int64) ([]models.AuditEvent, error) {
	var events []models.AuditEvent
	err := tx.Where("revision > ? AND entity_kind = ? AND entity_name = ?", since, kind, name).
		Order("id").Find(&events).Error
	return events, err
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
	if cur != settingsRev {
		own, err := entityChanges(tx, kind, name, settingsRev)
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

// affectsOrganization looks at every change committed after revision since and returns a
// description of the first one, other than to the organization's own settings, that can change
// the access of the organization, its teams or their keys ("" when none can). Servers, access groups, toolsets and agents can reach anyone,
// so any change to them counts; teams and keys count when they were or are in the organization.
func affectsOrganization(tx *gorm.DB, orgID int64, org string, since int64) (string, error) {
	var events []models.AuditEvent
	if err := tx.Where("revision > ?", since).Order("id").Find(&events).Error; err != nil {
		return "", err
	}
	var names []string
	if err := tx.Model(&models.Team{}).Where("organization_id = ?", orgID).Pluck("name", &names).Error; err != nil {
		return "", err
	}
	teams := make(map[string]bool, len(names))
	for _, n := range names {
		teams[n] = true
	}
	var placement struct {
		Organization string `json:"organization"`
		Team         string `json:"team"`
	}
	inOrg := func(js string) bool {
		placement.Organization, placement.Team = "", ""
		if js == "" || json.Unmarshal([]byte(js), &placement) != nil {
			return false
		}
		return placement.Organization == org || teams[placement.Team]
	}
	for _, e := range events {
		what := e.EntityKind + " " + e.EntityName + " was " + e.Action + "d"
		switch e.EntityKind {
		case models.KindServer, models.KindAccessGroup, models.KindToolset, models.KindAgent:
			if e.Action == "set_auth_headers" {
				continue
			}
			return what, nil
		case models.KindOrganization:
			// The organization's own changes are UpdateOrganization's first check, against the
			// revision its settings were loaded at; another organization's cannot reach it.
		case models.KindTeam:
			if teams[e.EntityName] || inOrg(e.Before) || inOrg(e.After) {
				return what, nil
			}
		case models.KindKey:
			if e.Action == "issue_secret" {
				continue
			}
			if inOrg(e.Before) || inOrg(e.After) {
				return what, nil
			}
		}
	}
	return "", nil
}
