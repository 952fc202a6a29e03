package resolver

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/warden-mcp/warden/models"
)

// GuardViolation is one principal breaking a guard: the guarded tools it may call.
type GuardViolation struct {
	Kind PrincipalKind `json:"kind"`
	Name string        `json:"name"`
	// Tools are "server/tool", by server, then tool.
	Tools []string `json:"tools"`
}

// GuardReport is one guard's violations on a snapshot, keys by name; none when it holds.
type GuardReport struct {
	Name       string           `json:"name"`
	Violations []GuardViolation `json:"violations"`
}

// CheckGuards evaluates every guard on the snapshot, in the order given, and reports each one,
// with no violations when it holds. Guards apply to keys, with their whole resolved access
// ([organization, team, key, bound agent]):
//
//   - forbid: every key in scope that may call a catalogue tool matching one of the patterns
//     violates it, with those tools (see models.MatchToolPattern);
//   - tool with at_most: when more keys in scope than at_most may call the tool, every one of
//     them violates it (a tool outside the catalogue is called by nobody).
//
// A key is in scope as models.GuardScope says; an organization is the key's effective one (its
// team's, or its own when teamless), as in decisions. Blocked keys may call nothing, so they
// never violate a guard.
func (s *Snapshot) CheckGuards(guards []models.GuardDoc) []GuardReport {
	out := make([]GuardReport, len(guards))
	for i := range guards {
		out[i] = newGuardChecker(s, &guards[i]).check(s)
	}
	return out
}

// CheckGuardChange is CheckGuards on both snapshots and AddedViolations between them, which is
// what a preview and a save need. When after was derived from before (or their catalogues are
// alike), the work is shared: each distinct access is matched once for both, and the
// violations both have are recognised without comparing them tool by tool.
func CheckGuardChange(before, after *Snapshot, guards []models.GuardDoc) (now, next, added []GuardReport) {
	now, next = make([]GuardReport, len(guards)), make([]GuardReport, len(guards))
	shared := sameIDSpace(before.w.cat, after.w.cat)
	for i := range guards {
		c := newGuardChecker(before, &guards[i])
		now[i] = c.check(before)
		if !shared {
			c = newGuardChecker(after, &guards[i])
		}
		next[i] = c.check(after)
	}
	return now, next, AddedViolations(now, next)
}

// guardMask is the catalogue tools a guard is about: per server id, a bitset over the server's
// tools (nil: none of them), and each tool's "server/tool" name, made when first needed.
type guardMask struct {
	words [][]uint64
	names [][]string
	any   bool
}

// guardChecker evaluates one guard on snapshots sharing a catalogue's id space.
type guardChecker struct {
	g    *models.GuardDoc
	mask guardMask
	// memo holds the matched tools of each distinct access: keys with equal access mostly share
	// one resolved set, and otherwise its content (a derivation makes new sets equal to old
	// ones), so each access is matched once and equal accesses get the same slice.
	memo   map[*tset][]string
	byHash map[uint64][]*tset
}

func newGuardChecker(s *Snapshot, g *models.GuardDoc) *guardChecker {
	return &guardChecker{g: g, mask: s.guardMask(g), memo: map[*tset][]string{}, byHash: map[uint64][]*tset{}}
}

func (c *guardChecker) check(s *Snapshot) GuardReport {
	g := c.g
	r := GuardReport{Name: g.Name, Violations: []GuardViolation{}}
	if !c.mask.any {
		return r
	}
	inScope := s.scopeOf(g.For)
	for i := range s.keys {
		k := &s.keys[i]
		if !inScope(k) {
			continue
		}
		if may := c.matched(s, k.final); len(may) > 0 {
			r.Violations = append(r.Violations, GuardViolation{Kind: KindKey, Name: k.name(), Tools: may})
		}
	}
	if !g.IsForbid() && (g.AtMost == nil || len(r.Violations) <= *g.AtMost) {
		r.Violations = r.Violations[:0]
	}
	slices.SortFunc(r.Violations, func(a, b GuardViolation) int { return strings.Compare(a.Name, b.Name) })
	return r
}

// matched is the guarded tools of t, memoized.
func (c *guardChecker) matched(s *Snapshot, t *tset) []string {
	if may, ok := c.memo[t]; ok {
		return may
	}
	h := t.hashOf()
	for _, o := range c.byHash[h] {
		if sameSet(o, t) {
			c.memo[t] = c.memo[o]
			return c.memo[o]
		}
	}
	may := s.masked(t, &c.mask)
	c.memo[t] = may
	c.byHash[h] = append(c.byHash[h], t)
	return may
}

// guardMask marks the catalogue tools a guard names: its tool, or every tool matching one of
// its patterns.
func (s *Snapshot) guardMask(g *models.GuardDoc) guardMask {
	cat := s.w.cat
	m := guardMask{words: make([][]uint64, len(cat.names)), names: make([][]string, len(cat.names))}
	set := func(si, ti int) {
		if m.words[si] == nil {
			m.words[si] = make([]uint64, cat.nw[si])
		}
		m.words[si][ti>>6] |= 1 << (uint(ti) & 63)
		m.any = true
	}
	if !g.IsForbid() {
		server, tool, _ := models.SplitTool(g.Tool)
		if p, ok := cat.pair[toolKey{server, tool}]; ok {
			set(int(p>>32), int(uint32(p)))
		}
		return m
	}
	for si, server := range cat.names {
		for ti, tool := range cat.tools[si] {
			for _, pat := range g.Forbid {
				if models.MatchToolPattern(pat, server, tool) {
					set(si, ti)
					break
				}
			}
		}
	}
	return m
}

