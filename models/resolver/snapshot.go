package resolver

import (
	"slices"
	"sync/atomic"

	"github.com/warden-mcp/warden/models"
)

// Snapshot is a resolved permission state. It is immutable once returned: every method only
// reads it, so any number of goroutines may use one snapshot at once without locking. A new
// state means a new snapshot (Build, or one of the With*/Update derivations, which share every
// part the change does not touch).
type Snapshot struct {
	id uint64
	w  *world

	orgs     []orgRec
	orgIdx   map[string]int32
	teams    []teamRec
	teamIdx  map[string]int32
	keys     []keyRec
	keyIdx   map[string]int32
	agents   []agentRec
	agentIdx map[string]int32
	users    []userRec
	userIdx  map[string]int32

	idx *index

	// lineage: set when this snapshot was derived from the snapshot with id parent; changed
	// lists every principal whose access was recomputed (in this snapshot's index space).
	parent  uint64
	changed *changeSet
}

var snapshotIDs atomic.Uint64

// world is the part of a state every principal shares: the catalogue, access groups and
// toolsets. Derived snapshots share it as long as none of it changes.
type world struct {
	cat         *catalogue
	groups      map[string][]int32 // access group -> server ids (dangling servers dropped)
	toolsets    map[string]*tset
	groupDocs   []models.AccessGroupDoc // private copies, first of each name
	toolsetDocs []models.ToolsetDoc
	public      *tset
	empty       *tset
}

// catalogue maps server and tool names to dense ids. Servers are numbered in name order and a
// server's catalogue tools (its tools minus disabled_tools) in name order, so two snapshots
// whose catalogues hold the same names share one id space and their sets compare directly.
type catalogue struct {
	names      []string
	idx        map[string]int32
	public     []bool
	tools      [][]string         // sorted catalogue tool names per server
	toolIdx    []map[string]int32 // tool name -> local id
	disabled   []map[string]bool  // disabled_tools as listed
	nw         []int32            // words per server
	base       []int32            // word offset of each server in a dense bitset
	totalWords int32
	mask       [][]uint64 // every catalogue tool of the server
	docs       []models.ServerDoc
	// pair finds server and tool in one lookup: server id << 32 | tool id.
	pair map[toolKey]uint64
}

type toolKey struct{ server, tool string }

type level struct {
	grant *tset // nil: the level has no mcp block and does not restrict
	deny  *tset // nil: deny_tools names no catalogue tool
}

type orgRec struct {
	name    string
	doc     *models.OrganizationDoc
	blocked bool
	level
	st    *state
	final *tset
}

type teamRec struct {
	name    string
	doc     *models.TeamDoc
	org     int32 // -1: none
	blocked bool
	level
	st    *state
	final *tset
}

// keyRec is kept small: Decide reads one per call, and a derivation copies the whole slice.
type keyRec struct {
	org     int32 // effective organization (the team's when the key has a team), -1: none
	team    int32 // -1: none (or a dangling team name)
	agent   int32 // bound agent, -1: none or not defined
	blocked bool  // the key's own flag
	// restricted: some level of [organization, team, key, bound agent] has an mcp block.
	restricted bool
	level
	st    *state // after the key level, before the agent
	final *tset  // with the bound agent; empty when blocked
	doc   *models.KeyDoc
}

func (k *keyRec) name() string { return k.doc.Name }

type agentRec struct {
	name string
	doc  *models.AgentDoc
	level
}

type userRec struct {
	name string
	doc  *models.EndUserDoc
	level
}

// index maps organizations to teams to keys, by the names the documents use (so a reference to
// an entity that does not exist yet is indexed too and picked up when it appears).
type index struct {
	teamsByOrg    map[string][]int32 // team.organization -> teams
	keysByTeam    [][]int32          // per team id
	teamlessByOrg map[string][]int32 // keys without an existing team, by key.organization
	keysByAgent   map[string][]int32 // key.agent -> keys
}

// state is the running result of combining levels: while restricted is false nothing has
// restricted yet; r is the intersection of every grant so far; d the union of every deny list.
// The result is (restricted ? r : public servers) minus d.
type state struct {
	restricted bool
	r          *tset
	d          *tset
}

type applyKey struct {
	st   *state
	g, d *tset
}

