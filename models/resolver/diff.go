package resolver

import (
	"slices"
	"strings"
)

// PrincipalKind is the kind of a principal whose access can be listed, explained and diffed.
type PrincipalKind string

const (
	KindOrganization PrincipalKind = "organization"
	KindTeam         PrincipalKind = "team"
	KindKey          PrincipalKind = "key"
)

func kindRank(k PrincipalKind) int {
	switch k {
	case KindOrganization:
		return 0
	case KindTeam:
		return 1
	}
	return 2
}

// PrincipalDiff is the change of one principal's access. Gained and Lost are never nil, and
// may be shared between entries of one DiffResult: treat them as read-only.
type PrincipalDiff struct {
	Kind   PrincipalKind `json:"kind"`
	Name   string        `json:"name"`
	Gained Access        `json:"gained"`
	Lost   Access        `json:"lost"`
	// Organization is a team's or key's organization, Team a key's team (from the after state,
	// or the before state for a principal that no longer exists); for grouping in the UI.
	Organization string `json:"-"`
	Team         string `json:"-"`

	gained, lost int // tool counts, for the summary
	// pair is the change this entry shares with every entry whose before and after sets are
	// the same (ByTool counts it once); nil for an entry built outside the package.
	pair *pairDiff
}

// DiffSummary counts a diff. ToolsGained and ToolsLost add up every principal's gained and
// lost tools, so one tool gained by three keys counts three times.
type DiffSummary struct {
	Principals           int `json:"principals"`
	OrganizationsGaining int `json:"organizations_gaining"`
	OrganizationsLosing  int `json:"organizations_losing"`
	TeamsGaining         int `json:"teams_gaining"`
	TeamsLosing          int `json:"teams_losing"`
	KeysGaining          int `json:"keys_gaining"`
	KeysLosing           int `json:"keys_losing"`
	ToolsGained          int `json:"tools_gained"`
	ToolsLost            int `json:"tools_lost"`
}

// DiffResult lists every organization, team and key whose access differs between two states,
// organizations first, then teams, then keys, each by name. Principals without change are left
// out; a principal that exists on one side only gains or loses everything it has there.
type DiffResult struct {
	Principals []PrincipalDiff `json:"principals"`
	Summary    DiffSummary     `json:"summary"`
}

// Empty reports whether nothing changed.
func (d DiffResult) Empty() bool { return len(d.Principals) == 0 }

// Lines renders the diff for people, one line per principal and change.
func (d DiffResult) Lines() []string {
	var out []string
	for _, p := range d.Principals {
		head := string(p.Kind) + " " + quote(p.Name)
		if len(p.Gained) > 0 {
			out = append(out, head+" gains "+p.Gained.String())
		}
		if len(p.Lost) > 0 {
			out = append(out, head+" loses "+p.Lost.String())
		}
	}
	return out
}

func (d DiffResult) String() string { return strings.Join(d.Lines(), "\n") }

// Scope names what changed between two states, so a diff only looks at principals that can
// have changed: each organization with its teams, their keys and its teamless keys; each team
// with its keys; each key. All means everything.
type Scope struct {
	All           bool     `json:"all,omitempty"`
	Organizations []string `json:"organizations,omitempty"`
	Teams         []string `json:"teams,omitempty"`
	Keys          []string `json:"keys,omitempty"`
}

// Empty reports whether the scope names nothing.
func (sc Scope) Empty() bool {
	return !sc.All && len(sc.Organizations) == 0 && len(sc.Teams) == 0 && len(sc.Keys) == 0
}

// changeSet lists the principals a derivation recomputed, by index in the derived snapshot.
// Indices below the parent's lengths name the same principal in both snapshots.
type changeSet struct {
	orgs, teams, keys []int32
}

