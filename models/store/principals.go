package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// PrincipalChange is a change made from one principal's settings form: the principal (Kind,
// Name) whose settings a person loaded at SettingsRevision, edited and previewed at
// BaseRevision, and everything the change writes with it (a deleted team's keys, say).
type PrincipalChange struct {
	// Kind (models.KindOrganization, KindTeam, KindKey, KindEndUser or KindAgent) and Name are
	// the principal the form edits.
	Kind, Name string
	// Create: the principal must not exist yet (it is in Put). Otherwise it must exist.
	Create bool
	// Put holds the principals to create or replace, by name (only the principal lists of the
	// document are read); Delete names the principals to remove, by kind.
	Put    models.Document
	Delete map[string][]string
	// IssueSecret gives the named key a new secret in the same transaction (a key created with
	// its secret); the secret is returned by ChangePrincipals.
	IssueSecret string
	// SettingsRevision is the revision at which the principal's stored settings were loaded
	// into the draft. If they changed after it, saving would overwrite that change.
	SettingsRevision int64
	// BaseRevision is the revision the draft's preview was computed at (at least
	// SettingsRevision). If anything else affecting the principals changed after it, the
	// preview no longer shows what the save does.
	BaseRevision int64
	Actor        string
	// Summary is the human description of the change's effect (the preview's diff summary);
	// it is kept on the audit events.
	Summary string
	// Verify, when set, is called under the policy lock once the revision checks have passed,
	// with the current revision, before anything is written; an error from it is returned and
	// nothing is written. The console checks guards with it against the state at save time.
	Verify func(revision int64) error
}

// PrincipalResult is what a change committed.
type PrincipalResult struct {
	// Revision is the new revision (the current one when nothing changed).
	Revision int64
	// Secret is the key secret issued (IssueSecret), shown once and never stored.
	Secret string
}

// ChangePrincipals writes a change in one transaction, provided neither the principal's own
// settings changed since c.SettingsRevision nor anything else affecting the principals it
// writes since c.BaseRevision: otherwise it writes nothing and returns a *models.ConflictError
// saying which (models.ConflictSettings with the principal's audit events, or
// models.ConflictRelated). Every principal written gets an audit event with its settings
// before and after. Returns Invalid if a revision is negative, newer than the current one, or
// SettingsRevision is after BaseRevision; NotFound if the principal does not exist (and is not
// created); and models.Problems, with paths into Put, if a name is taken or invalid, a
// reference unknown, or a deleted principal still referred to by one the change keeps. Only the
// catalogue and the principals involved are read: a change costs the same for a team of ten
// keys and one in a policy of 100,000.
func (s *Store) ChangePrincipals(ctx context.Context, c PrincipalChange) (PrincipalResult, error) {
	var res PrincipalResult
	var secret, prefix string
	if c.IssueSecret != "" {
		var err error
		if secret, prefix, err = newSecret(); err != nil {
			return res, err
		}
	}
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		if err := lockPolicy(tx); err != nil {
			return err
		}
		cur, err := loadLevels(tx, involved(c))
		if err != nil {
			return err
		}
		if err := revisionBounds(cur.rev, c.SettingsRevision, c.BaseRevision); err != nil {
			return err
		}
		_, exists := cur.ids[c.Kind][c.Name]
		switch {
		case c.Create && exists:
			return models.Problems{{Path: "name", Message: fmt.Sprintf("a %s named %q already exists", kindWords(c.Kind), c.Name)}}
		case !c.Create && !exists:
			return models.Errorf(models.ENotFound, "unknown %s %q", kindWords(c.Kind), c.Name)
		}
		if probs := putTaken(cur, &c); len(probs) > 0 {
			return probs
		}
		if probs := cur.doc.ValidateChange(&c.Put, c.Delete); len(probs) > 0 {
			return relative(probs, subjectPath(&c))
		}
		if msg, err := dangling(tx, cur, &c); err != nil || msg != "" {
			if err != nil {
				return err
			}
			return models.Problems{{Path: "", Message: msg}}
		}
		settingsRev := c.SettingsRevision
		if c.Create {
			settingsRev = cur.rev // nothing of a new principal's own can have changed
		}
		if err := checkRevisionsOf(cur.rev, c.Kind, c.Name, settingsRev, c.BaseRevision,
			func(since int64) ([]models.AuditEvent, error) { return principalChanges(tx, c.Kind, c.Name, since) },
			func(since int64) (string, error) {
				sc, err := scopeOf(tx, cur, &c)
				if err != nil {
					return "", err
				}
				return affects(tx, sc, since)
			}); err != nil {
			return err
		}
		if c.Verify != nil {
			if err := c.Verify(cur.rev); err != nil {
				return err
			}
		}
		next := cur.doc.Clone()
		putAll(next, &c.Put)
		removeAll(next, c.Delete)
		next.Normalize()
		a := newApplier(tx, cur, s.now(), c.Actor)
		if err := a.apply(next); err != nil {
			return err
		}
		if secret != "" {
			if err := a.issueSecret(c.IssueSecret, secret, prefix); err != nil {
				return err
			}
		}
		res.Revision, err = a.commit(c.Summary)
		return err
	})
	if err != nil {
		return PrincipalResult{}, err
	}
	res.Secret = secret
	return res, nil
}