// builder carries the scratch and memo tables used while building or deriving a snapshot.
type builder struct {
	w       *world
	in      *interner
	d       *dense
	states  map[state]*state
	applied map[applyKey]*state
	finals  map[*state]*tset
	initial *state
}

func newBuilder(w *world) *builder {
	in := &interner{cat: w.cat, m: make(map[uint64][]*tset)}
	in.begin()
	b := &builder{w: w, in: in, d: newDense(w.cat),
		states: map[state]*state{}, applied: map[applyKey]*state{}, finals: map[*state]*tset{}}
	// Seed the interner with the shared sets so equal sets keep one pointer.
	b.in.empty = w.empty
	b.in.register(w.empty)
	b.in.register(w.public)
	for _, t := range w.toolsets {
		b.in.register(t)
	}
	b.initial = b.state(state{})
	return b
}

func (b *builder) state(s state) *state {
	if p, ok := b.states[s]; ok {
		return p
	}
	p := &s
	b.states[s] = p
	return p
}

// apply combines one more level into a running state.
func (b *builder) apply(st *state, l level) *state {
	if l.grant == nil && l.deny == nil {
		return st
	}
	k := applyKey{st, l.grant, l.deny}
	if p, ok := b.applied[k]; ok {
		return p
	}
	ns := *st
	if l.grant != nil {
		if !ns.restricted {
			ns.restricted, ns.r = true, l.grant
		} else {
			ns.r = b.in.intersect(ns.r, l.grant)
		}
	}
	if l.deny != nil {
		if ns.d == nil {
			ns.d = l.deny
		} else {
			ns.d = b.in.union(ns.d, l.deny)
		}
	}
	p := b.state(ns)
	b.applied[k] = p
	return p
}

func (b *builder) final(st *state) *tset {
	if f, ok := b.finals[st]; ok {
		return f
	}
	base := b.w.public
	if st.restricted {
		base = st.r
	}
	f := b.in.subtract(base, st.d)
	b.finals[st] = f
	return f
}

// Build resolves a document. The document is assumed validated, but Build never panics on a
// dangling reference: it ignores it (see the package comment). Build keeps private copies of
// what it needs; the caller may change doc afterwards.
func Build(doc *models.Document) *Snapshot {
	if doc == nil {
		doc = &models.Document{}
	}
	w := buildWorld(doc)
	b := newBuilder(w)
	s := &Snapshot{id: snapshotIDs.Add(1), w: w}

	s.orgs, s.orgIdx = records(orgKind, doc.Organizations, b.orgRec)
	s.teams, s.teamIdx = records(teamKind, doc.Teams, b.teamRec)
	s.agents, s.agentIdx = records(agentKind, doc.Agents, b.agentRec)
	s.users, s.userIdx = records(userKind, doc.EndUsers, b.userRec)
	s.keys, s.keyIdx = records(keyKind, doc.Keys, b.keyRec)

	s.resolveRefs()
	s.idx = s.buildIndex()
	for i := range s.orgs {
		b.computeOrg(s, int32(i))
	}
	for i := range s.teams {
		b.computeTeam(s, int32(i))
	}
	for i := range s.keys {
		b.computeKey(s, int32(i))
	}
	return s
}

// resolveRefs sets the organization, team and agent ids of every team and key from the names
// in their documents. Dangling names resolve to -1.
func (s *Snapshot) resolveRefs() {
	for i := range s.teams {
		s.teams[i].org = lookup(s.orgIdx, s.teams[i].doc.Organization)
	}
	for i := range s.keys {
		s.resolveKey(&s.keys[i])
	}
}

func (s *Snapshot) resolveKey(k *keyRec) {
	k.team, k.org = -1, -1
	if k.doc.Team != "" {
		k.team = lookup(s.teamIdx, k.doc.Team)
	}
	if k.team >= 0 {
		k.org = s.teams[k.team].org
	} else {
		k.org = lookup(s.orgIdx, k.doc.Organization)
	}
	k.agent = -1
	if k.doc.Agent != "" {
		k.agent = lookup(s.agentIdx, k.doc.Agent)
	}
}

func lookup(m map[string]int32, name string) int32 {
	if name == "" {
		return -1
	}
	if i, ok := m[name]; ok {
		return i
	}
	return -1
}

