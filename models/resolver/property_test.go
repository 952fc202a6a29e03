package resolver

import (
	"slices"
	"testing"

	"github.com/warden-mcp/warden/models"
	"pgregory.net/rapid"
)

// Small random documents. Name pools are tiny so references collide, and every pool has a
// dangling name ("sx", "gx", "tx", ...) so dangling references are exercised too.
var (
	poolServers  = []string{"s0", "s1", "s2", "s3"}
	poolTools    = []string{"a", "b", "c", "d"}
	poolOrgs     = []string{"o0", "o1", "o2"}
	poolTeams    = []string{"t0", "t1", "t2", "t3"}
	poolKeys     = []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	poolAgents   = []string{"a0", "a1"}
	poolUsers    = []string{"u0", "u1"}
	poolGroups   = []string{"g0", "g1"}
	poolToolsets = []string{"ts0", "ts1"}
)

func withDangling(pool []string, x string) []string { return append(slices.Clone(pool), x) }

// subset keeps each element with probability 1/odds.
func subset(t *rapid.T, pool []string, odds int, label string) []string {
	var out []string
	for _, x := range pool {
		if rapid.IntRange(0, odds-1).Draw(t, label) == 0 {
			out = append(out, x)
		}
	}
	return out
}

func allToolNames() []string {
	var out []string
	for _, s := range withDangling(poolServers, "sx") {
		for _, tl := range poolTools {
			out = append(out, s+"/"+tl)
		}
	}
	return append(out, "bad", "s0/")
}

func drawMCP(t *rapid.T) *models.MCPPermission {
	if rapid.IntRange(0, 1).Draw(t, "has_mcp") == 0 {
		return nil
	}
	p := &models.MCPPermission{
		Servers:      subset(t, withDangling(poolServers, "sx"), 3, "servers"),
		AccessGroups: subset(t, withDangling(poolGroups, "gx"), 3, "groups"),
		Toolsets:     subset(t, withDangling(poolToolsets, "tsx"), 3, "toolsets"),
	}
	for _, s := range withDangling(poolServers, "sx") {
		if rapid.IntRange(0, 4).Draw(t, "has_tool_list") == 0 {
			if p.Tools == nil {
				p.Tools = map[string][]string{}
			}
			p.Tools[s] = subset(t, append(slices.Clone(poolTools), "z"), 2, "tool_list")
		}
	}
	return p
}

func drawDeny(t *rapid.T) []string { return subset(t, allToolNames(), 12, "deny") }

func drawBlocked(t *rapid.T) bool { return rapid.IntRange(0, 9).Draw(t, "blocked") == 0 }

func drawServer(t *rapid.T, name string) models.ServerDoc {
	return models.ServerDoc{Name: name, Public: rapid.Bool().Draw(t, "public"),
		Tools: tools(subset(t, poolTools, 2, "catalogue")...), DisabledTools: subset(t, poolTools, 5, "disabled")}
}

func drawOrg(t *rapid.T, name string) models.OrganizationDoc {
	return models.OrganizationDoc{Name: name, Blocked: drawBlocked(t), MCP: drawMCP(t), DenyTools: drawDeny(t)}
}

func drawTeam(t *rapid.T, name string) models.TeamDoc {
	return models.TeamDoc{Name: name, Organization: rapid.SampledFrom(append([]string{"", "ox"}, poolOrgs...)).Draw(t, "team_org"),
		Blocked: drawBlocked(t), MCP: drawMCP(t), DenyTools: drawDeny(t)}
}

func drawKey(t *rapid.T, name string) models.KeyDoc {
	k := models.KeyDoc{Name: name,
		Team:         rapid.SampledFrom(append([]string{"", "", "tx"}, poolTeams...)).Draw(t, "key_team"),
		Organization: rapid.SampledFrom(append([]string{"", "ox"}, poolOrgs...)).Draw(t, "key_org"),
		Blocked:      drawBlocked(t), MCP: drawMCP(t), DenyTools: drawDeny(t)}
	if rapid.IntRange(0, 2).Draw(t, "bound") == 0 {
		k.Agent = rapid.SampledFrom(append([]string{"ax"}, poolAgents...)).Draw(t, "key_agent")
	}
	return k
}

func drawAgent(t *rapid.T, name string) models.AgentDoc {
	return models.AgentDoc{Name: name, MCP: drawMCP(t), DenyTools: drawDeny(t)}
}