// Diff lists the access changes from before to after (a nil snapshot is the empty state). It
// is always exact. When one snapshot
// was derived from the other (With*, Update), only the principals the derivation recomputed
// are compared; otherwise every principal is, which is cheap because snapshots are resolved:
// equal sets are one pointer or one hash apart.
func Diff(before, after *Snapshot) DiffResult {
	if before == nil {
		before = Build(nil)
	}
	if after == nil {
		after = Build(nil)
	}
	if after.parent == before.id && after.changed != nil {
		return newDiffer(before, after).indexed(after.changed, true)
	}
	if before.parent == after.id && before.changed != nil {
		return newDiffer(before, after).indexed(before.changed, false)
	}
	return DiffScoped(before, after, Scope{All: true})
}

// expand names the organizations, teams and keys under sc (which must not be All), looked up
// in both snapshots: each organization with its teams, their keys and its teamless keys; each
// team with its keys; each key.
func (sc Scope) expand(before, after *Snapshot) (orgs, teams, keys map[string]bool) {
	orgs, teams, keys = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range []*Snapshot{before, after} {
		addKeys := func(ids []int32) {
			for _, k := range ids {
				keys[s.keys[k].name()] = true
			}
		}
		addTeam := func(name string) {
			teams[name] = true
			if ti, ok := s.teamIdx[name]; ok {
				addKeys(s.idx.keysByTeam[ti])
			}
		}
		for _, o := range sc.Organizations {
			orgs[o] = true
			for _, t := range s.idx.teamsByOrg[o] {
				addTeam(s.teams[t].name)
			}
			addKeys(s.idx.teamlessByOrg[o])
		}
		for _, t := range sc.Teams {
			addTeam(t)
		}
		for _, k := range sc.Keys {
			keys[k] = true
		}
	}
	return orgs, teams, keys
}

// DiffScoped is Diff restricted to the principals under scope (see Scope), looked up in both
// snapshots. It is exact when scope covers every change, for instance a scope from Changes.
func DiffScoped(before, after *Snapshot, scope Scope) DiffResult {
	if before == nil {
		before = Build(nil)
	}
	if after == nil {
		after = Build(nil)
	}
	d := newDiffer(before, after)
	if scope.All {
		return d.all()
	}
	orgs, teams, keys := scope.expand(before, after)
	for name := range orgs {
		d.byName(KindOrganization, name)
	}
	for name := range teams {
		d.byName(KindTeam, name)
	}
	for name := range keys {
		d.byName(KindKey, name)
	}
	return d.result()
}

type pairDiff struct {
	gained, lost Access
	ng, nl       int
}

type differ struct {
	before, after *Snapshot
	sameIDs       bool
	in            *interner
	memo          map[[2]*tset]*pairDiff
	access        map[*tset]Access // gained and lost sets are interned: one Access each
	names         map[srvWord][]string
	byKind        [3][]PrincipalDiff
	empty         pairDiff
}

func newDiffer(before, after *Snapshot) *differ {
	d := &differ{before: before, after: after, sameIDs: sameIDSpace(before.w.cat, after.w.cat),
		memo: map[[2]*tset]*pairDiff{}, access: map[*tset]Access{}, names: map[srvWord][]string{}}
	if d.sameIDs {
		d.in = &interner{cat: after.w.cat, m: map[uint64][]*tset{}}
		d.in.begin()
		d.in.empty = d.in.finish()
	}
	return d
}

// pair diffs two resolved sets (nil = principal absent = nothing).
func (d *differ) pair(b, a *tset) *pairDiff {
	if d.sameIDs && sameSet(b, a) {
		return &d.empty
	}
	k := [2]*tset{b, a}
	if p, ok := d.memo[k]; ok {
		return p
	}
	p := &pairDiff{}
	if d.sameIDs {
		g, l := d.in.subtract(a, b), d.in.subtract(b, a)
		p.gained, p.lost, p.ng, p.nl = d.accessOf(g), d.accessOf(l), g.n, l.n
	} else {
		before, after := d.before.w.cat.access(b), d.after.w.cat.access(a)
		p.gained, p.ng = minus(after, before)
		p.lost, p.nl = minus(before, after)
	}
	d.memo[k] = p
	return p
}