// hashOf is the set's hash, 0 for the empty set (nil or not).
func (t *tset) hashOf() uint64 {
	if t.empty() {
		return 0
	}
	return t.hash
}

// masked lists the tools of t the mask marks, by server then tool name.
func (s *Snapshot) masked(t *tset, m *guardMask) []string {
	var out []string
	for i := 0; i < t.ns; i++ {
		si := t.server(i)
		mw := m.words[si]
		if mw == nil {
			continue
		}
		for j, w := range t.words(i) {
			for x := w & mw[j]; x != 0; x &= x - 1 {
				out = append(out, m.name(s.w.cat, si, j<<6+bits.TrailingZeros64(x)))
			}
		}
	}
	return out
}

// name is the "server/tool" name of a masked tool.
func (m *guardMask) name(cat *catalogue, si int32, ti int) string {
	if m.names[si] == nil {
		m.names[si] = make([]string, len(cat.tools[si]))
	}
	if m.names[si][ti] == "" {
		m.names[si][ti] = cat.names[si] + "/" + cat.tools[si][ti]
	}
	return m.names[si][ti]
}

// scopeOf returns whether a key is in a guard's scope.
func (s *Snapshot) scopeOf(sc *models.GuardScope) func(*keyRec) bool {
	if sc == nil {
		return func(*keyRec) bool { return true }
	}
	set := func(names []string) map[string]bool {
		m := make(map[string]bool, len(names))
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	orgs, teams, keys, named := set(sc.Organizations), set(sc.Teams), set(sc.Keys), sc.Named()
	return func(k *keyRec) bool {
		if sc.AgentBound && k.doc.Agent == "" {
			return false
		}
		return !named || keys[k.name()] || (k.team >= 0 && teams[s.teams[k.team].name]) || (k.org >= 0 && orgs[s.orgs[k.org].name])
	}
}

// AddedViolations returns, per guard of after, the violations after has and before does not:
// principals that newly break it, or that break it with more tools (only those are listed).
// Guards with nothing added are left out, so an empty result means the change adds no
// violation. Violations before has are not repeated, whether after keeps them or not. Tools
// must be in the order CheckGuards lists them (by server, then tool).
func AddedViolations(before, after []GuardReport) []GuardReport {
	type principal struct {
		kind PrincipalKind
		name string
	}
	had := make(map[string]map[principal][]string, len(before))
	for _, r := range before {
		m := had[r.Name]
		if m == nil {
			m = make(map[principal][]string, len(r.Violations))
			had[r.Name] = m
		}
		for _, v := range r.Violations {
			m[principal{v.Kind, v.Name}] = v.Tools
		}
	}
	var out []GuardReport
	for _, r := range after {
		added := GuardReport{Name: r.Name}
		for _, v := range r.Violations {
			if tools := toolsMinus(v.Tools, had[r.Name][principal{v.Kind, v.Name}]); len(tools) > 0 {
				added.Violations = append(added.Violations, GuardViolation{Kind: v.Kind, Name: v.Name, Tools: tools})
			}
		}
		if len(added.Violations) > 0 {
			out = append(out, added)
		}
	}
	return out
}

// toolsMinus is a without b, both in CheckGuards' order; a itself when b has none of it.
func toolsMinus(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	if len(a) == len(b) && &a[0] == &b[0] || slices.Equal(a, b) {
		return nil // the same slice: CheckGuardChange shares the tools of equal accesses
	}
	var out []string
	j := 0
	for i, t := range a {
		for j < len(b) && cmpTool(b[j], t) < 0 {
			j++
		}
		if j < len(b) && b[j] == t {
			if out == nil {
				out = append(make([]string, 0, len(a)-1), a[:i]...)
			}
			continue
		}
		if out != nil {
			out = append(out, t)
		}
	}
	if out == nil {
		return a
	}
	return out
}

// cmpTool orders "server/tool" names by server, then tool.
func cmpTool(a, b string) int {
	as, at, _ := strings.Cut(a, "/")
	bs, bt, _ := strings.Cut(b, "/")
	if c := strings.Compare(as, bs); c != 0 {
		return c
	}
	return strings.Compare(at, bt)
}

// GuardProblems checks a document against its own guards: one problem per violation, at the
// guard's path (`guards[1]: guard few: key "ci-bot" may call postgres/execute; 6 keys may, at most 5`), in
// the guards' order. `warden import` and `warden policy validate` refuse a document with any.
func GuardProblems(doc *models.Document) models.Problems {
	if len(doc.Guards) == 0 {
		return nil
	}
	var probs models.Problems
	for i, r := range Build(doc).CheckGuards(doc.Guards) {
		g := &doc.Guards[i]
		for _, v := range r.Violations {
			probs = append(probs, models.Problem{Path: fmt.Sprintf("guards[%d]", i), Message: ViolationText(g, len(r.Violations), v)})
		}
	}
	return probs
}

// ViolationText says in one sentence how a principal breaks a guard that n principals break.
func ViolationText(g *models.GuardDoc, n int, v GuardViolation) string {
	who := fmt.Sprintf("%s %q", v.Kind, v.Name)
	if g.IsForbid() {
		return fmt.Sprintf("guard %s: %s may call %s, which it forbids", g.Name, who, strings.Join(v.Tools, ", "))
	}
	limit := 0
	if g.AtMost != nil {
		limit = *g.AtMost
	}
	keys := "1 key"
	if n != 1 {
		keys = fmt.Sprintf("%d keys", n)
	}
	return fmt.Sprintf("guard %s: %s may call %s; %s may, at most %d", g.Name, who, g.Tool, keys, limit)
}
