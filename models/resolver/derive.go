package resolver

import (
	"maps"
	"slices"

	"github.com/warden-mcp/warden/models"
)

// edits are entities to insert or replace (by name) in a derived snapshot.
type edits struct {
	orgs   []models.OrganizationDoc
	teams  []models.TeamDoc
	keys   []models.KeyDoc
	agents []models.AgentDoc
	users  []models.EndUserDoc
}

// WithOrganization returns a snapshot equal to Build of the same document with that
// organization inserted or replaced (by name). Only the organization, its teams, their keys and
// its teamless keys are recomputed; everything else is shared with s, which is not changed.
// Diff(s, result) compares only the recomputed principals.
func (s *Snapshot) WithOrganization(org models.OrganizationDoc) *Snapshot {
	return s.derive(edits{orgs: []models.OrganizationDoc{org}})
}

// WithTeam is WithOrganization for a team: the team and its keys are recomputed. A team may
// move to another organization.
func (s *Snapshot) WithTeam(team models.TeamDoc) *Snapshot {
	return s.derive(edits{teams: []models.TeamDoc{team}})
}

// WithKey is WithOrganization for a key: only the key is recomputed. A key may move to another
// team or organization and be bound to another agent.
func (s *Snapshot) WithKey(key models.KeyDoc) *Snapshot {
	return s.derive(edits{keys: []models.KeyDoc{key}})
}

// WithAgent is WithOrganization for an agent: the keys bound to it are recomputed.
func (s *Snapshot) WithAgent(agent models.AgentDoc) *Snapshot {
	return s.derive(edits{agents: []models.AgentDoc{agent}})
}

// WithEndUser is WithOrganization for an end user; no principal's access depends on end users
// (they only join a request's chain), so nothing is recomputed.
func (s *Snapshot) WithEndUser(user models.EndUserDoc) *Snapshot {
	return s.derive(edits{users: []models.EndUserDoc{user}})
}

// Update returns the snapshot of doc, reusing s: when servers, access groups and toolsets are
// unchanged and no organization, team, key, agent or end user was removed, only the principals
// under changed entities are recomputed (as with the With* methods) and Diff(s, result)
// compares only those; otherwise it is Build(doc). Either way the result equals Build(doc).
func (s *Snapshot) Update(doc *models.Document) *Snapshot {
	if doc == nil {
		doc = &models.Document{}
	}
	if !s.sameWorld(doc) {
		return Build(doc)
	}
	var e edits
	var ok bool
	if e.orgs, ok = changedEntities(s.orgs, s.orgIdx, doc.Organizations,
		func(r *orgRec) string { return r.name }, func(d *models.OrganizationDoc) string { return d.Name },
		func(r *orgRec, d *models.OrganizationDoc) bool { return eqOrg(r.doc, d) }); !ok {
		return Build(doc)
	}
	if e.teams, ok = changedEntities(s.teams, s.teamIdx, doc.Teams,
		func(r *teamRec) string { return r.name }, func(d *models.TeamDoc) string { return d.Name },
		func(r *teamRec, d *models.TeamDoc) bool { return eqTeam(r.doc, d) }); !ok {
		return Build(doc)
	}
	if e.keys, ok = changedEntities(s.keys, s.keyIdx, doc.Keys,
		func(r *keyRec) string { return r.name() }, func(d *models.KeyDoc) string { return d.Name },
		func(r *keyRec, d *models.KeyDoc) bool { return eqKey(r.doc, d) }); !ok {
		return Build(doc)
	}
	if e.agents, ok = changedEntities(s.agents, s.agentIdx, doc.Agents,
		func(r *agentRec) string { return r.name }, func(d *models.AgentDoc) string { return d.Name },
		func(r *agentRec, d *models.AgentDoc) bool {
			return eqLevel(r.doc.MCP, r.doc.DenyTools, d.MCP, d.DenyTools)
		}); !ok {
		return Build(doc)
	}
	if e.users, ok = changedEntities(s.users, s.userIdx, doc.EndUsers,
		func(r *userRec) string { return r.name }, func(d *models.EndUserDoc) string { return d.Name },
		func(r *userRec, d *models.EndUserDoc) bool {
			return eqLevel(r.doc.MCP, r.doc.DenyTools, d.MCP, d.DenyTools)
		}); !ok {
		return Build(doc)
	}
	return s.derive(e)
}

