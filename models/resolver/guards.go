package resolver

import (
	"fmt"
	"slices"
	"strings"

	"github.com/warden-mcp/warden/models"
)

// GuardViolation is one principal breaking a guard: the guarded tools it may call.
type GuardViolation struct {
	Kind PrincipalKind `json:"kind"`
	Name string        `json:"name"`
	// Tools are "server/tool", sorted.
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
		out[i] = s.checkGuard(&guards[i])
	}
	return out
}

// guardTool is a catalogue tool a guard names.
type guardTool struct {
	server, tool int32
	name         string
}

func (s *Snapshot) checkGuard(g *models.GuardDoc) GuardReport {
	r := GuardReport{Name: g.Name, Violations: []GuardViolation{}}
	tools := s.guardTools(g)
	if len(tools) == 0 {
		return r
	}
	inScope := s.scopeOf(g.For)
	memo := map[*tset][]string{}
	for i := range s.keys {
		k := &s.keys[i]
		if !inScope(k) {
			continue
		}
		may, ok := memo[k.final]
		if !ok {
			for _, t := range tools {
				if k.final.has(t.server, t.tool) {
					may = append(may, t.name)
				}
			}
			memo[k.final] = may
		}
		if len(may) > 0 {
			r.Violations = append(r.Violations, GuardViolation{Kind: KindKey, Name: k.name(), Tools: may})
		}
	}
	if !g.IsForbid() && (g.AtMost == nil || len(r.Violations) <= *g.AtMost) {
		r.Violations = r.Violations[:0]
	}
	slices.SortFunc(r.Violations, func(a, b GuardViolation) int { return strings.Compare(a.Name, b.Name) })
	return r
}

// guardTools lists the catalogue tools a guard is about, sorted by name.
func (s *Snapshot) guardTools(g *models.GuardDoc) []guardTool {
	cat := s.w.cat
	var out []guardTool
	if !g.IsForbid() {
		server, tool, _ := models.SplitTool(g.Tool)
		if p, ok := cat.pair[toolKey{server, tool}]; ok {
			out = append(out, guardTool{int32(p >> 32), int32(uint32(p)), server + "/" + tool})
		}
		return out
	}
	for si, server := range cat.names {
		for ti, tool := range cat.tools[si] {
			for _, pat := range g.Forbid {
				if models.MatchToolPattern(pat, server, tool) {
					out = append(out, guardTool{int32(si), int32(ti), server + "/" + tool})
					break
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b guardTool) int { return strings.Compare(a.name, b.name) })
	return out
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
// violation. Violations before has are not repeated, whether after keeps them or not.
func AddedViolations(before, after []GuardReport) []GuardReport {
	had := map[string]map[string]map[string]bool{} // guard -> kind/name -> tools
	for _, r := range before {
		m := had[r.Name]
		if m == nil {
			m = map[string]map[string]bool{}
			had[r.Name] = m
		}
		for _, v := range r.Violations {
			tools := m[string(v.Kind)+"/"+v.Name]
			if tools == nil {
				tools = map[string]bool{}
				m[string(v.Kind)+"/"+v.Name] = tools
			}
			for _, t := range v.Tools {
				tools[t] = true
			}
		}
	}
	var out []GuardReport
	for _, r := range after {
		added := GuardReport{Name: r.Name}
		for _, v := range r.Violations {
			old := had[r.Name][string(v.Kind)+"/"+v.Name]
			var tools []string
			for _, t := range v.Tools {
				if !old[t] {
					tools = append(tools, t)
				}
			}
			if len(tools) > 0 {
				added.Violations = append(added.Violations, GuardViolation{Kind: v.Kind, Name: v.Name, Tools: tools})
			}
		}
		if len(added.Violations) > 0 {
			out = append(out, added)
		}
	}
	return out
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
