package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// Limits of an incremental reload: beyond them Changes asks for a full reload, which is then
// not much dearer than patching, and they bound what Changes reads.
const (
	// MaxChangedEntities is the most distinct entities Changes returns.
	MaxChangedEntities = 5000
	// MaxChangeEvents is the most audit events Changes reads.
	MaxChangeEvents = 50000
)

// The limits in force (tests lower them).
var maxChangedEntities, maxChangeEvents = MaxChangedEntities, MaxChangeEvents

// Changes is how the permission state moved from revision Since to Revision, read in one
// transaction (repeatable read on Postgres), so everything in it is of Revision.
//
// When Reload is set, the move cannot be applied piecemeal (a server, access group or toolset
// changed, upstream headers were set, too much changed, or the audit trail does not account for
// every revision in the range): the caller must load the whole state again. Only Since,
// Revision and Reason are set then.
//
// Otherwise the state at Revision is the state at Since with every principal in the maps below
// replaced by its current document form (nil: it no longer exists), and nothing else changed.
// The documents are normalized (models.Document.Normalize) exactly as LoadDocument's are.
type Changes struct {
	Since    int64
	Revision int64

	Reload bool
	Reason string

	// Entities lists every entity that has an audit event in (Since, Revision], in the order of
	// its first event.
	Entities []ChangedEntity

	Organizations map[string]*models.OrganizationDoc
	Teams         map[string]*models.TeamDoc
	Keys          map[string]*models.KeyDoc
	EndUsers      map[string]*models.EndUserDoc
	Agents        map[string]*models.AgentDoc

	// KeySecrets maps the hash of the current secret of every key in Keys that has one to the
	// key's name (as KeySecretHashes does for all keys). A key in Keys without an entry here
	// has no secret now; any secret it had at Since is gone.
	KeySecrets map[string]string
}

// ChangedEntity is one entity named by audit events of the range.
type ChangedEntity struct {
	Kind string // models.KindOrganization, ...
	Name string
	// Actions are the entity's audit actions in commit order: create, update, delete,
	// issue_secret, revoke_secret.
	Actions []string
}

// Empty reports whether nothing changed (Since == Revision).
func (c *Changes) Empty() bool { return !c.Reload && c.Revision == c.Since }

// Changes returns how the state moved since revision since (see Changes). It reads the audit
// events of the range and the current rows of the principals they name; it never loads the
// whole state.
func (s *Store) Changes(ctx context.Context, since int64) (*Changes, error) {
	var ch *Changes
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		ch, err = loadChanges(tx, since)
		return err
	}, readOnlyTx(s.kind))
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// changeEvent is the part of an audit row loadChanges needs.
type changeEvent struct {
	ID         int64
	Revision   int64
	Action     string
	EntityKind string
	EntityName string
}

