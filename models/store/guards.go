package store

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// guardRow is a guard's row form.
func guardRow(g *models.GuardDoc) models.Guard {
	row := models.Guard{Name: g.Name, Description: g.Description, Tool: g.Tool}
	if len(g.Forbid) > 0 {
		b, _ := json.Marshal(g.Forbid) // a list of strings always encodes
		row.Forbid = string(b)
	}
	if g.AtMost != nil {
		n := int64(*g.AtMost)
		row.AtMost = &n
	}
	if g.For != nil {
		b, _ := json.Marshal(g.For)
		row.Scope = string(b)
	}
	return row
}

// guardDoc is a guard row's document form.
func guardDoc(row *models.Guard) (models.GuardDoc, error) {
	g := models.GuardDoc{Name: row.Name, Description: row.Description, Tool: row.Tool}
	if row.Forbid != "" {
		if err := json.Unmarshal([]byte(row.Forbid), &g.Forbid); err != nil {
			return g, fmt.Errorf("guard %s: forbid column: %w", row.Name, err)
		}
	}
	if row.AtMost != nil {
		n := int(*row.AtMost)
		g.AtMost = &n
	}
	if row.Scope != "" {
		g.For = &models.GuardScope{}
		if err := json.Unmarshal([]byte(row.Scope), g.For); err != nil {
			return g, fmt.Errorf("guard %s: scope column: %w", row.Name, err)
		}
	}
	return g, nil
}

// loadGuards adds every guard to doc, remembering their ids in st (the caller normalizes).
func loadGuards(tx *gorm.DB, st *state) error {
	var rows []models.Guard
	if err := tx.Order("name").Find(&rows).Error; err != nil {
		return err
	}
	for i := range rows {
		g, err := guardDoc(&rows[i])
		if err != nil {
			return err
		}
		st.doc.Guards = append(st.doc.Guards, g)
		if st.ids[models.KindGuard] == nil {
			st.ids[models.KindGuard] = map[string]int64{}
		}
		st.ids[models.KindGuard][g.Name] = rows[i].ID
	}
	return nil
}

// guards creates, updates and deletes guards to match after. Guards refer to nothing by id, so
// they are written in place and deleted at once.
func (a *applier) guards(before, after []models.GuardDoc) error {
	c := diffByName(before, after, func(g *models.GuardDoc) string { return g.Name })
	for _, p := range append(c.created, c.updated...) {
		b, d := p[0], p[1]
		row := guardRow(d)
		row.UpdatedAt = a.now
		if b == nil {
			row.CreatedAt = a.now
			if err := a.tx.Create(&row).Error; err != nil {
				return err
			}
			a.setID(models.KindGuard, d.Name, row.ID)
		} else {
			row.ID = a.st.id(models.KindGuard, d.Name)
			if err := a.tx.Model(&row).Select("description", "forbid", "tool", "at_most", "scope", "updated_at").Updates(&row).Error; err != nil {
				return err
			}
		}
		a.audit(action(b == nil), models.KindGuard, d.Name, b, d)
	}
	for _, d := range c.deleted {
		if err := a.tx.Delete(&models.Guard{}, a.st.id(models.KindGuard, d.Name)).Error; err != nil {
			return err
		}
		a.audit("delete", models.KindGuard, d.Name, d, nil)
	}
	return nil
}

// GuardSave is a change to one guard, made from the state at revision Since.
type GuardSave struct {
	// Guard is the guard as it is to be; nil deletes Original.
	Guard *models.GuardDoc
	// Original is the name of the guard being edited or deleted; "" creates Guard.
	Original string
	Since    int64
	Actor    string
}

