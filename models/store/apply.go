package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// batchSize bounds ids per IN list and rows per INSERT; SQLite allows 32766 parameters.
// On Postgres (65535 parameters) an INSERT takes pgBatchSize rows of up to 30 columns: fewer,
// larger statements save round trips in a 100,000-key import. SQLite gets no faster with
// larger statements (the pure-Go driver gets much slower), so it keeps batchSize.
const (
	batchSize   = 500
	pgBatchSize = 2000
)

// KindCounts counts the entities of one kind an import created, updated and deleted.
type KindCounts struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
}

// ImportSummary says what an import changed.
type ImportSummary struct {
	// Revision is the policy revision after the import (unchanged when nothing changed).
	Revision int64 `json:"revision"`
	Changed  bool  `json:"changed"`
	// Counts is keyed by entity kind in document order (servers, access_groups, ...).
	Counts map[string]*KindCounts `json:"counts"`
}

// summaryKinds is the order in which summaries are printed: the document's order.
var summaryKinds = []struct{ kind, plural string }{
	{models.KindServer, "servers"}, {models.KindAccessGroup, "access_groups"}, {models.KindToolset, "toolsets"},
	{models.KindOrganization, "organizations"}, {models.KindTeam, "teams"}, {models.KindKey, "keys"},
	{models.KindEndUser, "end_users"}, {models.KindAgent, "agents"}, {models.KindGuard, "guards"},
}

// String renders the summary one kind a line, then the revision.
func (s *ImportSummary) String() string {
	var b strings.Builder
	for _, k := range summaryKinds {
		c := s.Counts[k.kind]
		fmt.Fprintf(&b, "%-14s %d created, %d updated, %d deleted\n", k.plural+":", c.Created, c.Updated, c.Deleted)
	}
	if s.Changed {
		fmt.Fprintf(&b, "revision: %d\n", s.Revision)
	} else {
		fmt.Fprintf(&b, "no change; revision stays %d\n", s.Revision)
	}
	return b.String()
}

// ApplyDocument makes the database hold exactly the state of doc: it creates, updates and
// deletes entities to match, in one transaction, bumps the revision once if anything changed and
// writes one audit event per changed entity. An invalid document returns models.Problems and
// writes nothing. Key secrets are never touched.
func (s *Store) ApplyDocument(ctx context.Context, doc *models.Document, actor string) (*ImportSummary, error) {
	return s.applyDocument(ctx, doc, actor, nil)
}

// applyDocument is ApplyDocument; a non-nil base is checked under the policy lock (see
// ApplyPlanned).
func (s *Store) applyDocument(ctx context.Context, doc *models.Document, actor string, base *Base) (*ImportSummary, error) {
	if probs := doc.Validate(); len(probs) > 0 {
		return nil, probs
	}
	next := doc.Clone()
	for i := range next.Keys {
		// Keep expiry instants in one spelling, so re-importing an export changes nothing.
		if e := next.Keys[i].ExpiresAt; e != "" {
			t, _ := time.Parse(time.RFC3339, e) // validated above
			next.Keys[i].ExpiresAt = t.UTC().Format(time.RFC3339)
		}
	}
	next.Normalize()
	var sum *ImportSummary
	err := s.writeState(ctx, func(tx *gorm.DB, cur *state) error {
		if err := base.check(tx, cur); err != nil {
			return err
		}
		a, rev, err := s.write(tx, cur, next, actor, "")
		if err != nil {
			return err
		}
		sum = a.sum
		sum.Changed, sum.Revision = len(a.events) > 0, rev
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// applier carries one import's transaction and bookkeeping.
type applier struct {
	tx     *gorm.DB
	st     *state // ids are updated as rows are created
	now    time.Time
	actor  string
	sum    *ImportSummary
	events []models.AuditEvent
	// deletes are run last, children first, once nothing refers to the rows any more.
	deletes []func() error
}

func newApplier(tx *gorm.DB, st *state, now time.Time, actor string) *applier {
	a := &applier{tx: tx, st: st, now: now, actor: actor, sum: &ImportSummary{Counts: map[string]*KindCounts{}}}
	for _, k := range summaryKinds {
		a.sum.Counts[k.kind] = &KindCounts{}
	}
	return a
}

// writeState runs fn in a write transaction holding the policy lock, with the whole state.
func (s *Store) writeState(ctx context.Context, fn func(tx *gorm.DB, cur *state) error) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		if err := lockPolicy(tx); err != nil {
			return err
		}
		cur, err := loadState(tx)
		if err != nil {
			return err
		}
		return fn(tx, cur)
	})
}

