package resolver

// A deliberately naive second implementation of the rules, written straight from the package
// comment with maps and linear searches. Property tests check the real resolver against it.

import (
	"errors"
	"slices"

	"github.com/warden-mcp/warden/models"
)

type refSet map[string]map[string]bool

func (r refSet) add(s, t string) {
	if r[s] == nil {
		r[s] = map[string]bool{}
	}
	r[s][t] = true
}

func (r refSet) access() Access {
	a := Access{}
	for s, ts := range r {
		var l []string
		for t, ok := range ts {
			if ok {
				l = append(l, t)
			}
		}
		if len(l) > 0 {
			slices.Sort(l)
			a[s] = l
		}
	}
	return a
}

func refServer(doc *models.Document, name string) *models.ServerDoc {
	for i := range doc.Servers {
		if doc.Servers[i].Name == name {
			return &doc.Servers[i]
		}
	}
	return nil
}

// refCatalogue: tools minus disabled_tools.
func refCatalogue(doc *models.Document, server string) map[string]bool {
	s := refServer(doc, server)
	if s == nil {
		return nil
	}
	out := map[string]bool{}
	for _, t := range s.Tools {
		if !slices.Contains(s.DisabledTools, t.Name) {
			out[t.Name] = true
		}
	}
	return out
}

func refGrant(doc *models.Document, p *models.MCPPermission) refSet {
	g := refSet{}
	whole := func(s string) {
		for t := range refCatalogue(doc, s) {
			g.add(s, t)
		}
	}
	for _, s := range p.Servers {
		whole(s)
	}
	for _, name := range p.AccessGroups {
		for i := range doc.AccessGroups {
			if doc.AccessGroups[i].Name == name {
				for _, s := range doc.AccessGroups[i].Servers {
					whole(s)
				}
				break
			}
		}
	}
	for s, tools := range p.Tools {
		delete(g, s)
		for _, t := range tools {
			g.add(s, t)
		}
	}
	for _, name := range p.Toolsets {
		for i := range doc.Toolsets {
			if doc.Toolsets[i].Name == name {
				for _, e := range doc.Toolsets[i].Tools {
					if s, t, ok := models.SplitTool(e); ok {
						g.add(s, t)
					}
				}
				break
			}
		}
	}
	out := refSet{}
	for s, ts := range g {
		cat := refCatalogue(doc, s)
		for t := range ts {
			if cat[t] {
				out.add(s, t)
			}
		}
	}
	return out
}

type refLevel struct {
	kind LevelKind
	name string
	mcp  *models.MCPPermission
	deny []string
}

func refResult(doc *models.Document, levels []refLevel, blocked bool) refSet {
	if blocked {
		return refSet{}
	}
	var res refSet
	for _, l := range levels {
		if l.mcp == nil {
			continue
		}
		g := refGrant(doc, l.mcp)
		if res == nil {
			res = g
			continue
		}
		n := refSet{}
		for s, ts := range res {
			for t := range ts {
				if g[s][t] {
					n.add(s, t)
				}
			}
		}
		res = n
	}
	if res == nil {
		res = refSet{}
		for i := range doc.Servers {
			s := &doc.Servers[i]
			if s.Public && refServer(doc, s.Name) == s {
				for t := range refCatalogue(doc, s.Name) {
					res.add(s.Name, t)
				}
			}
		}
	}
	for _, l := range levels {
		for _, e := range l.deny {
			if s, t, ok := models.SplitTool(e); ok && res[s] != nil {
				delete(res[s], t)
			}
		}
	}
	return res
}

func refFind[T any](list []T, name func(*T) string, n string) *T {
	if n == "" {
		return nil
	}
	for i := range list {
		if name(&list[i]) == n {
			return &list[i]
		}
	}
	return nil
}

func refOrg(doc *models.Document, n string) *models.OrganizationDoc {
	return refFind(doc.Organizations, func(o *models.OrganizationDoc) string { return o.Name }, n)
}
func refTeam(doc *models.Document, n string) *models.TeamDoc {
	return refFind(doc.Teams, func(o *models.TeamDoc) string { return o.Name }, n)
}
func refKey(doc *models.Document, n string) *models.KeyDoc {
	return refFind(doc.Keys, func(o *models.KeyDoc) string { return o.Name }, n)
}
func refAgent(doc *models.Document, n string) *models.AgentDoc {
	return refFind(doc.Agents, func(o *models.AgentDoc) string { return o.Name }, n)
}
func refUser(doc *models.Document, n string) *models.EndUserDoc {
	return refFind(doc.EndUsers, func(o *models.EndUserDoc) string { return o.Name }, n)
}

var errRef = errors.New("bad input")

// refChain builds a request's chain. blocked names the first blocked level.
func refChain(doc *models.Document, r Request) (levels []refLevel, blocked *refLevel, mismatch string, err error) {
	k := refKey(doc, r.Key)
	if k == nil {
		return nil, nil, "", errRef
	}
	var org *models.OrganizationDoc
	team := refTeam(doc, k.Team)
	if team != nil {
		org = refOrg(doc, team.Organization)
	} else {
		org = refOrg(doc, k.Organization)
	}
	var blk []refLevel
	if org != nil {
		levels = append(levels, refLevel{LevelOrganization, org.Name, org.MCP, org.DenyTools})
		if org.Blocked {
			blk = append(blk, levels[len(levels)-1])
		}
	}
	if team != nil {
		levels = append(levels, refLevel{LevelTeam, team.Name, team.MCP, team.DenyTools})
		if team.Blocked {
			blk = append(blk, levels[len(levels)-1])
		}
	}
	levels = append(levels, refLevel{LevelKey, k.Name, k.MCP, k.DenyTools})
	if k.Blocked {
		blk = append(blk, levels[len(levels)-1])
	}
	agentName := k.Agent
	if r.Agent != "" && r.Agent != k.Agent {
		if refAgent(doc, r.Agent) == nil {
			return nil, nil, "", errRef
		}
		if k.Agent != "" {
			mismatch = k.Agent
		} else {
			agentName = r.Agent
		}
	}
	if a := refAgent(doc, agentName); a != nil {
		levels = append(levels, refLevel{LevelAgent, a.Name, a.MCP, a.DenyTools})
	}
	if u := refUser(doc, r.EndUser); u != nil {
		levels = append(levels, refLevel{LevelEndUser, u.Name, u.MCP, u.DenyTools})
	}
	if len(blk) > 0 {
		blocked = &blk[0]
	}
	return levels, blocked, mismatch, nil
}