func drawUser(t *rapid.T, name string) models.EndUserDoc {
	return models.EndUserDoc{Name: name, MCP: drawMCP(t), DenyTools: drawDeny(t)}
}

func drawDoc(t *rapid.T) *models.Document {
	d := &models.Document{Version: 1}
	for _, s := range poolServers {
		if rapid.IntRange(0, 3).Draw(t, "has_server") > 0 {
			d.Servers = append(d.Servers, drawServer(t, s))
		}
	}
	for _, g := range poolGroups {
		d.AccessGroups = append(d.AccessGroups, models.AccessGroupDoc{Name: g, Servers: subset(t, withDangling(poolServers, "sx"), 2, "group")})
	}
	for _, ts := range poolToolsets {
		d.Toolsets = append(d.Toolsets, models.ToolsetDoc{Name: ts, Tools: subset(t, allToolNames(), 5, "toolset")})
	}
	for _, n := range poolOrgs {
		if rapid.IntRange(0, 3).Draw(t, "has_org") > 0 {
			d.Organizations = append(d.Organizations, drawOrg(t, n))
		}
	}
	for _, n := range poolTeams {
		if rapid.IntRange(0, 3).Draw(t, "has_team") > 0 {
			d.Teams = append(d.Teams, drawTeam(t, n))
		}
	}
	for _, n := range poolKeys {
		if rapid.IntRange(0, 4).Draw(t, "has_key") > 0 {
			d.Keys = append(d.Keys, drawKey(t, n))
		}
	}
	for _, n := range poolAgents {
		if rapid.IntRange(0, 3).Draw(t, "has_agent") > 0 {
			d.Agents = append(d.Agents, drawAgent(t, n))
		}
	}
	for _, n := range poolUsers {
		if rapid.IntRange(0, 3).Draw(t, "has_user") > 0 {
			d.EndUsers = append(d.EndUsers, drawUser(t, n))
		}
	}
	return d
}

// upsert replaces the entity of that name or appends it.
func upsert[D any](list []D, d D, name func(*D) string) []D {
	for i := range list {
		if name(&list[i]) == name(&d) {
			list[i] = d
			return list
		}
	}
	return append(list, d)
}

func remove[D any](list []D, n string, name func(*D) string) []D {
	return slices.DeleteFunc(list, func(d D) bool { return name(&d) == n })
}

// mutate returns a changed copy of d: one to three random edits of any kind.
func mutate(t *rapid.T, d *models.Document) *models.Document {
	d = d.Clone()
	for n := rapid.IntRange(1, 3).Draw(t, "edits"); n > 0; n-- {
		switch rapid.IntRange(0, 9).Draw(t, "edit") {
		case 0:
			d.Organizations = upsert(d.Organizations, drawOrg(t, rapid.SampledFrom(poolOrgs).Draw(t, "o")), orgName)
		case 1:
			d.Teams = upsert(d.Teams, drawTeam(t, rapid.SampledFrom(poolTeams).Draw(t, "t")), teamName)
		case 2, 3:
			d.Keys = upsert(d.Keys, drawKey(t, rapid.SampledFrom(poolKeys).Draw(t, "k")), keyName)
		case 4:
			d.Agents = upsert(d.Agents, drawAgent(t, rapid.SampledFrom(poolAgents).Draw(t, "a")), agentName)
		case 5:
			d.EndUsers = upsert(d.EndUsers, drawUser(t, rapid.SampledFrom(poolUsers).Draw(t, "u")), userName)
		case 6:
			d.Servers = upsert(d.Servers, drawServer(t, rapid.SampledFrom(poolServers).Draw(t, "s")), func(s *models.ServerDoc) string { return s.Name })
		case 7:
			g := models.AccessGroupDoc{Name: rapid.SampledFrom(poolGroups).Draw(t, "g"), Servers: subset(t, poolServers, 2, "group")}
			d.AccessGroups = upsert(d.AccessGroups, g, func(g *models.AccessGroupDoc) string { return g.Name })
			ts := models.ToolsetDoc{Name: rapid.SampledFrom(poolToolsets).Draw(t, "ts"), Tools: subset(t, allToolNames(), 4, "toolset")}
			d.Toolsets = upsert(d.Toolsets, ts, func(t *models.ToolsetDoc) string { return t.Name })
		case 8:
			switch rapid.IntRange(0, 2).Draw(t, "remove") {
			case 0:
				d.Organizations = remove(d.Organizations, rapid.SampledFrom(poolOrgs).Draw(t, "o"), orgName)
			case 1:
				d.Teams = remove(d.Teams, rapid.SampledFrom(poolTeams).Draw(t, "t"), teamName)
			default:
				d.Keys = remove(d.Keys, rapid.SampledFrom(poolKeys).Draw(t, "k"), keyName)
			}
		case 9:
			// no-op edit: same document
		}
	}
	return d
}