// SaveGuard creates, edits (possibly renaming) or deletes one guard in one transaction and
// returns the new revision. It refuses, writing nothing: with a *models.ConflictError when the
// guard (under its original or its new name) changed after u.Since; with models.Problems (paths
// relative to the guard, as ValidateGuard gives them) when the guard is invalid against the
// current catalogue and principals or its name is taken; NotFound when Original does not exist;
// Invalid when u.Since is negative or newer than the current revision. Whether the state keeps
// the guard is not its concern: a new guard may start out violated, and the console says so.
func (s *Store) SaveGuard(ctx context.Context, u GuardSave) (int64, error) {
	var rev int64
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		if err := lockPolicy(tx); err != nil {
			return err
		}
		l, err := newLoader(tx)
		if err != nil {
			return err
		}
		cur := l.st
		if u.Since < 0 || u.Since > cur.rev {
			return models.Errorf(models.EInvalid, "revision %d is not one this database has had (current %d)", u.Since, cur.rev)
		}
		if err := loadGuards(tx, cur); err != nil {
			return err
		}
		names := []string{u.Original}
		if u.Guard != nil && u.Guard.Name != u.Original {
			names = append(names, u.Guard.Name)
		}
		for _, n := range names {
			if n == "" {
				continue
			}
			events, err := entityChanges(tx, models.KindGuard, n, u.Since)
			if err != nil {
				return err
			}
			if len(events) > 0 {
				return &models.ConflictError{Reason: models.ConflictSettings, Kind: models.KindGuard, Name: n,
					Since: u.Since, Revision: cur.rev, Changes: events}
			}
		}
		if u.Original != "" && cur.doc.Guard(u.Original) == nil {
			return models.Errorf(models.ENotFound, "unknown guard %q", u.Original)
		}
		next := make([]models.GuardDoc, 0, len(cur.doc.Guards)+1)
		for _, g := range cur.doc.Guards {
			if g.Name != u.Original {
				next = append(next, g)
			}
		}
		if g := u.Guard; g != nil {
			if cur.doc.Guard(g.Name) != nil && g.Name != u.Original {
				return models.Problems{{Path: "name", Message: fmt.Sprintf("there is already a guard %q", g.Name)}}
			}
			if err := l.catalogue(tx); err != nil {
				return err
			}
			if err := loadNamed(tx, cur.doc, g.For); err != nil {
				return err
			}
			if probs := cur.doc.ValidateGuard(*g); len(probs) > 0 {
				return probs
			}
			c := g.Clone()
			next = append(next, c)
		}
		nd := &models.Document{Guards: next}
		nd.Normalize()
		a := newApplier(tx, cur, s.now(), u.Actor)
		if err := a.guards(cur.doc.Guards, nd.Guards); err != nil {
			return err
		}
		rev, err = a.commit("")
		return err
	})
	return rev, err
}

// loadNamed adds to doc (by name only) the organizations, teams and keys of a scope that exist,
// enough for ValidateGuard to tell known names from unknown ones.
func loadNamed(tx *gorm.DB, doc *models.Document, sc *models.GuardScope) error {
	if sc == nil {
		return nil
	}
	find := func(model any, names []string) ([]string, error) {
		var found []string
		if len(names) == 0 {
			return nil, nil
		}
		err := tx.Model(model).Where("name IN ?", names).Pluck("name", &found).Error
		return found, err
	}
	orgs, err := find(&models.Organization{}, sc.Organizations)
	if err != nil {
		return err
	}
	for _, n := range orgs {
		doc.Organizations = append(doc.Organizations, models.OrganizationDoc{Name: n})
	}
	teams, err := find(&models.Team{}, sc.Teams)
	if err != nil {
		return err
	}
	for _, n := range teams {
		doc.Teams = append(doc.Teams, models.TeamDoc{Name: n})
	}
	keys, err := find(&models.Key{}, sc.Keys)
	if err != nil {
		return err
	}
	for _, n := range keys {
		doc.Keys = append(doc.Keys, models.KeyDoc{Name: n})
	}
	return nil
}

// GuardChangesSince returns the audit events of one guard committed after revision since,
// oldest first.
func (s *Store) GuardChangesSince(ctx context.Context, name string, since int64) ([]models.AuditEvent, error) {
	return entityChanges(s.db.WithContext(ctx), models.KindGuard, name, since)
}

func entityChanges(tx *gorm.DB, kind, name string, since int64) ([]models.AuditEvent, error) {
	var events []models.AuditEvent
	err := tx.Where("revision > ? AND entity_kind = ? AND entity_name = ?", since, kind, name).Order("id").Find(&events).Error
	return events, err
}