// kindWords names a principal kind in prose ("end user").
func kindWords(kind string) string {
	if kind == models.KindEndUser {
		return "end user"
	}
	return kind
}

// involved is every principal a change names (kind -> names): the subject, what it puts with
// what those refer to, and what it deletes. loadLevels adds what the stored ones refer to.
func involved(c PrincipalChange) map[string][]string {
	names := map[string][]string{c.Kind: {c.Name}}
	add := func(kind, name string) {
		if name != "" {
			names[kind] = append(names[kind], name)
		}
	}
	p := &c.Put
	for _, o := range p.Organizations {
		add(models.KindOrganization, o.Name)
	}
	for _, t := range p.Teams {
		add(models.KindTeam, t.Name)
		add(models.KindOrganization, t.Organization)
	}
	for _, k := range p.Keys {
		add(models.KindKey, k.Name)
		add(models.KindTeam, k.Team)
		add(models.KindOrganization, k.Organization)
		add(models.KindAgent, k.Agent)
	}
	for _, u := range p.EndUsers {
		add(models.KindEndUser, u.Name)
	}
	for _, a := range p.Agents {
		add(models.KindAgent, a.Name)
	}
	for kind, list := range c.Delete {
		names[kind] = append(names[kind], list...)
	}
	return names
}

// putTaken reports principals the change puts as new (not the subject, not stored) under a
// name already stored: Put replaces only what the change is about.
func putTaken(cur *state, c *PrincipalChange) models.Problems {
	var probs models.Problems
	// Only the subject may be created; every other principal put must exist already.
	check := func(list, kind, name string, i int) {
		if kind == c.Kind && name == c.Name {
			return
		}
		if _, ok := cur.ids[kind][name]; !ok {
			probs = append(probs, models.Problem{Path: fmt.Sprintf("%s[%d].name", list, i), Message: fmt.Sprintf("unknown %s %q", kindWords(kind), name)})
		}
	}
	for i, o := range c.Put.Organizations {
		check("organizations", models.KindOrganization, o.Name, i)
	}
	for i, t := range c.Put.Teams {
		check("teams", models.KindTeam, t.Name, i)
	}
	for i, k := range c.Put.Keys {
		check("keys", models.KindKey, k.Name, i)
	}
	for i, u := range c.Put.EndUsers {
		check("end_users", models.KindEndUser, u.Name, i)
	}
	for i, a := range c.Put.Agents {
		check("agents", models.KindAgent, a.Name, i)
	}
	return probs
}

// dangling says which principal the change deletes while another it keeps still refers to it
// ("" when none): a deleted organization's teams and keys, a deleted team's keys and a deleted
// agent's bound keys must be deleted too, or moved (put) elsewhere by the same change.
func dangling(tx *gorm.DB, cur *state, c *PrincipalChange) (string, error) {
	handled := map[string]map[string]bool{models.KindTeam: {}, models.KindKey: {}}
	for _, t := range c.Put.Teams {
		handled[models.KindTeam][t.Name] = true
	}
	for _, k := range c.Put.Keys {
		handled[models.KindKey][k.Name] = true
	}
	for _, kind := range []string{models.KindTeam, models.KindKey} {
		for _, n := range c.Delete[kind] {
			handled[kind][n] = true
		}
	}
	refs := []struct {
		kind, column, child string
		model               any
	}{
		{models.KindOrganization, "organization_id", models.KindTeam, &models.Team{}},
		{models.KindOrganization, "organization_id", models.KindKey, &models.Key{}},
		{models.KindTeam, "team_id", models.KindKey, &models.Key{}},
		{models.KindAgent, "agent_id", models.KindKey, &models.Key{}},
	}
	for _, r := range refs {
		for _, name := range c.Delete[r.kind] {
			id, ok := cur.ids[r.kind][name]
			if !ok {
				continue
			}
			var children []string
			if err := tx.Model(r.model).Where(r.column+" = ?", id).Order("name").Pluck("name", &children).Error; err != nil {
				return "", err
			}
			for _, ch := range children {
				if !handled[r.child][ch] {
					return fmt.Sprintf("%s %q still has %s %q; delete or move it in the same change", kindWords(r.kind), name, r.child, ch), nil
				}
			}
		}
	}
	return "", nil
}

