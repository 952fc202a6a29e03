package resolver

import "slices"

// Impact counts principals by kind.
type Impact struct {
	Organizations int `json:"organizations"`
	Teams         int `json:"teams"`
	Keys          int `json:"keys"`
}

// Any reports whether the count holds any principal.
func (c Impact) Any() bool { return c.Organizations > 0 || c.Teams > 0 || c.Keys > 0 }

// size weighs teams and keys; an organization weighs nothing in orderings, since a change of
// an organization's own row is always accompanied by its teams' and keys'.
func (c Impact) size() int { return c.Teams + c.Keys }

func (c *Impact) merge(o Impact) {
	c.Organizations += o.Organizations
	c.Teams += o.Teams
	c.Keys += o.Keys
}

// ToolChange is the change of one server/tool across a diff: how many principals lose it and
// how many gain it.
type ToolChange struct {
	Server string `json:"server"`
	Tool   string `json:"tool"`
	Lost   Impact `json:"lost"`
	Gained Impact `json:"gained"`
}

// ByTool counts, per server/tool, the principals of the diff that lose and gain it: most lost
// first (by teams and keys), then most changed, then by server and tool name.
//
// A 20,000-key diff holds millions of (principal, tool) pairs, but a diff shares one change
// between the principals whose before and after sets are the same, so the pairs are counted
// once per shared change and multiplied. Entries built outside this package count one by one.
func (d DiffResult) ByTool() []ToolChange {
	type tally struct {
		p     *PrincipalDiff
		count [3]int // by kindRank
	}
	var shared []*tally
	byPair := map[*pairDiff]*tally{}
	for i := range d.Principals {
		p := &d.Principals[i]
		t := byPair[p.pair]
		if t == nil || p.pair == nil {
			t = &tally{p: p}
			shared = append(shared, t)
			if p.pair != nil {
				byPair[p.pair] = t
			}
		}
		t.count[kindRank(p.Kind)]++
	}
	type key struct{ s, t string }
	rows := map[key]*ToolChange{}
	spread := func(a Access, c Impact, side func(*ToolChange) *Impact) {
		for s, tools := range a {
			for _, tool := range tools {
				r := rows[key{s, tool}]
				if r == nil {
					r = &ToolChange{Server: s, Tool: tool}
					rows[key{s, tool}] = r
				}
				side(r).merge(c)
			}
		}
	}
	for _, t := range shared {
		c := Impact{Organizations: t.count[0], Teams: t.count[1], Keys: t.count[2]}
		spread(t.p.Lost, c, func(r *ToolChange) *Impact { return &r.Lost })
		spread(t.p.Gained, c, func(r *ToolChange) *Impact { return &r.Gained })
	}
	out := make([]ToolChange, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ToolChange) int {
		if a.Lost.size() != b.Lost.size() {
			return b.Lost.size() - a.Lost.size()
		}
		if wa, wb := a.Lost.size()+a.Gained.size(), b.Lost.size()+b.Gained.size(); wa != wb {
			return wb - wa
		}
		if a.Server != b.Server {
			return cmpString(a.Server, b.Server)
		}
		return cmpString(a.Tool, b.Tool)
	})
	return out
}