func loadChanges(tx *gorm.DB, since int64) (*Changes, error) {
	rev, err := revision(tx)
	if err != nil {
		return nil, err
	}
	ch := &Changes{Since: since, Revision: rev}
	reload := func(format string, args ...any) (*Changes, error) {
		return &Changes{Since: since, Revision: rev, Reload: true, Reason: fmt.Sprintf(format, args...)}, nil
	}
	switch {
	case rev == since:
		return ch, nil
	case rev < since:
		return reload("the revision went back from %d to %d", since, rev)
	case rev-since > int64(maxChangeEvents):
		return reload("%d revisions since %d", rev-since, since)
	}

	// Every committed change bumps the revision once and writes at least one audit event with
	// the new revision, in the same transaction and after the bump. The bump locks the
	// policy_state row until the transaction ends, so the events of revision r+1 get higher ids
	// than every event of revisions up to r: the events after since are those above the last
	// event at or before since. Finding that one walks the primary key backwards from the end
	// and stops at once, where a filter on revision alone would read the whole audit table
	// (revision has no index).
	var after int64
	var last []int64
	if err := tx.Model(&models.AuditEvent{}).Where("revision <= ?", since).Order("id DESC").Limit(1).
		Pluck("id", &last).Error; err != nil {
		return nil, err
	}
	if len(last) > 0 {
		after = last[0]
	}
	var events []changeEvent
	if err := tx.Model(&models.AuditEvent{}).Select("id", "revision", "action", "entity_kind", "entity_name").
		Where("id > ? AND revision > ?", after, since).Order("id").Limit(maxChangeEvents + 1).Find(&events).Error; err != nil {
		return nil, err
	}
	if len(events) > maxChangeEvents {
		return reload("more than %d audit events since revision %d", maxChangeEvents, since)
	}
	seen := make(map[int64]bool, rev-since)
	for _, e := range events {
		if e.Revision > rev {
			return reload("audit event %d has revision %d, beyond the current %d", e.ID, e.Revision, rev)
		}
		seen[e.Revision] = true
	}
	if int64(len(seen)) != rev-since {
		for r := since + 1; r <= rev; r++ {
			if !seen[r] {
				return reload("revision %d has no audit events", r)
			}
		}
	}

	type entityKey struct{ kind, name string }
	index := map[entityKey]int{}
	names := map[string][]string{} // kind -> names, first event order
	for _, e := range events {
		switch e.EntityKind {
		case models.KindOrganization, models.KindTeam, models.KindKey, models.KindEndUser, models.KindAgent:
		case models.KindServer, models.KindAccessGroup, models.KindToolset, models.KindGuard:
			// Guards are few and decide nothing; a change to one reloads the whole state.
			return reload("%s %q: %s at revision %d", e.EntityKind, e.EntityName, e.Action, e.Revision)
		default:
			return reload("unknown entity kind %q in audit event %d", e.EntityKind, e.ID)
		}
		switch e.Action {
		case "create", "update", "delete":
		case "issue_secret", "revoke_secret":
			if e.EntityKind != models.KindKey {
				return reload("unexpected %s of %s %q in audit event %d", e.Action, e.EntityKind, e.EntityName, e.ID)
			}
		default:
			return reload("unknown audit action %q in audit event %d", e.Action, e.ID)
		}
		k := entityKey{e.EntityKind, e.EntityName}
		i, ok := index[k]
		if !ok {
			if len(ch.Entities) == maxChangedEntities {
				return reload("more than %d entities changed since revision %d", maxChangedEntities, since)
			}
			i = len(ch.Entities)
			index[k] = i
			ch.Entities = append(ch.Entities, ChangedEntity{Kind: e.EntityKind, Name: e.EntityName})
			names[e.EntityKind] = append(names[e.EntityKind], e.EntityName)
		}
		ch.Entities[i].Actions = append(ch.Entities[i].Actions, e.Action)
	}

	if err := loadPrincipals(tx, ch, names); err != nil {
		return nil, err
	}
	return ch, nil
}

// loadPrincipals fills ch's maps with the current document form of the named principals.
func loadPrincipals(tx *gorm.DB, ch *Changes, names map[string][]string) error {
	var (
		orgs   []models.Organization
		teams  []models.Team
		keys   []models.Key
		users  []models.EndUser
		agents []models.Agent
	)
	if err := findByName(tx, &orgs, names[models.KindOrganization]); err != nil {
		return err
	}
	if err := findByName(tx, &teams, names[models.KindTeam]); err != nil {
		return err
	}
	if err := findByName(tx, &keys, names[models.KindKey]); err != nil {
		return err
	}
	if err := findByName(tx, &users, names[models.KindEndUser]); err != nil {
		return err
	}
	if err := findByName(tx, &agents, names[models.KindAgent]); err != nil {
		return err
	}

	// Their mcp_entries, per kind in id order (as loadState adds them).
	ids := map[string][]int64{
		models.KindOrganization: rowIDs(orgs), models.KindTeam: rowIDs(teams), models.KindKey: rowIDs(keys),
		models.KindEndUser: rowIDs(users), models.KindAgent: rowIDs(agents),
	}
	entries := map[string][]models.MCPEntry{}
	for kind, list := range ids {
		for _, chunk := range chunks(list) {
			var rows []models.MCPEntry
			if err := tx.Where("principal_kind = ? AND principal_id IN ?", kind, chunk).Order("id").Find(&rows).Error; err != nil {
				return err
			}
			entries[kind] = append(entries[kind], rows...)
		}
	}

	// The names behind every id the rows refer to.
	refs := newIDNames()
	for i := range teams {
		refs.want(models.KindOrganization, teams[i].OrganizationID)
	}
	for i := range keys {
		refs.want(models.KindTeam, keys[i].TeamID)
		refs.want(models.KindOrganization, keys[i].OrganizationID)
		refs.want(models.KindAgent, keys[i].AgentID)
	}
	for _, list := range entries {
		for i := range list {
			refs.want(models.KindServer, list[i].ServerID)
			refs.want(models.KindAccessGroup, list[i].AccessGroupID)
			refs.want(models.KindToolset, list[i].ToolsetID)
		}
	}
	if err := refs.load(tx); err != nil {
		return err
	}

	doc := &models.Document{}
	d := newDocRows(doc, refs.name)
	d.organizations(orgs)
	d.teams(teams)
	d.keys(keys)
	d.endUsers(users)
	d.agents(agents)
	for _, list := range entries {
		d.entries(list)
	}
	ch.KeySecrets = map[string]string{}
	for i := range keys {
		if keys[i].SecretHash != nil {
			ch.KeySecrets[*keys[i].SecretHash] = keys[i].Name
		}
	}
	doc.Normalize() // sorts the lists: the level pointers above are stale from here on

	ch.Organizations = byName(names[models.KindOrganization], doc.Organizations, func(d *models.OrganizationDoc) string { return d.Name })
	ch.Teams = byName(names[models.KindTeam], doc.Teams, func(d *models.TeamDoc) string { return d.Name })
	ch.Keys = byName(names[models.KindKey], doc.Keys, func(d *models.KeyDoc) string { return d.Name })
	ch.EndUsers = byName(names[models.KindEndUser], doc.EndUsers, func(d *models.EndUserDoc) string { return d.Name })
	ch.Agents = byName(names[models.KindAgent], doc.Agents, func(d *models.AgentDoc) string { return d.Name })
	return nil
}

