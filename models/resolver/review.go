package resolver

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/warden-mcp/warden/models"
)

// Access review: who may call a tool and why, and which held tools go unused. Both read the
// compiled sets the gateway decides with, so a review can never disagree with enforcement.

// PathStep is one level of a holder's chain that restricts, with what in its mcp block grants
// the tool. Every restricting level must grant it (the chain intersects them), so the steps
// together are the path that grants it.
type PathStep struct {
	Level LevelKind `json:"level"`
	Name  string    `json:"name"`
	// Via is "bound" for a key's bound agent.
	Via string `json:"via,omitempty"`
	// From are the sources granting the tool at this level (server, access group, tool list,
	// toolset); whole-catalogue sources a tool list replaces are left out, granting nothing.
	From []GrantSource `json:"from"`
}

// ToolHolder is an organization, team or key that may call one tool, with the path that
// grants it.
type ToolHolder struct {
	Kind         PrincipalKind `json:"kind"`
	Name         string        `json:"name"`
	Organization string        `json:"organization,omitempty"`
	Team         string        `json:"team,omitempty"`
	// Path lists the restricting levels in chain order; empty when Public.
	Path []PathStep `json:"path"`
	// Public: no level of the chain restricts, so the public server grants the tool.
	Public bool `json:"public,omitempty"`
}

// ToolHolders are every principal that may call one tool, each kind sorted by name.
type ToolHolders struct {
	Server        string       `json:"server"`
	Tool          string       `json:"tool"`
	Organizations []ToolHolder `json:"organizations"`
	Teams         []ToolHolder `json:"teams"`
	Keys          []ToolHolder `json:"keys"`
}

// WhoCanCall lists the organizations, teams and keys that may call server/tool (a key with
// its bound agent, without naming an end user), with the path that grants it. False when the
// tool is not in the server's catalogue (unknown, or disabled: nobody may call it).
func (s *Snapshot) WhoCanCall(server, tool string) (ToolHolders, bool) {
	out := ToolHolders{Server: server, Tool: tool, Organizations: []ToolHolder{}, Teams: []ToolHolder{}, Keys: []ToolHolder{}}
	pair, ok := s.w.cat.pair[toolKey{server, tool}]
	if !ok {
		return out, false
	}
	sv, ti := int32(pair>>32), int32(uint32(pair))
	// Organizations and teams are the first steps of many keys' paths: each is worked out once.
	orgSteps := make(map[int32][]PathStep)
	teamSteps := make(map[int32][]PathStep)
	orgPath := func(i int32) []PathStep {
		if i < 0 {
			return nil
		}
		p, ok := orgSteps[i]
		if !ok {
			p = s.steps(nil, []chainLevel{s.orgLevel(i)}, sv, ti)
			orgSteps[i] = p
		}
		return p
	}
	teamPath := func(i int32) []PathStep {
		if i < 0 {
			return nil
		}
		p, ok := teamSteps[i]
		if !ok {
			p = s.steps(nil, []chainLevel{s.teamLevel(i)}, sv, ti)
			teamSteps[i] = p
		}
		return p
	}
	for i := range s.orgs {
		o := &s.orgs[i]
		if o.final.has(sv, ti) {
			path := orgPath(int32(i))
			out.Organizations = append(out.Organizations, ToolHolder{Kind: KindOrganization, Name: o.name, Path: path, Public: len(path) == 0})
		}
	}
	for i := range s.teams {
		t := &s.teams[i]
		if t.final.has(sv, ti) {
			path := append(slices.Clip(orgPath(t.org)), teamPath(int32(i))...)
			out.Teams = append(out.Teams, ToolHolder{Kind: KindTeam, Name: t.name, Organization: s.orgName(t.org),
				Path: path, Public: len(path) == 0})
		}
	}
	for i := range s.keys {
		k := &s.keys[i]
		if !k.final.has(sv, ti) {
			continue
		}
		path := append(slices.Clip(orgPath(k.org)), teamPath(k.team)...)
		own := []chainLevel{{kind: LevelKey, name: k.name(), l: k.level, mcp: k.doc.MCP}}
		if k.doc.Agent != "" && k.agent >= 0 {
			own = append(own, s.agentLevel(k.doc.Agent, k.agent, "bound"))
		}
		path = s.steps(path, own, sv, ti)
		out.Keys = append(out.Keys, ToolHolder{Kind: KindKey, Name: k.name(), Organization: s.orgName(k.org),
			Team: s.teamName(k.team), Path: path, Public: len(path) == 0})
	}
	for _, list := range [][]ToolHolder{out.Organizations, out.Teams, out.Keys} {
		slices.SortFunc(list, func(a, b ToolHolder) int { return cmp.Compare(a.Name, b.Name) })
	}
	return out, true
}

// steps appends to path a step for every level of levels that restricts.
func (s *Snapshot) steps(path []PathStep, levels []chainLevel, sv, ti int32) []PathStep {
	for _, cl := range levels {
		if cl.l.grant == nil || cl.mcp == nil {
			continue
		}
		path = append(path, PathStep{Level: cl.kind, Name: cl.name, Via: cl.via, From: s.toolSources(cl.mcp, sv, ti)})
	}
	return path
}