// putAll creates or replaces doc's principals by those of put.
func putAll(doc *models.Document, put *models.Document) {
	doc.Organizations = replaceByName(doc.Organizations, put.Organizations, func(o *models.OrganizationDoc) string { return o.Name })
	doc.Teams = replaceByName(doc.Teams, put.Teams, func(t *models.TeamDoc) string { return t.Name })
	doc.Keys = replaceByName(doc.Keys, put.Keys, func(k *models.KeyDoc) string { return k.Name })
	doc.EndUsers = replaceByName(doc.EndUsers, put.EndUsers, func(u *models.EndUserDoc) string { return u.Name })
	doc.Agents = replaceByName(doc.Agents, put.Agents, func(a *models.AgentDoc) string { return a.Name })
}

func replaceByName[D any](list, put []D, name func(*D) string) []D {
	at := make(map[string]int, len(list))
	for i := range list {
		at[name(&list[i])] = i
	}
	for i := range put {
		if j, ok := at[name(&put[i])]; ok {
			list[j] = put[i]
		} else {
			list = append(list, put[i])
		}
	}
	return list
}

// removeAll deletes the named principals (kind -> names) from doc.
func removeAll(doc *models.Document, del map[string][]string) {
	gone := func(kind string) func(string) bool {
		m := map[string]bool{}
		for _, n := range del[kind] {
			m[n] = true
		}
		return func(n string) bool { return m[n] }
	}
	doc.Organizations = dropNamed(doc.Organizations, gone(models.KindOrganization), func(o *models.OrganizationDoc) string { return o.Name })
	doc.Teams = dropNamed(doc.Teams, gone(models.KindTeam), func(t *models.TeamDoc) string { return t.Name })
	doc.Keys = dropNamed(doc.Keys, gone(models.KindKey), func(k *models.KeyDoc) string { return k.Name })
	doc.EndUsers = dropNamed(doc.EndUsers, gone(models.KindEndUser), func(u *models.EndUserDoc) string { return u.Name })
	doc.Agents = dropNamed(doc.Agents, gone(models.KindAgent), func(a *models.AgentDoc) string { return a.Name })
}

func dropNamed[D any](list []D, gone func(string) bool, name func(*D) string) []D {
	out := list[:0]
	for i := range list {
		if !gone(name(&list[i])) {
			out = append(out, list[i])
		}
	}
	return out
}

// PrincipalChangesSince returns the audit events of one principal's own settings (created,
// updated, deleted) committed after revision since, oldest first. The first one's Before is
// the principal's settings at since; the last one's After, its settings now.
func (s *Store) PrincipalChangesSince(ctx context.Context, kind, name string, since int64) ([]models.AuditEvent, error) {
	return principalChanges(s.db.WithContext(ctx), kind, name, since)
}

// principalChanges are the principal's settings changes; a key's secret events are not
// settings.
func principalChanges(tx *gorm.DB, kind, name string, since int64) ([]models.AuditEvent, error) {
	var events []models.AuditEvent
	err := tx.Where("revision > ? AND entity_kind = ? AND entity_name = ? AND action IN ?", since, kind, name,
		[]string{"create", "update", "delete"}).Order("id").Find(&events).Error
	return events, err
}

// scope is what a change's preview depends on, for affects: the catalogue and every agent
// always (they can reach anyone), and the principals below.
type scope struct {
	// orgs, teams, keys, users: principals whose own changes count.
	orgs, teams, keys, users map[string]bool
	// teamOrgs: a team moved into or out of one of these counts. keyOrgs: a key placed (before
	// or after) in one of these counts, as does a key placed in one of teams.
	teamOrgs, keyOrgs map[string]bool
}