// rowIDs lists the ids of level rows.
func rowIDs[R any, PR levelRow[R]](rows []R) []int64 {
	out := make([]int64, len(rows))
	for i := range rows {
		out[i] = PR(&rows[i]).Base().ID
	}
	return out
}

// findByName reads the rows of one level table whose names are listed, in batches.
func findByName[R any](tx *gorm.DB, out *[]R, names []string) error {
	for len(names) > 0 {
		n := min(len(names), batchSize)
		var rows []R
		if err := tx.Where("name IN ?", names[:n]).Find(&rows).Error; err != nil {
			return err
		}
		*out = append(*out, rows...)
		names = names[n:]
	}
	return nil
}

// byName maps every listed name to its document in docs, or to nil when there is none.
func byName[D any](names []string, docs []D, name func(*D) string) map[string]*D {
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]*D, len(names))
	for _, n := range names {
		m[n] = nil
	}
	for i := range docs {
		m[name(&docs[i])] = &docs[i]
	}
	return m
}

// idNames resolves row ids of a few kinds to names, reading only the ids asked for.
type idNames struct {
	ids   map[string]map[int64]bool
	names map[string]map[int64]string
}

func newIDNames() *idNames {
	return &idNames{ids: map[string]map[int64]bool{}, names: map[string]map[int64]string{}}
}

func (r *idNames) want(kind string, id *int64) {
	if id == nil {
		return
	}
	if r.ids[kind] == nil {
		r.ids[kind] = map[int64]bool{}
	}
	r.ids[kind][*id] = true
}

// idTables are the tables behind the kinds idNames resolves.
var idTables = map[string]any{
	models.KindOrganization: &models.Organization{},
	models.KindTeam:         &models.Team{},
	models.KindAgent:        &models.Agent{},
	models.KindServer:       &models.Server{},
	models.KindAccessGroup:  &models.AccessGroup{},
	models.KindToolset:      &models.Toolset{},
}

func (r *idNames) load(tx *gorm.DB) error {
	for kind, set := range r.ids {
		list := make([]int64, 0, len(set))
		for id := range set {
			list = append(list, id)
		}
		m := make(map[int64]string, len(list))
		for _, chunk := range chunks(list) {
			var rows []struct {
				ID   int64
				Name string
			}
			if err := tx.Model(idTables[kind]).Select("id", "name").Where("id IN ?", chunk).Find(&rows).Error; err != nil {
				return err
			}
			for _, row := range rows {
				m[row.ID] = row.Name
			}
		}
		r.names[kind] = m
	}
	return nil
}

// name is loadState's name: the name behind id, "" for nil (or an id that does not exist).
func (r *idNames) name(kind string, id *int64) string {
	if id == nil {
		return ""
	}
	return r.names[kind][*id]
}