// changedEntities returns the documents that are new or differ from the snapshot's records.
// ok is false when an entity of the snapshot is missing from docs (a removal). Duplicate names
// in docs are ignored after the first, as Build does.
func changedEntities[R any, D any](recs []R, idx map[string]int32, docs []D,
	recName func(*R) string, docName func(*D) string, same func(*R, *D) bool) ([]D, bool) {
	var out []D
	if len(docs) == len(recs) {
		aligned := true
		for i := range docs {
			if docName(&docs[i]) != recName(&recs[i]) {
				aligned = false
				break
			}
		}
		if aligned {
			for i := range docs {
				if !same(&recs[i], &docs[i]) {
					out = append(out, docs[i])
				}
			}
			return out, true
		}
	}
	seen := make(map[string]bool, len(docs))
	matched := 0
	for i := range docs {
		d := &docs[i]
		name := docName(d)
		if seen[name] {
			continue
		}
		seen[name] = true
		if ri, ok := idx[name]; ok {
			matched++
			if same(&recs[ri], d) {
				continue
			}
		}
		out = append(out, *d)
	}
	return out, matched == len(recs)
}

// derive applies edits copy-on-write and recomputes the principals they can affect.
func (s *Snapshot) derive(e edits) *Snapshot {
	ns := *s
	ns.id, ns.parent = snapshotIDs.Add(1), s.id
	b := newBuilder(s.w)
	structural := false
	var teamIDs, keyIDs []int32
	var moved bool

	if len(e.orgs) > 0 {
		ns.orgs = slices.Clone(s.orgs)
		_, moved = putRecords(orgKind, &ns.orgs, &ns.orgIdx, s.orgIdx, e.orgs, b.orgRec, nil)
		structural = structural || moved
	}
	if len(e.agents) > 0 {
		ns.agents = slices.Clone(s.agents)
		_, moved = putRecords(agentKind, &ns.agents, &ns.agentIdx, s.agentIdx, e.agents, b.agentRec, nil)
		structural = structural || moved
	}
	if len(e.users) > 0 {
		// Nothing indexes end users: a new one changes no structure.
		ns.users = slices.Clone(s.users)
		putRecords(userKind, &ns.users, &ns.userIdx, s.userIdx, e.users, b.userRec, nil)
	}
	copiedTeams, copiedKeys := false, false
	copyTeams := func() {
		if !copiedTeams {
			ns.teams, copiedTeams = slices.Clone(ns.teams), true
		}
	}
	copyKeys := func() {
		if !copiedKeys {
			ns.keys, copiedKeys = slices.Clone(ns.keys), true
		}
	}
	if len(e.teams) > 0 {
		copyTeams()
		teamIDs, moved = putRecords(teamKind, &ns.teams, &ns.teamIdx, s.teamIdx, e.teams,
			func(d *models.TeamDoc) teamRec {
				r := b.teamRec(d)
				r.org = lookup(ns.orgIdx, d.Organization)
				return r
			},
			func(old *teamRec, d *models.TeamDoc) bool { return old.doc.Organization != d.Organization })
		structural = structural || moved
	}
	if len(e.keys) > 0 {
		copyKeys()
		keyIDs, moved = putRecords(keyKind, &ns.keys, &ns.keyIdx, s.keyIdx, e.keys,
			func(d *models.KeyDoc) keyRec {
				r := b.keyRec(d)
				ns.resolveKey(&r)
				return r
			},
			func(old *keyRec, d *models.KeyDoc) bool {
				return old.doc.Team != d.Team || old.doc.Organization != d.Organization || old.doc.Agent != d.Agent
			})
		structural = structural || moved
	}
	if structural {
		copyTeams()
		copyKeys()
		ns.resolveRefs()
		ns.idx = ns.buildIndex()
	}

	// Everything the edits can reach, in the derived snapshot's index (which indexes dangling
	// names too, so an entity that appears picks up whoever already referred to it).
	cs := &changeSet{}
	orgMark := make([]bool, len(ns.orgs))
	teamMark := make([]bool, len(ns.teams))
	keyMark := make([]bool, len(ns.keys))
	markKey := func(k int32) {
		if !keyMark[k] {
			keyMark[k] = true
			cs.keys = append(cs.keys, k)
		}
	}
	markTeam := func(t int32) {
		if !teamMark[t] {
			teamMark[t] = true
			cs.teams = append(cs.teams, t)
			for _, k := range ns.idx.keysByTeam[t] {
				markKey(k)
			}
		}
	}
	for _, o := range e.orgs {
		name := o.Name
		if i, ok := ns.orgIdx[name]; ok && !orgMark[i] {
			orgMark[i] = true
			cs.orgs = append(cs.orgs, i)
		}
		for _, t := range ns.idx.teamsByOrg[name] {
			markTeam(t)
		}
		for _, k := range ns.idx.teamlessByOrg[name] {
			markKey(k)
		}
	}
	for _, t := range teamIDs {
		markTeam(t)
	}
	for _, a := range e.agents {
		for _, k := range ns.idx.keysByAgent[a.Name] {
			markKey(k)
		}
	}
	for _, k := range keyIDs {
		markKey(k)
	}
	if len(cs.teams) > 0 {
		copyTeams()
	}
	if len(cs.keys) > 0 {
		copyKeys()
	}
	// In index order (cheaper than sorting the lists).
	cs.orgs, cs.teams, cs.keys = marked(orgMark, cs.orgs), marked(teamMark, cs.teams), marked(keyMark, cs.keys)
	for _, i := range cs.orgs {
		b.computeOrg(&ns, i)
	}
	for _, i := range cs.teams {
		b.computeTeam(&ns, i)
	}
	for _, i := range cs.keys {
		b.computeKey(&ns, i)
	}
	ns.changed = cs
	return &ns
}