func (d *differ) accessOf(t *tset) Access {
	if a, ok := d.access[t]; ok {
		return a
	}
	cat := d.after.w.cat
	a := make(Access, t.ns)
	for i := 0; i < t.ns; i++ {
		s, w := t.server(i), t.words(i)
		if len(w) != 1 {
			a[cat.names[s]] = cat.toolNames(s, w)
			continue
		}
		k := srvWord{s, w[0]}
		names, ok := d.names[k]
		if !ok {
			names = cat.toolNames(s, w)
			d.names[k] = names
		}
		a[cat.names[s]] = names
	}
	d.access[t] = a
	return a
}

type srvWord struct {
	s int32
	w uint64
}

// minus is a - b by names.
func minus(a, b Access) (Access, int) {
	out, n := Access{}, 0
	for s, tools := range a {
		var keep []string
		for _, t := range tools {
			if !b.Has(s, t) {
				keep = append(keep, t)
			}
		}
		if len(keep) > 0 {
			out[s] = keep
			n += len(keep)
		}
	}
	return out, n
}

func (d *differ) emit(kind PrincipalKind, name, org, team string, b, a *tset) {
	p := d.pair(b, a)
	if p.ng == 0 && p.nl == 0 {
		return
	}
	d.byKind[kindRank(kind)] = append(d.byKind[kindRank(kind)], PrincipalDiff{Kind: kind, Name: name,
		Gained: p.gained, Lost: p.lost, Organization: org, Team: team, gained: p.ng, lost: p.nl, pair: p})
}

// placement returns the organization and team names of a principal for PrincipalDiff.
func placement(s *Snapshot, kind PrincipalKind, i int32) (string, string) {
	switch kind {
	case KindTeam:
		return s.orgName(s.teams[i].org), ""
	case KindKey:
		return s.orgName(s.keys[i].org), s.teamName(s.keys[i].team)
	}
	return "", ""
}

func (s *Snapshot) finalOf(kind PrincipalKind, i int32) *tset {
	switch kind {
	case KindOrganization:
		return s.orgs[i].final
	case KindTeam:
		return s.teams[i].final
	}
	return s.keys[i].final
}

func (s *Snapshot) lookupKind(kind PrincipalKind, name string) (int32, bool) {
	var i int32
	var ok bool
	switch kind {
	case KindOrganization:
		i, ok = s.orgIdx[name]
	case KindTeam:
		i, ok = s.teamIdx[name]
	default:
		i, ok = s.keyIdx[name]
	}
	return i, ok
}

func (s *Snapshot) count(kind PrincipalKind) int {
	switch kind {
	case KindOrganization:
		return len(s.orgs)
	case KindTeam:
		return len(s.teams)
	}
	return len(s.keys)
}

func (s *Snapshot) nameOf(kind PrincipalKind, i int32) string {
	switch kind {
	case KindOrganization:
		return s.orgs[i].name
	case KindTeam:
		return s.teams[i].name
	}
	return s.keys[i].name()
}

// byName diffs one principal looked up by name on both sides.
func (d *differ) byName(kind PrincipalKind, name string) {
	bi, bok := d.before.lookupKind(kind, name)
	ai, aok := d.after.lookupKind(kind, name)
	var b, a *tset
	var org, team string
	if bok {
		b = d.before.finalOf(kind, bi)
		org, team = placement(d.before, kind, bi)
	}
	if aok {
		a = d.after.finalOf(kind, ai)
		org, team = placement(d.after, kind, ai)
	}
	if !bok && !aok {
		return
	}
	d.emit(kind, name, org, team, b, a)
}