// toolSources are the parts of an mcp block that grant tool ti of server sv, exactly as grant
// compiles them: servers and access groups grant the whole catalogue unless the block's tool
// list for the server replaces them; toolsets add to either.
func (s *Snapshot) toolSources(p *models.MCPPermission, sv, ti int32) []GrantSource {
	name := s.w.cat.names[sv]
	var out []GrantSource
	if list, listed := p.Tools[name]; listed {
		tool := s.w.cat.tools[sv][ti]
		if slices.Contains(list, tool) {
			out = append(out, GrantSource{Kind: SourceToolList})
		}
	} else {
		if slices.Contains(p.Servers, name) {
			out = append(out, GrantSource{Kind: SourceServer, Name: name})
		}
		for _, g := range p.AccessGroups {
			if slices.Contains(s.w.groups[g], sv) {
				out = append(out, GrantSource{Kind: SourceAccessGroup, Name: g})
			}
		}
	}
	for _, ts := range p.Toolsets {
		if t := s.w.toolsets[ts]; t != nil && t.has(sv, ti) {
			out = append(out, GrantSource{Kind: SourceToolset, Name: ts})
		}
	}
	return out
}

// UnusedGrant is a key or team and the tools it may call that went unused in a window.
type UnusedGrant struct {
	Kind         PrincipalKind `json:"kind"`
	Name         string        `json:"name"`
	Organization string        `json:"organization,omitempty"`
	Team         string        `json:"team,omitempty"`
	// Holds is how many tools it may call; Count how many of them went unused.
	Holds int `json:"holds"`
	Count int `json:"unused_count"`
	// rest are the unused tools, made an Access only when asked (Unused): a page shows a
	// hundred of 100,000 rows.
	rest *tset
	cat  *catalogue
}

// Unused are the tools that went unused.
func (g UnusedGrant) Unused() Access { return g.cat.access(g.rest) }

// MarshalJSON writes the grant with its unused tools ("unused": {SERVER: [TOOL, ...]}).
func (g UnusedGrant) MarshalJSON() ([]byte, error) {
	type plain UnusedGrant
	return json.Marshal(struct {
		plain
		Unused Access `json:"unused"`
	}{plain(g), g.Unused()})
}

// Usage says which tools each key called: key name → its called tools. A team's usage is its
// keys' together.
type Usage map[string]Access

// UnusedAccess lists the keys and the teams holding tools they did not use, largest first
// (most unused tools, then name). A team counts a tool used when any of its keys used it.
// Usage naming tools outside the catalogue counts for nothing.
func (s *Snapshot) UnusedAccess(used Usage) (keys, teams []UnusedGrant) {
	cat := s.w.cat
	b := newBuilder(s.w)
	// Usage compiled to sets, so unused = held minus used is word arithmetic; the interner
	// makes equal sets one.
	toSet := func(a Access) *tset {
		for srv, tools := range a {
			sv, ok := cat.idx[srv]
			if !ok {
				continue
			}
			for _, t := range tools {
				if id, ok := cat.toolIdx[sv][t]; ok {
					b.d.set(sv, id)
				}
			}
		}
		return b.d.emit(b.in)
	}
	teamUsed := make(map[int32]*tset)
	for i := range s.keys {
		k := &s.keys[i]
		var u *tset
		if a, ok := used[k.name()]; ok {
			u = toSet(a)
			if k.team >= 0 {
				if t, ok := teamUsed[k.team]; ok {
					teamUsed[k.team] = b.in.union(t, u)
				} else {
					teamUsed[k.team] = u
				}
			}
		}
		if rest := b.in.subtract(k.final, u); !rest.empty() {
			keys = append(keys, UnusedGrant{Kind: KindKey, Name: k.name(), Organization: s.orgName(k.org),
				Team: s.teamName(k.team), Holds: k.final.n, Count: rest.n, rest: rest, cat: cat})
		}
	}
	for i := range s.teams {
		t := &s.teams[i]
		if rest := b.in.subtract(t.final, teamUsed[int32(i)]); !rest.empty() {
			teams = append(teams, UnusedGrant{Kind: KindTeam, Name: t.name, Organization: s.orgName(t.org),
				Holds: t.final.n, Count: rest.n, rest: rest, cat: cat})
		}
	}
	largest := func(a, b UnusedGrant) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name))
	}
	slices.SortFunc(keys, largest)
	slices.SortFunc(teams, largest)
	return keys, teams
}

// ToolsChanged reports whether the tools request r's key may use (with r's end user and agent)
// differ between two snapshots: whether an MCP client of that key should refresh its tool list.
// When r names a server only that server's tools are compared (a session relayed to one
// server lists only its tools); r's tool is ignored. A key, or an agent, that one snapshot
// knows and the other does not counts as changed.
func ToolsChanged(before, after *Snapshot, r Request) bool {
	cb, errB := before.resolve(&r)
	ca, errA := after.resolve(&r)
	if errB != nil || errA != nil {
		return (errB == nil) != (errA == nil)
	}
	b, a := before.chainResult(cb), after.chainResult(ca)
	if a == b {
		return false
	}
	if r.Server == "" && sameIDSpace(before.w.cat, after.w.cat) {
		return !sameSet(b, a)
	}
	ab, aa := before.w.cat.access(b), after.w.cat.access(a)
	if r.Server != "" {
		return !slices.Equal(ab[r.Server], aa[r.Server])
	}
	return !ab.Equal(aa)
}