// scopeOf is what the principals a change writes depend on: an organization written with its
// teams and keys; a team with its organization (old and new) and its keys; a key with its team
// and organization (old and new).
func scopeOf(tx *gorm.DB, cur *state, c *PrincipalChange) (scope, error) {
	sc := scope{orgs: map[string]bool{}, teams: map[string]bool{}, keys: map[string]bool{}, users: map[string]bool{},
		teamOrgs: map[string]bool{}, keyOrgs: map[string]bool{}}
	whole := func(org string) { sc.orgs[org], sc.teamOrgs[org], sc.keyOrgs[org] = true, true, true }
	mark := func(set map[string]bool, name string) {
		if name != "" {
			set[name] = true
		}
	}
	subject := map[string][]string{c.Kind: {c.Name}}
	for kind, names := range c.Delete {
		subject[kind] = append(subject[kind], names...)
	}
	for _, o := range c.Put.Organizations {
		subject[models.KindOrganization] = append(subject[models.KindOrganization], o.Name)
	}
	for _, o := range subject[models.KindOrganization] {
		whole(o)
	}
	for _, t := range c.Put.Teams {
		mark(sc.teams, t.Name)
		mark(sc.orgs, t.Organization)
	}
	for _, n := range subject[models.KindTeam] {
		mark(sc.teams, n)
	}
	for _, k := range c.Put.Keys {
		mark(sc.keys, k.Name)
		mark(sc.teams, k.Team)
		mark(sc.orgs, k.Organization)
	}
	for _, n := range subject[models.KindKey] {
		mark(sc.keys, n)
	}
	for _, u := range c.Put.EndUsers {
		mark(sc.users, u.Name)
	}
	for _, n := range subject[models.KindEndUser] {
		mark(sc.users, n)
	}
	// Where the stored principals sit counts too (the team a key leaves, its organization).
	for _, k := range cur.doc.Keys {
		if sc.keys[k.Name] {
			mark(sc.teams, k.Team)
			mark(sc.orgs, k.Organization)
		}
	}
	for _, t := range cur.doc.Teams {
		if sc.teams[t.Name] {
			mark(sc.orgs, t.Organization)
		}
	}
	// A whole organization's teams count, read from the database (they were not loaded).
	var ids []int64
	for o := range sc.teamOrgs {
		if id, ok := cur.ids[models.KindOrganization][o]; ok {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		var names []string
		if err := tx.Model(&models.Team{}).Where("organization_id IN ?", ids).Pluck("name", &names).Error; err != nil {
			return sc, err
		}
		for _, n := range names {
			sc.teams[n] = true
		}
	}
	return sc, nil
}

// affects looks at every change committed after revision since and returns a description of
// the first one that can change what the scope's principals are allowed ("" when none can).
// Servers, access groups, toolsets and agents can reach anyone, so any change to them counts;
// a principal's change counts when it is in the scope or was or is placed in it.
func affects(tx *gorm.DB, sc scope, since int64) (string, error) {
	var events []models.AuditEvent
	if err := tx.Where("revision > ?", since).Order("id").Find(&events).Error; err != nil {
		return "", err
	}
	var placement struct {
		Organization string `json:"organization"`
		Team         string `json:"team"`
	}
	placed := func(js string, orgs map[string]bool) bool {
		placement.Organization, placement.Team = "", ""
		if js == "" || json.Unmarshal([]byte(js), &placement) != nil {
			return false
		}
		return orgs[placement.Organization] || sc.teams[placement.Team]
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
			if sc.orgs[e.EntityName] {
				return what, nil
			}
		case models.KindTeam:
			if sc.teams[e.EntityName] || teamPlaced(e.Before, sc.teamOrgs) || teamPlaced(e.After, sc.teamOrgs) {
				return what, nil
			}
		case models.KindKey:
			if e.Action == "issue_secret" || e.Action == "revoke_secret" {
				continue
			}
			if sc.keys[e.EntityName] || placed(e.Before, sc.keyOrgs) || placed(e.After, sc.keyOrgs) {
				return what, nil
			}
		case models.KindEndUser:
			if sc.users[e.EntityName] {
				return what, nil
			}
		}
	}
	return "", nil
}

// teamPlaced reports whether a team's audit JSON places it in one of orgs.
func teamPlaced(js string, orgs map[string]bool) bool {
	var t struct {
		Organization string `json:"organization"`
	}
	return js != "" && json.Unmarshal([]byte(js), &t) == nil && orgs[t.Organization]
}

// subjectPath is the path of the subject's entry in c.Put ("teams[0]"), "" when Put does not
// hold it first.
func subjectPath(c *PrincipalChange) string {
	first := func(list string, n int, name func() string) string {
		if n > 0 && name() == c.Name {
			return list + "[0]"
		}
		return ""
	}
	p := &c.Put
	switch c.Kind {
	case models.KindOrganization:
		return first("organizations", len(p.Organizations), func() string { return p.Organizations[0].Name })
	case models.KindTeam:
		return first("teams", len(p.Teams), func() string { return p.Teams[0].Name })
	case models.KindKey:
		return first("keys", len(p.Keys), func() string { return p.Keys[0].Name })
	case models.KindEndUser:
		return first("end_users", len(p.EndUsers), func() string { return p.EndUsers[0].Name })
	case models.KindAgent:
		return first("agents", len(p.Agents), func() string { return p.Agents[0].Name })
	}
	return ""
}

// relative makes the paths of problems of the subject relative to it (`mcp.servers[0]`, as its
// form names the fields); others keep their full path.
func relative(probs models.Problems, subject string) models.Problems {
	if subject == "" {
		return probs
	}
	out := make(models.Problems, len(probs))
	for i, p := range probs {
		if rest, ok := strings.CutPrefix(p.Path, subject+"."); ok {
			p.Path = rest
		}
		out[i] = p
	}
	return out
}