// all diffs every principal of both snapshots, matching by index first (derived and
// identically ordered snapshots line up) and by name otherwise.
func (d *differ) all() DiffResult {
	for _, kind := range []PrincipalKind{KindOrganization, KindTeam, KindKey} {
		nb, na := d.before.count(kind), d.after.count(kind)
		matched := 0
		for i := int32(0); i < int32(na); i++ {
			name := d.after.nameOf(kind, i)
			a := d.after.finalOf(kind, i)
			var b *tset
			if int(i) < nb && d.before.nameOf(kind, i) == name {
				b, matched = d.before.finalOf(kind, i), matched+1
			} else if bi, ok := d.before.lookupKind(kind, name); ok {
				b, matched = d.before.finalOf(kind, bi), matched+1
			}
			if d.sameIDs && sameSet(b, a) {
				continue
			}
			org, team := placement(d.after, kind, i)
			d.emit(kind, name, org, team, b, a)
		}
		if matched == nb {
			continue
		}
		for i := int32(0); i < int32(nb); i++ {
			name := d.before.nameOf(kind, i)
			if _, ok := d.after.lookupKind(kind, name); ok {
				continue
			}
			org, team := placement(d.before, kind, i)
			d.emit(kind, name, org, team, d.before.finalOf(kind, i), nil)
		}
	}
	return d.result()
}

// indexed diffs the principals of a derivation's change set. inAfter says which snapshot the
// indices belong to (the derived one); the other snapshot has the same principal at the same
// index when the index is below its length.
func (d *differ) indexed(cs *changeSet, inAfter bool) DiffResult {
	derived, other := d.after, d.before
	if !inAfter {
		derived, other = d.before, d.after
	}
	do := func(kind PrincipalKind, ids []int32) {
		for _, i := range ids {
			x := derived.finalOf(kind, i)
			var y *tset
			if int(i) < other.count(kind) {
				y = other.finalOf(kind, i)
			}
			org, team := placement(derived, kind, i)
			b, a := y, x
			if !inAfter {
				b, a = x, y
			}
			d.emit(kind, derived.nameOf(kind, i), org, team, b, a)
		}
	}
	d.byKind[0] = make([]PrincipalDiff, 0, len(cs.orgs))
	d.byKind[1] = make([]PrincipalDiff, 0, len(cs.teams))
	d.byKind[2] = make([]PrincipalDiff, 0, len(cs.keys))
	do(KindOrganization, cs.orgs)
	do(KindTeam, cs.teams)
	do(KindKey, cs.keys)
	return d.result()
}

func (d *differ) result() DiffResult {
	var r DiffResult
	n := 0
	for _, l := range d.byKind {
		n += len(l)
	}
	// Sort small (name, position) pairs rather than the entries themselves.
	r.Principals = make([]PrincipalDiff, 0, n)
	type ref struct {
		name string
		i    int
	}
	var refs []ref
	for _, l := range d.byKind {
		refs = refs[:0]
		for i := range l {
			refs = append(refs, ref{l[i].Name, i})
		}
		slices.SortFunc(refs, func(a, b ref) int { return strings.Compare(a.name, b.name) })
		for _, x := range refs {
			r.Principals = append(r.Principals, l[x.i])
		}
	}
	sm := &r.Summary
	sm.Principals = len(r.Principals)
	for i := range r.Principals {
		p := &r.Principals[i]
		if p.Gained == nil {
			p.Gained = Access{}
		}
		if p.Lost == nil {
			p.Lost = Access{}
		}
		g, l := p.gained, p.lost
		sm.ToolsGained += g
		sm.ToolsLost += l
		var gaining, losing *int
		switch p.Kind {
		case KindOrganization:
			gaining, losing = &sm.OrganizationsGaining, &sm.OrganizationsLosing
		case KindTeam:
			gaining, losing = &sm.TeamsGaining, &sm.TeamsLosing
		default:
			gaining, losing = &sm.KeysGaining, &sm.KeysLosing
		}
		if g > 0 {
			*gaining++
		}
		if l > 0 {
			*losing++
		}
	}
	return r
}

func quote(s string) string { return `"` + s + `"` }
