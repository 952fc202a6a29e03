package resolver

import (
	"fmt"
	"slices"
	"strings"

	"github.com/warden-mcp/warden/models"
)

// SourceKind says where a level's grant of a server came from.
type SourceKind string

const (
	SourceServer      SourceKind = "server"       // named in the mcp block's servers: whole catalogue
	SourceAccessGroup SourceKind = "access_group" // in a named access group: whole catalogue
	SourceToolList    SourceKind = "tool_list"    // the mcp block's tools map: exactly the listed tools
	SourceToolset     SourceKind = "toolset"      // a named toolset's server/tool entries
	SourcePublic      SourceKind = "public"       // no level restricts and the server is public
)

// GrantSource is one reason a level grants tools of a server.
type GrantSource struct {
	Kind SourceKind `json:"kind"`
	Name string     `json:"name,omitempty"` // access group or toolset name; server name for "server"
	// Tools are the catalogue tools a tool list or toolset names for this server; empty for
	// whole-catalogue sources.
	Tools []string `json:"tools,omitempty"`
	// Replaced marks a whole-catalogue source overridden by the level's tool list for the
	// server (rule 2): it contributes nothing.
	Replaced bool `json:"replaced,omitempty"`
}

// ServerGrant is what a level grants of one server and why.
type ServerGrant struct {
	Server string        `json:"server"`
	Tools  []string      `json:"tools"`
	From   []GrantSource `json:"from"`
}