func marked(mark []bool, list []int32) []int32 {
	list = list[:0]
	for i, m := range mark {
		if m {
			list = append(list, int32(i))
		}
	}
	return list
}

// sameWorld reports whether doc's servers, access groups and toolsets resolve as s's do.
func (s *Snapshot) sameWorld(doc *models.Document) bool {
	a, b := s.w.cat, buildCatalogue(doc.Servers)
	if !sameIDSpace(a, b) || !slices.Equal(a.public, b.public) {
		return false
	}
	for i := range a.disabled {
		if !maps.Equal(a.disabled[i], b.disabled[i]) {
			return false
		}
	}
	return sameGroups(s.w.groupDocs, doc.AccessGroups) && sameToolsets(s.w.toolsetDocs, doc.Toolsets)
}

func sameGroups(have, docs []models.AccessGroupDoc) bool {
	return sameNamedLists(have, docs, func(g *models.AccessGroupDoc) (string, []string) { return g.Name, g.Servers })
}

func sameToolsets(have, docs []models.ToolsetDoc) bool {
	return sameNamedLists(have, docs, func(t *models.ToolsetDoc) (string, []string) { return t.Name, t.Tools })
}

// sameNamedLists reports whether docs (first of each name wins, as in Build) hold the same
// names, each with the same list, as have.
func sameNamedLists[D any](have, docs []D, list func(*D) (string, []string)) bool {
	m := map[string][]string{}
	for i := range docs {
		name, items := list(&docs[i])
		if _, dup := m[name]; !dup {
			m[name] = items
		}
	}
	if len(m) != len(have) {
		return false
	}
	for i := range have {
		name, items := list(&have[i])
		x, ok := m[name]
		if !ok || !slices.Equal(x, items) {
			return false
		}
	}
	return true
}

func eqMCP(a, b *models.MCPPermission) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if !slices.Equal(a.Servers, b.Servers) || !slices.Equal(a.AccessGroups, b.AccessGroups) ||
		!slices.Equal(a.Toolsets, b.Toolsets) || len(a.Tools) != len(b.Tools) {
		return false
	}
	for k, v := range a.Tools {
		w, ok := b.Tools[k]
		if !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}

func eqLevel(am *models.MCPPermission, ad []string, bm *models.MCPPermission, bd []string) bool {
	return slices.Equal(ad, bd) && eqMCP(am, bm)
}

func eqOrg(a, b *models.OrganizationDoc) bool {
	return a.Name == b.Name && a.Blocked == b.Blocked && eqLevel(a.MCP, a.DenyTools, b.MCP, b.DenyTools)
}

func eqTeam(a, b *models.TeamDoc) bool {
	return a.Name == b.Name && a.Organization == b.Organization && a.Blocked == b.Blocked &&
		eqLevel(a.MCP, a.DenyTools, b.MCP, b.DenyTools)
}

func eqKey(a, b *models.KeyDoc) bool {
	return a.Name == b.Name && a.Team == b.Team && a.Organization == b.Organization && a.Agent == b.Agent &&
		a.Blocked == b.Blocked && a.ExpiresAt == b.ExpiresAt && eqLevel(a.MCP, a.DenyTools, b.MCP, b.DenyTools)
}

