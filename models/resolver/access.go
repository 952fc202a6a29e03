package resolver

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/warden-mcp/warden/models"
)

// Access is what a principal may use: server name -> sorted tool names. Servers without tools
// are left out. It marshals to JSON as {"server": ["tool", ...]} and is never nil when returned
// by this package.
type Access map[string][]string

// Has reports whether the access holds server/tool.
func (a Access) Has(server, tool string) bool {
	_, ok := slices.BinarySearch(a[server], tool)
	return ok
}

// Count is the number of tools.
func (a Access) Count() int {
	n := 0
	for _, t := range a {
		n += len(t)
	}
	return n
}

// Servers returns the server names, sorted.
func (a Access) Servers() []string {
	out := make([]string, 0, len(a))
	for s := range a {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// String is "server: tool, tool; server: tool" in name order, or "nothing".
func (a Access) String() string {
	if len(a) == 0 {
		return "nothing"
	}
	var b strings.Builder
	for i, s := range a.Servers() {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
		b.WriteString(": ")
		b.WriteString(strings.Join(a[s], ", "))
	}
	return b.String()
}

// Equal reports whether two accesses hold the same tools (nil and empty are equal).
func (a Access) Equal(b Access) bool {
	if len(a) != len(b) {
		return false
	}
	for s, t := range a {
		if !slices.Equal(t, b[s]) {
			return false
		}
	}
	return true
}

// AllAccess is the access of every organization, team and key.
type AllAccess struct {
	Organizations map[string]Access `json:"organizations"`
	Teams         map[string]Access `json:"teams"`
	Keys          map[string]Access `json:"keys"`
}

func (c *catalogue) access(t *tset) Access {
	if t == nil {
		return Access{}
	}
	a := make(Access, t.ns)
	for i := 0; i < t.ns; i++ {
		s := t.server(i)
		a[c.names[s]] = c.toolNames(s, t.words(i))
	}
	return a
}

func (c *catalogue) toolNames(s int32, w []uint64) []string {
	n := 0
	for _, x := range w {
		n += bits.OnesCount64(x)
	}
	out := make([]string, 0, n)
	for k, x := range w {
		for x != 0 {
			b := bits.TrailingZeros64(x)
			out = append(out, c.tools[s][k*64+b])
			x &= x - 1
		}
	}
	return out
}

// OrganizationAccess is what an organization's own chain, [organization], allows; false if
// there is no such organization.
func (s *Snapshot) OrganizationAccess(name string) (Access, bool) {
	i, ok := s.orgIdx[name]
	if !ok {
		return nil, false
	}
	return s.w.cat.access(s.orgs[i].final), true
}

// TeamAccess is what the chain [organization, team] allows; false if there is no such team.
func (s *Snapshot) TeamAccess(name string) (Access, bool) {
	i, ok := s.teamIdx[name]
	if !ok {
		return nil, false
	}
	return s.w.cat.access(s.teams[i].final), true
}

// KeyAccess is what the chain [organization, team, key, bound agent] allows; false if there is
// no such key.
func (s *Snapshot) KeyAccess(name string) (Access, bool) {
	i, ok := s.keyIdx[name]
	if !ok {
		return nil, false
	}
	return s.w.cat.access(s.keys[i].final), true
}

// KeyAccessFor is what a key may use for one request's end user and agent: the filter for a
// tools/list answer. Server and Tool of the request are ignored. A request naming another agent
// than the key's bound one gets empty access (Decide refuses every call of it); an unknown key
// or agent is an error, as in Decide.
func (s *Snapshot) KeyAccessFor(r Request) (Access, error) {
	c, err := s.resolve(&r)
	if err != nil {
		return nil, err
	}
	return s.w.cat.access(s.chainResult(c)), nil
}

// chainResult is the resolved set of a request's whole chain.
func (s *Snapshot) chainResult(c chain) *tset {
	if _, _, blocked := s.blocked(c.k); blocked || c.mismatch {
		return s.w.empty
	}
	if c.agent == c.k.agent && c.user < 0 {
		return c.k.final
	}
	b := newBuilder(s.w)
	st := c.k.st
	if c.agent >= 0 {
		st = b.apply(st, s.agents[c.agent].level)
	}
	if c.user >= 0 {
		st = b.apply(st, s.users[c.user].level)
	}
	return b.final(st)
}

// AllAccess is the access of every organization, team and key.
func (s *Snapshot) AllAccess() AllAccess {
	cat := s.w.cat
	a := AllAccess{Organizations: make(map[string]Access, len(s.orgs)), Teams: make(map[string]Access, len(s.teams)),
		Keys: make(map[string]Access, len(s.keys))}
	memo := map[*tset]Access{}
	conv := func(t *tset) Access {
		if x, ok := memo[t]; ok {
			return cloneAccess(x)
		}
		x := cat.access(t)
		memo[t] = x
		return cloneAccess(x)
	}
	for i := range s.orgs {
		a.Organizations[s.orgs[i].name] = conv(s.orgs[i].final)
	}
	for i := range s.teams {
		a.Teams[s.teams[i].name] = conv(s.teams[i].final)
	}
	for i := range s.keys {
		a.Keys[s.keys[i].name()] = conv(s.keys[i].final)
	}
	return a
}

func cloneAccess(a Access) Access {
	c := make(Access, len(a))
	for s, t := range a {
		c[s] = t // tool slices are never modified by this package; map is the caller's
	}
	return c
}

// Organizations returns every organization name, sorted.
func (s *Snapshot) Organizations() []string {
	return sortedNames(s.orgs, func(o *orgRec) string { return o.name })
}

// Teams returns every team name, sorted.
func (s *Snapshot) Teams() []string {
	return sortedNames(s.teams, func(t *teamRec) string { return t.name })
}

// Keys returns every key name, sorted.
func (s *Snapshot) Keys() []string {
	return sortedNames(s.keys, func(k *keyRec) string { return k.name() })
}

func sortedNames[T any](recs []T, name func(*T) string) []string {
	out := make([]string, len(recs))
	for i := range recs {
		out[i] = name(&recs[i])
	}
	slices.Sort(out)
	return out
}

// OrganizationTeams returns the teams of an organization, sorted (index: organization -> teams).
func (s *Snapshot) OrganizationTeams(org string) []string {
	ids := s.idx.teamsByOrg[org]
	out := make([]string, 0, len(ids))
	for _, t := range ids {
		out = append(out, s.teams[t].name)
	}
	slices.Sort(out)
	return out
}

// TeamKeys returns the keys of a team, sorted (index: team -> keys).
func (s *Snapshot) TeamKeys(team string) []string {
	ti, ok := s.teamIdx[team]
	if !ok {
		return []string{}
	}
	ids := s.idx.keysByTeam[ti]
	out := make([]string, 0, len(ids))
	for _, k := range ids {
		out = append(out, s.keys[k].name())
	}
	slices.Sort(out)
	return out
}

// OrganizationKeys returns the teamless keys directly under an organization, sorted.
func (s *Snapshot) OrganizationKeys(org string) []string {
	ids := s.idx.teamlessByOrg[org]
	out := make([]string, 0, len(ids))
	for _, k := range ids {
		if s.keys[k].org >= 0 {
			out = append(out, s.keys[k].name())
		}
	}
	slices.Sort(out)
	return out
}

// KeyInfo is where a key sits.
type KeyInfo struct {
	Name         string `json:"name"`
	Organization string `json:"organization,omitempty"` // effective organization ("" if none)
	Team         string `json:"team,omitempty"`         // "" if none or not defined
	Agent        string `json:"agent,omitempty"`        // bound agent as named by the key
	Blocked      bool   `json:"blocked,omitempty"`      // the key, its team or its organization is blocked
	// BlockedBy lists every level of the key's chain that is blocked, outermost first
	// (organization, team, key); a decision names the first.
	BlockedBy []LevelKind `json:"blocked_by,omitempty"`
	// AgentMissing: the key names an agent that the state does not define (every call with the
	// key is refused).
	AgentMissing bool `json:"agent_missing,omitempty"`
}

// KeyInfo returns where a key sits; false if there is no such key.
func (s *Snapshot) KeyInfo(name string) (KeyInfo, bool) {
	i, ok := s.keyIdx[name]
	if !ok {
		return KeyInfo{}, false
	}
	k := &s.keys[i]
	info := KeyInfo{Name: k.name(), Organization: s.orgName(k.org), Team: s.teamName(k.team), Agent: k.doc.Agent,
		AgentMissing: k.doc.Agent != "" && k.agent < 0}
	// In the order of blocked (decide.go), which decisions report.
	if k.org >= 0 && s.orgs[k.org].blocked {
		info.BlockedBy = append(info.BlockedBy, LevelOrganization)
	}
	if k.team >= 0 && s.teams[k.team].blocked {
		info.BlockedBy = append(info.BlockedBy, LevelTeam)
	}
	if k.blocked {
		info.BlockedBy = append(info.BlockedBy, LevelKey)
	}
	info.Blocked = len(info.BlockedBy) > 0
	return info, true
}

// TeamInfo is where a team sits.
type TeamInfo struct {
	Name         string `json:"name"`
	Organization string `json:"organization,omitempty"` // "" if none or not defined
	// BlockedBy lists every level of the team's chain that is blocked, outermost first
	// (organization, team): a blocked team's keys get no MCP access.
	BlockedBy []LevelKind `json:"blocked_by,omitempty"`
}

// TeamInfo returns where a team sits; false if there is no such team.
func (s *Snapshot) TeamInfo(name string) (TeamInfo, bool) {
	i, ok := s.teamIdx[name]
	if !ok {
		return TeamInfo{}, false
	}
	t := &s.teams[i]
	info := TeamInfo{Name: t.name, Organization: s.orgName(t.org)}
	if t.org >= 0 && s.orgs[t.org].blocked {
		info.BlockedBy = append(info.BlockedBy, LevelOrganization)
	}
	if t.blocked {
		info.BlockedBy = append(info.BlockedBy, LevelTeam)
	}
	return info, true
}

// TeamOrganization returns a team's organization ("" if none); false if there is no such team.
func (s *Snapshot) TeamOrganization(team string) (string, bool) {
	i, ok := s.teamIdx[team]
	if !ok {
		return "", false
	}
	return s.orgName(s.teams[i].org), true
}

func (s *Snapshot) orgName(i int32) string {
	if i < 0 {
		return ""
	}
	return s.orgs[i].name
}

func (s *Snapshot) teamName(i int32) string {
	if i < 0 {
		return ""
	}
	return s.teams[i].name
}

// OrganizationAccessAs is what the organization named org.Name would be allowed with org's
// settings instead of its own: only that level is computed, none of its teams and keys, so a
// settings page can say what each MCP choice gives without deriving a snapshot. False if there
// is no such organization.
func (s *Snapshot) OrganizationAccessAs(org models.OrganizationDoc) (Access, bool) {
	if _, ok := s.orgIdx[org.Name]; !ok {
		return nil, false
	}
	b := newBuilder(s.w)
	st := b.apply(b.initial, b.level(org.MCP, org.DenyTools))
	return s.w.cat.access(b.result(st, org.Blocked)), true
}

// TeamAccessAs is OrganizationAccessAs for a team: what the chain [organization, team] would
// allow with team's settings and placement (by name) instead of its own, computing that team
// alone, none of its keys. False if there is no such team.
func (s *Snapshot) TeamAccessAs(team models.TeamDoc) (Access, bool) {
	if _, ok := s.teamIdx[team.Name]; !ok {
		return nil, false
	}
	b := newBuilder(s.w)
	r := b.teamRec(&team)
	r.org = lookup(s.orgIdx, team.Organization)
	b.computeTeamRec(s, &r)
	return s.w.cat.access(r.final), true
}

// KeyAccessAs is OrganizationAccessAs for a key: what the key's chain would allow with key's
// settings, placement and bound agent (by name) instead of its own. False if there is no such
// key.
func (s *Snapshot) KeyAccessAs(key models.KeyDoc) (Access, bool) {
	if _, ok := s.keyIdx[key.Name]; !ok {
		return nil, false
	}
	b := newBuilder(s.w)
	r := b.keyRec(&key)
	s.resolveKey(&r)
	b.computeKeyRec(s, &r)
	return s.w.cat.access(r.final), true
}