func orgName(o *models.OrganizationDoc) string { return o.Name }
func teamName(o *models.TeamDoc) string        { return o.Name }
func keyName(o *models.KeyDoc) string          { return o.Name }
func agentName(o *models.AgentDoc) string      { return o.Name }
func userName(o *models.EndUserDoc) string     { return o.Name }

func sameAll(t *rapid.T, what string, got, want AllAccess) {
	for _, pair := range []struct {
		kind      string
		got, want map[string]Access
	}{{"organization", got.Organizations, want.Organizations}, {"team", got.Teams, want.Teams}, {"key", got.Keys, want.Keys}} {
		if len(pair.got) != len(pair.want) {
			t.Fatalf("%s: %d %ss, want %d", what, len(pair.got), pair.kind, len(pair.want))
		}
		for n, w := range pair.want {
			if g, ok := pair.got[n]; !ok || !g.Equal(w) {
				t.Fatalf("%s: %s %q = %s, want %s", what, pair.kind, n, g, w)
			}
		}
	}
}

func sameDiff(t *rapid.T, what string, got DiffResult, want []refDiffEntry) {
	if len(got.Principals) != len(want) {
		t.Fatalf("%s: %d principals, want %d\n got: %s\nwant: %v", what, len(got.Principals), len(want), got, want)
	}
	for i, w := range want {
		g := got.Principals[i]
		if g.Kind != w.Kind || g.Name != w.Name || !g.Gained.Equal(w.Gained) || !g.Lost.Equal(w.Lost) {
			t.Fatalf("%s: principal %d = %s %s +%s -%s, want %s %s +%s -%s", what, i, g.Kind, g.Name, g.Gained, g.Lost, w.Kind, w.Name, w.Gained, w.Lost)
		}
	}
}

// TestPropertyDecideAgrees: Decide agrees with KeyAccess/KeyAccessFor and with the reference
// model for every key, server and tool, with random end users and agents.
func TestPropertyDecideAgrees(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		doc := drawDoc(t)
		s := Build(doc)
		sameAll(t, "AllAccess", s.AllAccess(), refAll(doc))
		for _, k := range withDangling(poolKeys, "kx") {
			contexts := [][2]string{{"", ""}}
			for range 2 {
				contexts = append(contexts, [2]string{
					rapid.SampledFrom(append([]string{"", "ux"}, poolUsers...)).Draw(t, "end_user"),
					rapid.SampledFrom(append([]string{"", "ax"}, poolAgents...)).Draw(t, "agent")})
			}
			for _, c := range contexts {
				r := Request{Key: k, EndUser: c[0], Agent: c[1]}
				acc, err := s.KeyAccessFor(r)
				refAcc, refErr := refAccessFor(doc, r)
				if (err == nil) != (refErr == nil) {
					t.Fatalf("KeyAccessFor(%+v) err = %v, reference %v", r, err, refErr)
				}
				if err == nil && !acc.Equal(refAcc) {
					t.Fatalf("KeyAccessFor(%+v) = %s, reference %s", r, acc, refAcc)
				}
				if c == [2]string{} && err == nil {
					ka, _ := s.KeyAccess(k)
					if !ka.Equal(acc) {
						t.Fatalf("KeyAccess(%s) = %s, KeyAccessFor = %s", k, ka, acc)
					}
				}
				for _, srv := range withDangling(poolServers, "sx") {
					for _, tl := range append(slices.Clone(poolTools), "z") {
						r.Server, r.Tool = srv, tl
						d, err := s.Decide(r)
						if (err == nil) != (refErr == nil) {
							t.Fatalf("Decide(%+v) err = %v, KeyAccessFor err %v", r, err, refErr)
						}
						if err != nil {
							continue
						}
						if d.Allowed != acc.Has(srv, tl) {
							t.Fatalf("Decide(%+v) = %+v but KeyAccessFor = %s", r, d, acc)
						}
						if rd, _ := refDecide(doc, r); rd != d {
							t.Fatalf("Decide(%+v) = %+v, reference %+v", r, d, rd)
						}
						if d.Allowed != (d.DecidedBy == "") {
							t.Fatalf("Decide(%+v) = %+v: allowed iff no decider", r, d)
						}
					}
				}
			}
		}
	})
}