func (s *Snapshot) buildIndex() *index {
	x := &index{teamsByOrg: map[string][]int32{}, teamlessByOrg: map[string][]int32{}, keysByAgent: map[string][]int32{}}
	for i := range s.teams {
		o := s.teams[i].doc.Organization
		x.teamsByOrg[o] = append(x.teamsByOrg[o], int32(i))
	}
	count := make([]int32, len(s.teams)+1)
	for i := range s.keys {
		count[s.keys[i].team+1]++
	}
	all := make([]int32, len(s.keys))
	x.keysByTeam = make([][]int32, len(s.teams))
	pos := int32(count[0])
	for t := range s.teams {
		n := count[t+1]
		x.keysByTeam[t] = all[pos : pos : pos+n]
		pos += n
	}
	for i := range s.keys {
		k := &s.keys[i]
		if k.team >= 0 {
			x.keysByTeam[k.team] = append(x.keysByTeam[k.team], int32(i))
		} else {
			x.teamlessByOrg[k.doc.Organization] = append(x.teamlessByOrg[k.doc.Organization], int32(i))
		}
		if k.doc.Agent != "" {
			x.keysByAgent[k.doc.Agent] = append(x.keysByAgent[k.doc.Agent], int32(i))
		}
	}
	return x
}

func (b *builder) computeOrg(s *Snapshot, i int32) {
	o := &s.orgs[i]
	o.st = b.apply(b.initial, o.level)
	o.final = b.result(o.st, o.blocked)
}

func (b *builder) computeTeam(s *Snapshot, i int32) { b.computeTeamRec(s, &s.teams[i]) }

// computeTeamRec computes a team record against s's organizations.
func (b *builder) computeTeamRec(s *Snapshot, t *teamRec) {
	base, blocked := b.initial, t.blocked
	if t.org >= 0 {
		o := &s.orgs[t.org]
		base, blocked = o.st, blocked || o.blocked
	}
	t.st = b.apply(base, t.level)
	t.final = b.result(t.st, blocked)
}

// result is what a principal whose chain ends in st may use: nothing when blocked.
func (b *builder) result(st *state, blocked bool) *tset {
	if blocked {
		return b.in.empty
	}
	return b.final(st)
}

func (b *builder) computeKey(s *Snapshot, i int32) { b.computeKeyRec(s, &s.keys[i]) }

// computeKeyRec computes a key record (references resolved) against s's teams, organizations
// and agents.
func (b *builder) computeKeyRec(s *Snapshot, k *keyRec) {
	base, blocked := b.initial, k.blocked
	if k.team >= 0 {
		t := &s.teams[k.team]
		base, blocked = t.st, blocked || t.blocked
	} else if k.org >= 0 {
		base = s.orgs[k.org].st
	}
	if k.org >= 0 {
		blocked = blocked || s.orgs[k.org].blocked
	}
	k.st = b.apply(base, k.level)
	if blocked {
		k.final = b.in.empty
		return
	}
	st := k.st
	if k.agent >= 0 {
		st = b.apply(st, s.agents[k.agent].level)
	}
	k.restricted = st.restricted
	k.final = b.final(st)
}

// level compiles a level's mcp block and deny list.
func (b *builder) level(p *models.MCPPermission, deny []string) level {
	return level{grant: b.grant(p), deny: b.toolList(deny)}
}

// grant compiles an mcp block into the set it grants (rules 1-4 of the package comment).
func (b *builder) grant(p *models.MCPPermission) *tset {
	if p == nil {
		return nil
	}
	cat, d := b.w.cat, b.d
	for _, name := range p.Servers {
		if s, ok := cat.idx[name]; ok {
			d.setAll(s)
		}
	}
	for _, g := range p.AccessGroups {
		for _, s := range b.w.groups[g] {
			d.setAll(s)
		}
	}
	for name, tools := range p.Tools {
		s, ok := cat.idx[name]
		if !ok {
			continue
		}
		d.clearServer(s)
		for _, t := range tools {
			if id, ok := cat.toolIdx[s][t]; ok {
				d.set(s, id)
			}
		}
	}
	for _, ts := range p.Toolsets {
		d.or(b.w.toolsets[ts])
	}
	return d.emit(b.in)
}