func refAccessFor(doc *models.Document, r Request) (Access, error) {
	levels, blocked, mismatch, err := refChain(doc, r)
	if err != nil {
		return nil, err
	}
	if mismatch != "" {
		return Access{}, nil
	}
	return refResult(doc, levels, blocked != nil).access(), nil
}

func refDecide(doc *models.Document, r Request) (Decision, error) {
	levels, blocked, mismatch, err := refChain(doc, r)
	if err != nil {
		return Decision{}, err
	}
	if blocked != nil {
		return Decision{DecidedBy: ByBlocked, Principal: blocked.name, Level: blocked.kind, Cause: CauseBlocked}, nil
	}
	if mismatch != "" {
		return Decision{DecidedBy: ByAgent, Principal: mismatch, Level: LevelAgent, Cause: CauseAgentMismatch}, nil
	}
	srv := refServer(doc, r.Server)
	if srv == nil {
		return Decision{DecidedBy: ByServer, Principal: r.Server, Cause: CauseUnknownServer}, nil
	}
	if !refCatalogue(doc, r.Server)[r.Tool] {
		c := CauseUnknownTool
		if slices.Contains(srv.DisabledTools, r.Tool) {
			c = CauseDisabledTool
		}
		return Decision{DecidedBy: ByServer, Principal: r.Server, Cause: c}, nil
	}
	restricted := false
	for _, l := range levels {
		if l.mcp != nil {
			restricted = true
			if !refGrant(doc, l.mcp)[r.Server][r.Tool] {
				return Decision{DecidedBy: DecidedBy(l.kind), Principal: l.name, Level: l.kind, Cause: CauseNotGranted}, nil
			}
		}
		if slices.Contains(l.deny, r.Server+"/"+r.Tool) {
			return Decision{DecidedBy: DecidedBy(l.kind), Principal: l.name, Level: l.kind, Cause: CauseDenyList}, nil
		}
	}
	if !restricted && !srv.Public {
		return Decision{DecidedBy: ByDefault, Cause: CauseNotPublic}, nil
	}
	return Decision{Allowed: true}, nil
}

// refAll is AllAccess by the reference model.
func refAll(doc *models.Document) AllAccess {
	a := AllAccess{Organizations: map[string]Access{}, Teams: map[string]Access{}, Keys: map[string]Access{}}
	for _, o := range doc.Organizations {
		if _, dup := a.Organizations[o.Name]; dup {
			continue
		}
		a.Organizations[o.Name] = refResult(doc, []refLevel{{LevelOrganization, o.Name, o.MCP, o.DenyTools}}, o.Blocked).access()
	}
	for _, t := range doc.Teams {
		if _, dup := a.Teams[t.Name]; dup {
			continue
		}
		var levels []refLevel
		blocked := t.Blocked
		if o := refOrg(doc, t.Organization); o != nil {
			levels = append(levels, refLevel{LevelOrganization, o.Name, o.MCP, o.DenyTools})
			blocked = blocked || o.Blocked
		}
		levels = append(levels, refLevel{LevelTeam, t.Name, t.MCP, t.DenyTools})
		a.Teams[t.Name] = refResult(doc, levels, blocked).access()
	}
	for _, k := range doc.Keys {
		if _, dup := a.Keys[k.Name]; dup {
			continue
		}
		acc, err := refAccessFor(doc, Request{Key: k.Name})
		if err != nil {
			panic(err)
		}
		a.Keys[k.Name] = acc
	}
	return a
}

type refDiffEntry struct {
	Kind         PrincipalKind
	Name         string
	Gained, Lost Access
}

func accessMinus(a, b Access) Access {
	out := Access{}
	for s, ts := range a {
		for _, t := range ts {
			if !b.Has(s, t) {
				out[s] = append(out[s], t)
			}
		}
	}
	return out
}

// refDiff is the brute-force diff: every principal of both states, recomputed from scratch.
func refDiff(before, after *models.Document) []refDiffEntry {
	b, a := refAll(before), refAll(after)
	var out []refDiffEntry
	for _, kind := range []PrincipalKind{KindOrganization, KindTeam, KindKey} {
		var bm, am map[string]Access
		switch kind {
		case KindOrganization:
			bm, am = b.Organizations, a.Organizations
		case KindTeam:
			bm, am = b.Teams, a.Teams
		default:
			bm, am = b.Keys, a.Keys
		}
		names := map[string]bool{}
		for n := range bm {
			names[n] = true
		}
		for n := range am {
			names[n] = true
		}
		var sorted []string
		for n := range names {
			sorted = append(sorted, n)
		}
		slices.Sort(sorted)
		for _, n := range sorted {
			g, l := accessMinus(am[n], bm[n]), accessMinus(bm[n], am[n])
			if len(g) > 0 || len(l) > 0 {
				out = append(out, refDiffEntry{kind, n, g, l})
			}
		}
	}
	return out
}