// TestPropertyDiff: Diff(a, a) is empty; Diff(a, b) is the brute-force diff, mirrors Diff(b, a),
// and applied to AllAccess(a) gives AllAccess(b); DiffScoped with Changes, Update and the With*
// derivations all agree with the brute-force diff.
func TestPropertyDiff(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		da := drawDoc(t)
		db := mutate(t, da)
		a, b := Build(da), Build(db)
		want := refDiff(da, db)

		if d := Diff(a, a); !d.Empty() {
			t.Fatalf("Diff(a, a) = %s", d)
		}
		if d := Diff(a, Build(da)); !d.Empty() {
			t.Fatalf("Diff(a, Build(a)) = %s", d)
		}
		fwd, back := Diff(a, b), Diff(b, a)
		sameDiff(t, "Diff(a, b)", fwd, want)
		if len(fwd.Principals) != len(back.Principals) {
			t.Fatalf("Diff(b, a) has %d principals, Diff(a, b) %d", len(back.Principals), len(fwd.Principals))
		}
		for i, p := range fwd.Principals {
			q := back.Principals[i]
			if p.Kind != q.Kind || p.Name != q.Name || !p.Gained.Equal(q.Lost) || !p.Lost.Equal(q.Gained) {
				t.Fatalf("Diff(b, a) does not mirror Diff(a, b) at %s %s", p.Kind, p.Name)
			}
		}
		if fwd.Summary.ToolsGained != back.Summary.ToolsLost || fwd.Summary.KeysGaining != back.Summary.KeysLosing {
			t.Fatalf("summaries do not mirror: %+v %+v", fwd.Summary, back.Summary)
		}
		// A principal that exists on one side only has empty access on the other.
		sameAll(t, "AllAccess(a) + Diff(a, b)", dropEmpty(applyDiff(a.AllAccess(), fwd)), dropEmpty(b.AllAccess()))

		sameDiff(t, "DiffScoped(Changes)", DiffScoped(a, b, Changes(da, db)), want)
		sameDiff(t, "DiffScoped(All)", DiffScoped(a, b, Scope{All: true}), want)

		u := a.Update(db)
		sameAll(t, "Update", u.AllAccess(), refAll(db))
		sameDiff(t, "Diff(a, a.Update(b))", Diff(a, u), want)
		sameDiff(t, "Diff(a.Update(b), a)", Diff(u, a), refDiff(db, da))
		sameDiff(t, "Diff(b, a.Update(b))", Diff(b, u), nil)
		checkDecisions(t, u, db)
	})
}

// TestPropertyDerive: every With* derivation equals Build of the edited document, and Diff
// against its parent (scoped by lineage) equals the brute-force diff, also across two steps.
func TestPropertyDerive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		da := drawDoc(t)
		a := Build(da)
		cur, dcur := a, da
		for step := rapid.IntRange(1, 3).Draw(t, "steps"); step > 0; step-- {
			dn := dcur.Clone()
			var next *Snapshot
			switch rapid.IntRange(0, 4).Draw(t, "with") {
			case 0:
				o := drawOrg(t, rapid.SampledFrom(withDangling(poolOrgs, "ox")).Draw(t, "o"))
				dn.Organizations = upsert(dn.Organizations, o, orgName)
				next = cur.WithOrganization(o)
			case 1:
				x := drawTeam(t, rapid.SampledFrom(withDangling(poolTeams, "tx")).Draw(t, "t"))
				dn.Teams = upsert(dn.Teams, x, teamName)
				next = cur.WithTeam(x)
			case 2:
				k := drawKey(t, rapid.SampledFrom(withDangling(poolKeys, "kx")).Draw(t, "k"))
				dn.Keys = upsert(dn.Keys, k, keyName)
				next = cur.WithKey(k)
			case 3:
				x := drawAgent(t, rapid.SampledFrom(withDangling(poolAgents, "ax")).Draw(t, "a"))
				dn.Agents = upsert(dn.Agents, x, agentName)
				next = cur.WithAgent(x)
			default:
				x := drawUser(t, rapid.SampledFrom(withDangling(poolUsers, "ux")).Draw(t, "u"))
				dn.EndUsers = upsert(dn.EndUsers, x, userName)
				next = cur.WithEndUser(x)
			}
			sameAll(t, "derived", next.AllAccess(), refAll(dn))
			sameDiff(t, "Diff(parent, derived)", Diff(cur, next), refDiff(dcur, dn))
			sameDiff(t, "Diff(derived, parent)", Diff(next, cur), refDiff(dn, dcur))
			sameDiff(t, "Diff(root, derived)", Diff(a, next), refDiff(da, dn))
			checkDecisions(t, next, dn)
			cur, dcur = next, dn
		}
		// The parent is untouched by derivations.
		sameAll(t, "root after derivations", a.AllAccess(), refAll(da))
	})
}