// toolList compiles "server/tool" strings; entries outside the catalogue are dropped. An empty
// result is nil.
func (b *builder) toolList(list []string) *tset {
	if len(list) == 0 {
		return nil
	}
	cat := b.w.cat
	for _, e := range list {
		srv, tool, ok := models.SplitTool(e)
		if !ok {
			continue
		}
		s, ok := cat.idx[srv]
		if !ok {
			continue
		}
		if id, ok := cat.toolIdx[s][tool]; ok {
			b.d.set(s, id)
		}
	}
	t := b.d.emit(b.in)
	if t.empty() {
		return nil
	}
	return t
}

func buildCatalogue(servers []models.ServerDoc) *catalogue {
	docs := make([]models.ServerDoc, 0, len(servers))
	seen := make(map[string]bool, len(servers))
	for _, s := range servers {
		if seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		s.Tools, s.DisabledTools = slices.Clone(s.Tools), slices.Clone(s.DisabledTools)
		docs = append(docs, s)
	}
	slices.SortFunc(docs, func(a, b models.ServerDoc) int { return cmpString(a.Name, b.Name) })
	n := len(docs)
	c := &catalogue{names: make([]string, n), idx: make(map[string]int32, n), public: make([]bool, n),
		tools: make([][]string, n), toolIdx: make([]map[string]int32, n), disabled: make([]map[string]bool, n),
		nw: make([]int32, n), base: make([]int32, n), mask: make([][]uint64, n), docs: docs, pair: map[toolKey]uint64{}}
	for i, d := range docs {
		c.names[i] = d.Name
		c.idx[d.Name] = int32(i)
		c.public[i] = d.Public
		dis := make(map[string]bool, len(d.DisabledTools))
		for _, t := range d.DisabledTools {
			dis[t] = true
		}
		c.disabled[i] = dis
		var tools []string
		for _, t := range d.Tools {
			if !dis[t.Name] {
				tools = append(tools, t.Name)
			}
		}
		slices.Sort(tools)
		tools = slices.Compact(tools)
		c.tools[i] = tools
		c.toolIdx[i] = make(map[string]int32, len(tools))
		for j, t := range tools {
			c.toolIdx[i][t] = int32(j)
			c.pair[toolKey{d.Name, t}] = uint64(i)<<32 | uint64(j)
		}
		nw := int32((len(tools) + 63) / 64)
		c.nw[i], c.base[i] = nw, c.totalWords
		c.totalWords += nw
		m := make([]uint64, nw)
		for j := range tools {
			m[j>>6] |= 1 << (uint(j) & 63)
		}
		c.mask[i] = m
	}
	return c
}

func buildWorld(doc *models.Document) *world {
	cat := buildCatalogue(doc.Servers)
	w := &world{cat: cat, groups: map[string][]int32{}, toolsets: map[string]*tset{}}
	in := newInterner(cat)
	d := newDense(cat)
	for _, g := range doc.AccessGroups {
		if _, dup := w.groups[g.Name]; dup {
			continue
		}
		g.Servers = slices.Clone(g.Servers)
		w.groupDocs = append(w.groupDocs, g)
		ids := []int32{}
		for _, name := range g.Servers {
			if s, ok := cat.idx[name]; ok {
				ids = append(ids, s)
			}
		}
		w.groups[g.Name] = ids
	}
	for _, t := range doc.Toolsets {
		if _, dup := w.toolsets[t.Name]; dup {
			continue
		}
		t.Tools = slices.Clone(t.Tools)
		w.toolsetDocs = append(w.toolsetDocs, t)
		for _, e := range t.Tools {
			srv, tool, ok := models.SplitTool(e)
			if !ok {
				continue
			}
			if s, ok := cat.idx[srv]; ok {
				if id, ok := cat.toolIdx[s][tool]; ok {
					d.set(s, id)
				}
			}
		}
		w.toolsets[t.Name] = d.emit(in)
	}
	for i := range cat.names {
		if cat.public[i] {
			d.setAll(int32(i))
		}
	}
	w.public = d.emit(in)
	w.empty = in.empty
	return w
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sameIDSpace reports whether two catalogues number servers and tools identically, so sets of
// one can be compared with sets of the other.
func sameIDSpace(a, b *catalogue) bool {
	if a == b {
		return true
	}
	if len(a.names) != len(b.names) {
		return false
	}
	for i := range a.names {
		if a.names[i] != b.names[i] || !slices.Equal(a.tools[i], b.tools[i]) {
			return false
		}
	}
	return true
}