// LevelExplanation is one level of a chain: what it granted and from where, what it capped of
// what the levels before it allowed, and what it denied.
type LevelExplanation struct {
	Level LevelKind `json:"level"`
	Name  string    `json:"name"`
	// Via is "bound" or "request" for an agent, "request" for an end user.
	Via     string `json:"via,omitempty"`
	Blocked bool   `json:"blocked,omitempty"`
	// Restricts is true when the level has an mcp block (an empty one grants nothing).
	Restricts bool          `json:"restricts"`
	Grants    []ServerGrant `json:"grants,omitempty"`
	// Capped are the tools the levels before allowed (the public servers while nothing
	// restricted) that this level's grant leaves out.
	Capped Access `json:"capped,omitempty"`
	// Denied are the catalogue tools its deny_tools names.
	Denied Access   `json:"denied,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

// PrincipalExplanation is the per-level breakdown of a principal's (or a request's) access.
type PrincipalExplanation struct {
	Kind         PrincipalKind      `json:"kind"`
	Name         string             `json:"name"`
	Organization string             `json:"organization,omitempty"`
	Team         string             `json:"team,omitempty"`
	Levels       []LevelExplanation `json:"levels"`
	// Blocked: the organization, team or key is blocked, so Access is empty.
	Blocked bool `json:"blocked,omitempty"`
	// Unrestricted: no level has an mcp block, so the result is the public servers (Public)
	// minus every deny list.
	Unrestricted bool          `json:"unrestricted,omitempty"`
	Public       []ServerGrant `json:"public,omitempty"`
	Access       Access        `json:"access"`
}

// Explanation is a decision with the breakdown of the request's chain.
type Explanation struct {
	Request  Request              `json:"request"`
	Decision Decision             `json:"decision"`
	Reason   string               `json:"reason"`
	Chain    PrincipalExplanation `json:"chain"`
}

// chainLevel is one level gathered for explanation.
type chainLevel struct {
	kind    LevelKind
	name    string
	via     string
	l       level
	mcp     *models.MCPPermission
	blocked bool
	notes   []string
}

func (s *Snapshot) orgLevel(i int32) chainLevel {
	o := &s.orgs[i]
	return chainLevel{kind: LevelOrganization, name: o.name, l: o.level, mcp: o.doc.MCP, blocked: o.doc.Blocked}
}

func (s *Snapshot) teamLevel(i int32) chainLevel {
	t := &s.teams[i]
	return chainLevel{kind: LevelTeam, name: t.name, l: t.level, mcp: t.doc.MCP, blocked: t.doc.Blocked}
}

func (s *Snapshot) keyChain(k *keyRec) []chainLevel {
	var out []chainLevel
	if k.org >= 0 {
		out = append(out, s.orgLevel(k.org))
	}
	if k.team >= 0 {
		out = append(out, s.teamLevel(k.team))
	}
	kl := chainLevel{kind: LevelKey, name: k.name(), l: k.level, mcp: k.doc.MCP, blocked: k.blocked}
	if k.doc.Team != "" && k.team < 0 {
		kl.notes = append(kl.notes, fmt.Sprintf("team %q does not exist: the key is treated as teamless", k.doc.Team))
	}
	return append(out, kl)
}

func (s *Snapshot) agentLevel(name string, i int32, via string) chainLevel {
	if i < 0 {
		return chainLevel{kind: LevelAgent, name: name, via: via, notes: []string{"agent is not defined: does not restrict"}}
	}
	a := &s.agents[i]
	return chainLevel{kind: LevelAgent, name: a.name, via: via, l: a.level, mcp: a.doc.MCP}
}

// ExplainPrincipal breaks down the access of an organization, team or key level by level (the
// console's "Why?"). False if there is no such principal.
func (s *Snapshot) ExplainPrincipal(kind PrincipalKind, name string) (PrincipalExplanation, bool) {
	var levels []chainLevel
	pe := PrincipalExplanation{Kind: kind, Name: name}
	switch kind {
	case KindOrganization:
		i, ok := s.orgIdx[name]
		if !ok {
			return pe, false
		}
		levels = []chainLevel{s.orgLevel(i)}
	case KindTeam:
		i, ok := s.teamIdx[name]
		if !ok {
			return pe, false
		}
		t := &s.teams[i]
		pe.Organization = s.orgName(t.org)
		if t.org >= 0 {
			levels = append(levels, s.orgLevel(t.org))
		}
		levels = append(levels, s.teamLevel(i))
	case KindKey:
		i, ok := s.keyIdx[name]
		if !ok {
			return pe, false
		}
		k := &s.keys[i]
		pe.Organization, pe.Team = s.orgName(k.org), s.teamName(k.team)
		levels = s.keyChain(k)
		if k.doc.Agent != "" {
			levels = append(levels, s.agentLevel(k.doc.Agent, k.agent, "bound"))
		}
	default:
		return pe, false
	}
	s.explainLevels(&pe, levels)
	return pe, true
}

// Explain decides a request and breaks its chain down level by level. Errors as Decide.
func (s *Snapshot) Explain(r Request) (Explanation, error) {
	c, err := s.resolve(&r)
	if err != nil {
		return Explanation{}, err
	}
	d := s.decide(&c, &r)
	e := Explanation{Request: r, Decision: d, Reason: d.Reason(r)}
	k := c.k
	pe := PrincipalExplanation{Kind: KindKey, Name: k.name(), Organization: s.orgName(k.org), Team: s.teamName(k.team)}
	levels := s.keyChain(k)
	switch {
	case c.mismatch:
		al := s.agentLevel(k.doc.Agent, k.agent, "bound")
		al.notes = append(al.notes, fmt.Sprintf("the request names agent %q: refused", r.Agent))
		levels = append(levels, al)
	case r.Agent != "" && k.doc.Agent == "":
		levels = append(levels, s.agentLevel(r.Agent, c.agent, "request"))
	case k.doc.Agent != "":
		levels = append(levels, s.agentLevel(k.doc.Agent, k.agent, "bound"))
	}
	if r.EndUser != "" {
		if c.user >= 0 {
			u := &s.users[c.user]
			levels = append(levels, chainLevel{kind: LevelEndUser, name: u.name, via: "request", l: u.level, mcp: u.doc.MCP})
		} else {
			levels = append(levels, chainLevel{kind: LevelEndUser, name: r.EndUser, via: "request",
				notes: []string{"end user is not defined: does not restrict"}})
		}
	}
	s.explainLevels(&pe, levels)
	if c.mismatch {
		pe.Access = Access{}
	}
	e.Chain = pe
	return e, nil
}

// explainLevels fills pe from a chain, combining levels exactly as the resolver does.
func (s *Snapshot) explainLevels(pe *PrincipalExplanation, levels []chainLevel) {
	b := newBuilder(s.w)
	cat := s.w.cat
	st := b.initial
	for _, cl := range levels {
		le := LevelExplanation{Level: cl.kind, Name: cl.name, Via: cl.via, Blocked: cl.blocked, Restricts: cl.l.grant != nil}
		if cl.blocked {
			pe.Blocked = true
			le.Notes = append(le.Notes, "blocked: no MCP access at all")
		}
		switch {
		case cl.mcp == nil && len(cl.notes) == 0:
			le.Notes = append(le.Notes, "no mcp block: does not restrict")
		case cl.mcp != nil && cl.mcp.IsEmpty():
			le.Notes = append(le.Notes, "empty mcp block: grants no MCP access")
		}
		le.Notes = append(le.Notes, cl.notes...)
		if cl.mcp != nil {
			le.Grants = s.grantSources(cl.mcp, cl.l.grant)
			le.Notes = append(le.Notes, s.ignoredNames(cl.mcp)...)
			before := b.final(st)
			if capped := b.in.subtract(before, cl.l.grant); !capped.empty() {
				le.Capped = cat.access(capped)
			}
		}
		if cl.l.deny != nil {
			le.Denied = cat.access(cl.l.deny)
		}
		st = b.apply(st, cl.l)
		pe.Levels = append(pe.Levels, le)
	}
	if !st.restricted {
		pe.Unrestricted = true
		for i := 0; i < s.w.public.ns; i++ {
			sv := s.w.public.server(i)
			pe.Public = append(pe.Public, ServerGrant{Server: cat.names[sv], Tools: slices.Clone(cat.tools[sv]),
				From: []GrantSource{{Kind: SourcePublic, Name: cat.names[sv]}}})
		}
	}
	if pe.Blocked {
		pe.Access = Access{}
	} else {
		pe.Access = cat.access(b.final(st))
	}
}

// grantSources explains a compiled grant by the mcp block it came from.
func (s *Snapshot) grantSources(p *models.MCPPermission, g *tset) []ServerGrant {
	cat := s.w.cat
	var out []ServerGrant
	for i := 0; i < g.ns; i++ {
		sv := g.server(i)
		name := cat.names[sv]
		sg := ServerGrant{Server: name, Tools: cat.toolNames(sv, g.words(i))}
		_, listed := p.Tools[name]
		if slices.Contains(p.Servers, name) {
			sg.From = append(sg.From, GrantSource{Kind: SourceServer, Name: name, Replaced: listed})
		}
		for _, gname := range p.AccessGroups {
			if slices.Contains(s.w.groups[gname], sv) {
				sg.From = append(sg.From, GrantSource{Kind: SourceAccessGroup, Name: gname, Replaced: listed})
			}
		}
		if listed {
			sg.From = append(sg.From, GrantSource{Kind: SourceToolList, Tools: s.catalogueTools(sv, p.Tools[name])})
		}
		for _, ts := range p.Toolsets {
			t := s.w.toolsets[ts]
			if t == nil || !t.hasServer(sv) {
				continue
			}
			sg.From = append(sg.From, GrantSource{Kind: SourceToolset, Name: ts,
				Tools: cat.toolNames(sv, t.words(t.index(sv)))})
		}
		out = append(out, sg)
	}
	return out
}

// catalogueTools keeps the names that are in server sv's catalogue, sorted.
func (s *Snapshot) catalogueTools(sv int32, names []string) []string {
	out := []string{}
	for _, n := range names {
		if _, ok := s.w.cat.toolIdx[sv][n]; ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ignoredNames lists the dangling names of an mcp block, which contribute nothing.
func (s *Snapshot) ignoredNames(p *models.MCPPermission) []string {
	var out []string
	for _, n := range p.Servers {
		if _, ok := s.w.cat.idx[n]; !ok {
			out = append(out, fmt.Sprintf("ignored: unknown server %q", n))
		}
	}
	for _, n := range p.AccessGroups {
		if _, ok := s.w.groups[n]; !ok {
			out = append(out, fmt.Sprintf("ignored: unknown access group %q", n))
		}
	}
	for _, n := range p.Toolsets {
		if _, ok := s.w.toolsets[n]; !ok {
			out = append(out, fmt.Sprintf("ignored: unknown toolset %q", n))
		}
	}
	names := make([]string, 0, len(p.Tools))
	for n := range p.Tools {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if _, ok := s.w.cat.idx[n]; !ok {
			out = append(out, fmt.Sprintf("ignored: tool list for unknown server %q", n))
		}
	}
	return out
}

// Lines renders the explanation for people.
func (pe PrincipalExplanation) Lines() []string {
	head := fmt.Sprintf("%s %q", pe.Kind, pe.Name)
	var where []string
	if pe.Organization != "" {
		where = append(where, fmt.Sprintf("organization %q", pe.Organization))
	}
	if pe.Team != "" {
		where = append(where, fmt.Sprintf("team %q", pe.Team))
	}
	if len(where) > 0 {
		head += " (" + strings.Join(where, ", ") + ")"
	}
	out := []string{head + ": " + pe.Access.String()}
	for _, le := range pe.Levels {
		out = append(out, le.Lines()...)
	}
	if pe.Blocked {
		out = append(out, "result: blocked, no MCP access")
	} else if pe.Unrestricted {
		if len(pe.Public) == 0 {
			out = append(out, "no level restricts and no server is public: nothing")
		} else {
			out = append(out, "no level restricts: the public servers apply")
			for _, g := range pe.Public {
				out = append(out, fmt.Sprintf("  public %s: %s", g.Server, strings.Join(g.Tools, ", ")))
			}
		}
	}
	return out
}

func (pe PrincipalExplanation) String() string { return strings.Join(pe.Lines(), "\n") }

// Lines renders one level: a head line and indented grants, caps, denials and notes.
func (le LevelExplanation) Lines() []string {
	head := fmt.Sprintf("%s %q", levelWord(le.Level), le.Name)
	if le.Via != "" {
		head += " (" + le.Via + ")"
	}
	switch {
	case le.Blocked:
		head += ": blocked"
	case le.Restricts:
		head += ": restricts"
	default:
		head += ": does not restrict"
	}
	out := []string{head}
	for _, g := range le.Grants {
		var from []string
		for _, src := range g.From {
			from = append(from, src.String())
		}
		out = append(out, fmt.Sprintf("  grants %s: %s (from %s)", g.Server, strings.Join(g.Tools, ", "), strings.Join(from, "; ")))
	}
	for _, sv := range le.Capped.Servers() {
		out = append(out, fmt.Sprintf("  caps %s: %s", sv, strings.Join(le.Capped[sv], ", ")))
	}
	for _, sv := range le.Denied.Servers() {
		out = append(out, fmt.Sprintf("  denies %s: %s", sv, strings.Join(le.Denied[sv], ", ")))
	}
	for _, n := range le.Notes {
		out = append(out, "  "+n)
	}
	return out
}

func (g GrantSource) String() string {
	var s string
	switch g.Kind {
	case SourceServer:
		s = "server " + g.Name
	case SourceAccessGroup:
		s = "access group " + g.Name
	case SourceToolset:
		s = "toolset " + g.Name + ": " + strings.Join(g.Tools, ", ")
	case SourceToolList:
		s = "tool list: " + strings.Join(g.Tools, ", ")
	case SourcePublic:
		s = "public server " + g.Name
	}
	if g.Replaced {
		s += " (replaced by the tool list)"
	}
	return s
}

// Lines renders the explanation: the reason, then the chain.
func (e Explanation) Lines() []string {
	return append([]string{e.Reason}, e.Chain.Lines()...)
}

func (e Explanation) String() string { return strings.Join(e.Lines(), "\n") }