// checkDecisions compares Decide with the reference model for every key, server and tool.
func checkDecisions(t *rapid.T, s *Snapshot, doc *models.Document) {
	for _, k := range poolKeys {
		for _, srv := range poolServers {
			for _, tl := range poolTools {
				for _, u := range []string{"", "u0"} {
					r := Request{Key: k, Server: srv, Tool: tl, EndUser: u}
					d, err := s.Decide(r)
					rd, rerr := refDecide(doc, r)
					if (err == nil) != (rerr == nil) || d != rd {
						t.Fatalf("Decide(%+v) = %+v %v, reference %+v %v", r, d, err, rd, rerr)
					}
				}
			}
		}
	}
}

// applyDiff applies a diff's gains and losses to a copy of all.
func applyDiff(all AllAccess, d DiffResult) AllAccess {
	out := AllAccess{Organizations: map[string]Access{}, Teams: map[string]Access{}, Keys: map[string]Access{}}
	sets := map[PrincipalKind]map[string]refSet{KindOrganization: {}, KindTeam: {}, KindKey: {}}
	for kind, m := range map[PrincipalKind]map[string]Access{KindOrganization: all.Organizations, KindTeam: all.Teams, KindKey: all.Keys} {
		for n, a := range m {
			sets[kind][n] = refSet{}
			for s, ts := range a {
				for _, t := range ts {
					sets[kind][n].add(s, t)
				}
			}
		}
	}
	for _, p := range d.Principals {
		rs := sets[p.Kind][p.Name]
		if rs == nil {
			rs = refSet{}
			sets[p.Kind][p.Name] = rs
		}
		for s, ts := range p.Gained {
			for _, t := range ts {
				rs.add(s, t)
			}
		}
		for s, ts := range p.Lost {
			for _, t := range ts {
				delete(rs[s], t)
			}
		}
	}
	for kind, m := range sets {
		for n, rs := range m {
			var dst map[string]Access
			switch kind {
			case KindOrganization:
				dst = out.Organizations
			case KindTeam:
				dst = out.Teams
			default:
				dst = out.Keys
			}
			dst[n] = rs.access()
		}
	}
	return out
}

func dropEmpty(all AllAccess) AllAccess {
	for _, m := range []map[string]Access{all.Organizations, all.Teams, all.Keys} {
		for n, a := range m {
			if len(a) == 0 {
				delete(m, n)
			}
		}
	}
	return all
}

// TestPropertyAddServerMonotone: adding a server to a level's (non-nil) mcp block never removes
// access from any principal (in particular when it is the only restricting level).
func TestPropertyAddServerMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		da := drawDoc(t)
		db := da.Clone()
		var targets []*models.MCPPermission
		for i := range db.Organizations {
			targets = append(targets, db.Organizations[i].MCP)
		}
		for i := range db.Teams {
			targets = append(targets, db.Teams[i].MCP)
		}
		for i := range db.Keys {
			targets = append(targets, db.Keys[i].MCP)
		}
		for i := range db.Agents {
			targets = append(targets, db.Agents[i].MCP)
		}
		targets = slices.DeleteFunc(targets, func(p *models.MCPPermission) bool { return p == nil })
		if len(targets) == 0 {
			t.Skip("no restricting level")
		}
		p := targets[rapid.IntRange(0, len(targets)-1).Draw(t, "level")]
		p.Servers = append(p.Servers, rapid.SampledFrom(poolServers).Draw(t, "server"))
		d := Diff(Build(da), Build(db))
		if d.Summary.ToolsLost != 0 {
			t.Fatalf("adding a server removed access: %s", d)
		}
	})
}