// Changes compares two documents entity by entity and returns the scope of principals whose
// access can differ between them, for DiffScoped:
//   - a changed server (catalogue, disabled tools, public flag) can change anyone: All;
//   - a changed access group or toolset changes the organizations, teams and keys whose mcp
//     block names it, and the keys bound to agents whose mcp block names it;
//   - a changed, added or removed organization changes it, its teams, their keys and its
//     teamless keys; a team changes itself and its keys; an agent the keys bound to it; a key
//     itself; end users change no principal (they only join a request's chain).
func Changes(before, after *models.Document) Scope {
	if before == nil {
		before = &models.Document{}
	}
	if after == nil {
		after = &models.Document{}
	}
	bc, ac := buildCatalogue(before.Servers), buildCatalogue(after.Servers)
	if !sameIDSpace(bc, ac) || !slices.Equal(bc.public, ac.public) {
		return Scope{All: true}
	}
	for i := range bc.disabled {
		if !maps.Equal(bc.disabled[i], ac.disabled[i]) {
			return Scope{All: true}
		}
	}
	groups := changedNames(before.AccessGroups, after.AccessGroups, func(g *models.AccessGroupDoc) string { return g.Name },
		func(a, b *models.AccessGroupDoc) bool { return slices.Equal(a.Servers, b.Servers) })
	toolsets := changedNames(before.Toolsets, after.Toolsets, func(t *models.ToolsetDoc) string { return t.Name },
		func(a, b *models.ToolsetDoc) bool { return slices.Equal(a.Tools, b.Tools) })
	refers := func(p *models.MCPPermission) bool {
		if p == nil {
			return false
		}
		for _, g := range p.AccessGroups {
			if groups[g] {
				return true
			}
		}
		for _, t := range p.Toolsets {
			if toolsets[t] {
				return true
			}
		}
		return false
	}

	orgs := changedNames(before.Organizations, after.Organizations, func(o *models.OrganizationDoc) string { return o.Name }, eqOrg)
	teams := changedNames(before.Teams, after.Teams, func(t *models.TeamDoc) string { return t.Name }, eqTeam)
	keys := changedNames(before.Keys, after.Keys, func(k *models.KeyDoc) string { return k.Name }, eqKey)
	agents := changedNames(before.Agents, after.Agents, func(a *models.AgentDoc) string { return a.Name },
		func(a, b *models.AgentDoc) bool { return eqLevel(a.MCP, a.DenyTools, b.MCP, b.DenyTools) })
	for _, d := range []*models.Document{before, after} {
		if len(groups) > 0 || len(toolsets) > 0 {
			for i := range d.Organizations {
				if refers(d.Organizations[i].MCP) {
					orgs[d.Organizations[i].Name] = true
				}
			}
			for i := range d.Teams {
				if refers(d.Teams[i].MCP) {
					teams[d.Teams[i].Name] = true
				}
			}
			for i := range d.Keys {
				if refers(d.Keys[i].MCP) {
					keys[d.Keys[i].Name] = true
				}
			}
			for i := range d.Agents {
				if refers(d.Agents[i].MCP) {
					agents[d.Agents[i].Name] = true
				}
			}
		}
		if len(agents) > 0 {
			for i := range d.Keys {
				if agents[d.Keys[i].Agent] {
					keys[d.Keys[i].Name] = true
				}
			}
		}
	}
	return Scope{Organizations: sortedKeys(orgs), Teams: sortedKeys(teams), Keys: sortedKeys(keys)}
}

// changedNames returns the names of entities added, removed or changed between two lists
// (first of each name wins, as in Build).
func changedNames[D any](before, after []D, name func(*D) string, same func(a, b *D) bool) map[string]bool {
	out := map[string]bool{}
	if len(before) == len(after) {
		// Fast path: the same names in the same order. (With a duplicate name this may report a
		// later, ignored duplicate as changed: a larger scope, still correct.)
		aligned := true
		for i := range before {
			if name(&before[i]) != name(&after[i]) {
				aligned = false
				break
			}
		}
		if aligned {
			for i := range before {
				if !same(&before[i], &after[i]) {
					out[name(&after[i])] = true
				}
			}
			return out
		}
	}
	first := func(list []D) map[string]*D {
		m := make(map[string]*D, len(list))
		for i := range list {
			if _, dup := m[name(&list[i])]; !dup {
				m[name(&list[i])] = &list[i]
			}
		}
		return m
	}
	bm, am := first(before), first(after)
	for n, b := range bm {
		if a, ok := am[n]; !ok || !same(b, a) {
			out[n] = true
		}
	}
	for n := range am {
		if _, ok := bm[n]; !ok {
			out[n] = true
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