// write makes the database hold next in place of cur (loaded in tx under the policy lock): the
// rows, one revision bump and the audit events, each carrying summary if given. It returns the
// applier (for its counts) and the new revision, the current one when nothing changed.
func (s *Store) write(tx *gorm.DB, cur *state, next *models.Document, actor, summary string) (*applier, int64, error) {
	a := newApplier(tx, cur, s.now(), actor)
	if err := a.apply(next); err != nil {
		return nil, 0, err
	}
	rev, err := a.commit(summary)
	return a, rev, err
}

// commit bumps the revision once and writes the audit events, each carrying summary if given,
// and returns the new revision; with no events it writes nothing and returns the current one.
func (a *applier) commit(summary string) (int64, error) {
	if len(a.events) == 0 {
		return a.st.rev, nil
	}
	rev, err := bumpRevision(a.tx)
	if err != nil {
		return 0, err
	}
	for i := range a.events {
		a.events[i].Revision = rev
		if summary != "" {
			a.events[i].Summary = summary
		}
	}
	return rev, a.tx.CreateInBatches(a.events, a.insertBatch()).Error
}

// insertBatch is how many rows one INSERT writes (see batchSize).
func (a *applier) insertBatch() int {
	if a.tx.Dialector.Name() == "postgres" {
		return pgBatchSize
	}
	return batchSize
}

func (a *applier) setID(kind, name string, id int64) {
	if a.st.ids[kind] == nil {
		a.st.ids[kind] = map[string]int64{}
	}
	a.st.ids[kind][name] = id
}

func (a *applier) idPtr(kind, name string) *int64 {
	if name == "" {
		return nil
	}
	id := a.st.ids[kind][name]
	return &id
}

func (a *applier) audit(action, kind, name string, before, after any) {
	a.events = append(a.events, models.AuditEvent{
		At: a.now, Actor: a.actor, Action: action, EntityKind: kind, EntityName: name,
		Before: auditJSON(before), After: auditJSON(after),
	})
	c := a.sum.Counts[kind]
	switch action {
	case "create":
		c.Created++
	case "update":
		c.Updated++
	case "delete":
		c.Deleted++
	}
}

func auditJSON(v any) string {
	if v == nil || reflect.ValueOf(v).IsNil() {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// changes pairs the entities of two name-sorted lists.
type changes[T any] struct {
	created, updated [][2]*T // [before, after]; before is nil when created
	deleted          []*T
}

func diffByName[T any](before, after []T, name func(*T) string) changes[T] {
	var c changes[T]
	old := make(map[string]*T, len(before))
	for i := range before {
		old[name(&before[i])] = &before[i]
	}
	seen := make(map[string]bool, len(after))
	for i := range after {
		n := name(&after[i])
		seen[n] = true
		switch b := old[n]; {
		case b == nil:
			c.created = append(c.created, [2]*T{nil, &after[i]})
		case !reflect.DeepEqual(*b, after[i]):
			c.updated = append(c.updated, [2]*T{b, &after[i]})
		}
	}
	for i := range before {
		if !seen[name(&before[i])] {
			c.deleted = append(c.deleted, &before[i])
		}
	}
	return c
}

func (a *applier) apply(next *models.Document) error {
	cur := a.st.doc
	steps := []func() error{
		func() error { return a.servers(cur.Servers, next.Servers) },
		func() error { return a.accessGroups(cur.AccessGroups, next.AccessGroups) },
		func() error { return a.toolsets(cur.Toolsets, next.Toolsets) },
		func() error {
			return syncLevels(a, models.KindOrganization, cur.Organizations, next.Organizations,
				func(d *models.OrganizationDoc) levelOf { return levelOf{d.Name, d.MCP, d.DenyTools} },
				func(d *models.OrganizationDoc) *models.Organization {
					return &models.Organization{Blocked: d.Blocked}
				})
		},
		func() error {
			return syncLevels(a, models.KindAgent, cur.Agents, next.Agents,
				func(d *models.AgentDoc) levelOf { return levelOf{d.Name, d.MCP, d.DenyTools} },
				func(d *models.AgentDoc) *models.Agent { return &models.Agent{} })
		},
		func() error {
			return syncLevels(a, models.KindEndUser, cur.EndUsers, next.EndUsers,
				func(d *models.EndUserDoc) levelOf { return levelOf{d.Name, d.MCP, d.DenyTools} },
				func(d *models.EndUserDoc) *models.EndUser { return &models.EndUser{} })
		},
		func() error {
			return syncLevels(a, models.KindTeam, cur.Teams, next.Teams,
				func(d *models.TeamDoc) levelOf { return levelOf{d.Name, d.MCP, d.DenyTools} },
				func(d *models.TeamDoc) *models.Team {
					return &models.Team{Blocked: d.Blocked, OrganizationID: a.idPtr(models.KindOrganization, d.Organization)}
				})
		},
		func() error {
			return syncLevels(a, models.KindKey, cur.Keys, next.Keys,
				func(d *models.KeyDoc) levelOf { return levelOf{d.Name, d.MCP, d.DenyTools} },
				func(d *models.KeyDoc) *models.Key {
					k := &models.Key{
						Blocked:        d.Blocked,
						TeamID:         a.idPtr(models.KindTeam, d.Team),
						OrganizationID: a.idPtr(models.KindOrganization, d.Organization),
						AgentID:        a.idPtr(models.KindAgent, d.Agent),
					}
					if d.ExpiresAt != "" {
						t, _ := time.Parse(time.RFC3339, d.ExpiresAt)
						k.ExpiresAt = &t
					}
					return k
				}, "secret_hash", "secret_prefix", "secret_issued_at")
		},
		func() error { return a.guards(cur.Guards, next.Guards) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	// Deletes run in reverse registration order: keys before teams before organizations, and
	// principals before the servers, groups and toolsets their entries named.
	for i := len(a.deletes) - 1; i >= 0; i-- {
		if err := a.deletes[i](); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) servers(before, after []models.ServerDoc) error {
	c := diffByName(before, after, func(s *models.ServerDoc) string { return s.Name })
	for _, p := range append(c.created, c.updated...) {
		b, d := p[0], p[1]
		row := models.Server{Name: d.Name, URL: d.URL, Public: d.Public, UpdatedAt: a.now}
		if b == nil {
			row.CreatedAt = a.now
			if err := a.tx.Create(&row).Error; err != nil {
				return err
			}
			a.setID(models.KindServer, d.Name, row.ID)
			a.audit("create", models.KindServer, d.Name, nil, d)
		} else {
			row.ID = a.st.id(models.KindServer, d.Name)
			if err := a.tx.Model(&row).Select("url", "public", "updated_at").Updates(&row).Error; err != nil {
				return err
			}
			if err := a.tx.Where("server_id = ?", row.ID).Delete(&models.ServerTool{}).Error; err != nil {
				return err
			}
			a.audit("update", models.KindServer, d.Name, b, d)
		}
		disabled := map[string]bool{}
		for _, t := range d.DisabledTools {
			disabled[t] = true
		}
		tools := make([]models.ServerTool, len(d.Tools))
		for i, t := range d.Tools {
			tools[i] = models.ServerTool{ServerID: row.ID, Name: t.Name, Description: t.Description, InputSchema: t.InputSchema, Disabled: disabled[t.Name]}
		}
		if len(tools) > 0 {
			if err := a.tx.CreateInBatches(tools, a.insertBatch()).Error; err != nil {
				return err
			}
		}
	}
	for _, d := range c.deleted {
		d := d
		a.audit("delete", models.KindServer, d.Name, d, nil)
		a.deletes = append(a.deletes, func() error {
			return a.tx.Delete(&models.Server{}, a.st.id(models.KindServer, d.Name)).Error
		})
	}
	return nil
}

func (a *applier) accessGroups(before, after []models.AccessGroupDoc) error {
	return syncSets(a, models.KindAccessGroup, before, after, "access_group_id",
		func(g *models.AccessGroupDoc) string { return g.Name },
		func(name string) setRow { return &models.AccessGroup{Name: name, CreatedAt: a.now, UpdatedAt: a.now} },
		func(id int64, g *models.AccessGroupDoc) []models.AccessGroupServer {
			rows := make([]models.AccessGroupServer, len(g.Servers))
			for i, s := range g.Servers {
				rows[i] = models.AccessGroupServer{AccessGroupID: id, ServerID: a.st.id(models.KindServer, s)}
			}
			return rows
		})
}

func (a *applier) toolsets(before, after []models.ToolsetDoc) error {
	return syncSets(a, models.KindToolset, before, after, "toolset_id",
		func(t *models.ToolsetDoc) string { return t.Name },
		func(name string) setRow { return &models.Toolset{Name: name, CreatedAt: a.now, UpdatedAt: a.now} },
		func(id int64, t *models.ToolsetDoc) []models.ToolsetTool {
			rows := make([]models.ToolsetTool, 0, len(t.Tools))
			for _, st := range t.Tools {
				server, tool, _ := models.SplitTool(st)
				rows = append(rows, models.ToolsetTool{ToolsetID: id, ServerID: a.st.id(models.KindServer, server), Tool: tool})
			}
			return rows
		})
}

func action(created bool) string {
	if created {
		return "create"
	}
	return "update"
}

// setRow is the row of a named set (an access group or a toolset).
type setRow interface{ GetID() int64 }

// syncSets creates, updates and deletes one kind of named set to match after. A set is a row
// plus member rows (M, pointing at it through parentFK) that are replaced whole on update.
func syncSets[D any, M any](a *applier, kind string, before, after []D, parentFK string,
	name func(*D) string, newRow func(name string) setRow, members func(id int64, d *D) []M) error {
	c := diffByName(before, after, name)
	for _, p := range append(c.created, c.updated...) {
		b, d := p[0], p[1]
		row := newRow(name(d))
		var id int64
		if b == nil {
			if err := a.tx.Create(row).Error; err != nil {
				return err
			}
			id = row.GetID()
			a.setID(kind, name(d), id)
		} else {
			id = a.st.id(kind, name(d))
			if err := a.tx.Model(row).Where("id = ?", id).Update("updated_at", a.now).Error; err != nil {
				return err
			}
			if err := a.tx.Where(parentFK+" = ?", id).Delete(new(M)).Error; err != nil {
				return err
			}
		}
		if rows := members(id, d); len(rows) > 0 {
			if err := a.tx.CreateInBatches(rows, a.insertBatch()).Error; err != nil {
				return err
			}
		}
		a.audit(action(b == nil), kind, name(d), b, d)
	}
	for _, d := range c.deleted {
		a.audit("delete", kind, name(d), d, nil)
		a.deletes = append(a.deletes, func() error {
			return a.tx.Delete(newRow(name(d)), a.st.id(kind, name(d))).Error
		})
	}
	return nil
}

// levelOf is what every permission level shares, for syncLevels.
type levelOf struct {
	name string
	mcp  *models.MCPPermission
	deny []string
}

// levelRow is a level's GORM row (Organization, Team, Key, EndUser, Agent embed models.Level).
type levelRow[R any] interface {
	*R
	Base() *models.Level
}

// syncLevels creates, updates and deletes one kind of level to match after, replacing the MCP
// entries of every level it writes. row builds the kind's own columns (foreign keys resolved
// through the ids known so far); keep lists columns an update must never overwrite.
func syncLevels[D any, R any, PR levelRow[R]](a *applier, kind string, before, after []D,
	level func(*D) levelOf, row func(*D) PR, keep ...string) error {
	c := diffByName(before, after, func(d *D) string { return level(d).name })
	if len(c.created) > 0 {
		rows := make([]R, len(c.created))
		for i, p := range c.created {
			l := level(p[1])
			rows[i] = *row(p[1])
			base := PR(&rows[i]).Base()
			base.Name, base.MCPRestricted, base.CreatedAt, base.UpdatedAt = l.name, l.mcp != nil, a.now, a.now
		}
		if err := a.tx.CreateInBatches(rows, a.insertBatch()).Error; err != nil {
			return err
		}
		for i, p := range c.created {
			a.setID(kind, level(p[1]).name, PR(&rows[i]).Base().ID)
			a.audit("create", kind, level(p[1]).name, nil, p[1])
		}
	}
	var rewritten []int64
	for _, p := range c.updated {
		l := level(p[1])
		r := row(p[1])
		base := r.Base()
		base.ID, base.Name, base.MCPRestricted, base.UpdatedAt = a.st.id(kind, l.name), l.name, l.mcp != nil, a.now
		omit := append([]string{"id", "name", "created_at"}, keep...)
		if err := a.tx.Model(r).Select("*").Omit(omit...).Updates(r).Error; err != nil {
			return err
		}
		rewritten = append(rewritten, base.ID)
		a.audit("update", kind, l.name, p[0], p[1])
	}
	if err := a.deleteEntries(kind, rewritten); err != nil {
		return err
	}
	var entries []models.MCPEntry
	for _, p := range append(c.created, c.updated...) {
		l := level(p[1])
		entries = append(entries, a.entries(kind, a.st.id(kind, l.name), l.mcp, l.deny)...)
	}
	if len(entries) > 0 {
		if err := a.tx.CreateInBatches(entries, a.insertBatch()).Error; err != nil {
			return err
		}
	}
	if len(c.deleted) > 0 {
		ids := make([]int64, len(c.deleted))
		for i, d := range c.deleted {
			ids[i] = a.st.id(kind, level(d).name)
			a.audit("delete", kind, level(d).name, d, nil)
		}
		a.deletes = append(a.deletes, func() error {
			if err := a.deleteEntries(kind, ids); err != nil {
				return err
			}
			for _, chunk := range chunks(ids) {
				if err := a.tx.Delete(new(R), chunk).Error; err != nil {
					return err
				}
			}
			return nil
		})
	}
	return nil
}

func (a *applier) deleteEntries(kind string, ids []int64) error {
	for _, chunk := range chunks(ids) {
		if err := a.tx.Where("principal_kind = ? AND principal_id IN ?", kind, chunk).Delete(&models.MCPEntry{}).Error; err != nil {
			return err
		}
	}
	return nil
}

func chunks(ids []int64) [][]int64 {
	var out [][]int64
	for len(ids) > 0 {
		n := min(len(ids), batchSize)
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	return out
}

// entries turns one level's permission and deny list into mcp_entries rows.
func (a *applier) entries(kind string, id int64, p *models.MCPPermission, deny []string) []models.MCPEntry {
	var out []models.MCPEntry
	add := func(e models.MCPEntry) {
		e.PrincipalKind, e.PrincipalID = kind, id
		out = append(out, e)
	}
	if p != nil {
		for _, s := range p.Servers {
			add(models.MCPEntry{Entry: "server", ServerID: a.idPtr(models.KindServer, s)})
		}
		for _, g := range p.AccessGroups {
			add(models.MCPEntry{Entry: "access_group", AccessGroupID: a.idPtr(models.KindAccessGroup, g)})
		}
		for _, t := range p.Toolsets {
			add(models.MCPEntry{Entry: "toolset", ToolsetID: a.idPtr(models.KindToolset, t)})
		}
		servers := make([]string, 0, len(p.Tools))
		for s := range p.Tools {
			servers = append(servers, s)
		}
		sort.Strings(servers)
		for _, s := range servers {
			if len(p.Tools[s]) == 0 {
				// A listed server with no tools grants nothing for it, which differs from the
				// server not being listed; an entry with no tool keeps that on record.
				add(models.MCPEntry{Entry: "tool", ServerID: a.idPtr(models.KindServer, s)})
			}
			for _, t := range p.Tools[s] {
				add(models.MCPEntry{Entry: "tool", ServerID: a.idPtr(models.KindServer, s), Tool: t})
			}
		}
	}
	for _, d := range deny {
		s, t, _ := models.SplitTool(d)
		add(models.MCPEntry{Entry: "deny", ServerID: a.idPtr(models.KindServer, s), Tool: t})
	}
	return out
}
