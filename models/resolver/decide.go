package resolver

import (
	"fmt"

	"github.com/warden-mcp/warden/models"
)

// Request is one tool call (or, for KeyAccessFor, one tools/list) as the gateway sees it.
type Request struct {
	Key     string `json:"key"`
	Server  string `json:"server,omitempty"`
	Tool    string `json:"tool,omitempty"`
	EndUser string `json:"end_user,omitempty"`
	Agent   string `json:"agent,omitempty"`
}

// DecidedBy names what decided a denial; it is empty when the call is allowed.
type DecidedBy string

const (
	ByBlocked      DecidedBy = "blocked"
	ByServer       DecidedBy = "server"
	ByOrganization DecidedBy = "organization"
	ByTeam         DecidedBy = "team"
	ByKey          DecidedBy = "key"
	ByAgent        DecidedBy = "agent"
	ByEndUser      DecidedBy = "end_user"
	ByDefault      DecidedBy = "default"
)

// LevelKind is one level of the chain.
type LevelKind string

const (
	LevelOrganization LevelKind = "organization"
	LevelTeam         LevelKind = "team"
	LevelKey          LevelKind = "key"
	LevelAgent        LevelKind = "agent"
	LevelEndUser      LevelKind = "end_user"
)

// Cause says why a denial happened, finer than DecidedBy.
type Cause string

const (
	CauseBlocked       Cause = "blocked"        // Level/Principal is blocked
	CauseAgentMismatch Cause = "agent_mismatch" // the key is bound to Principal; the request named another agent
	CauseUnknownServer Cause = "unknown_server" // no server of that name
	CauseUnknownTool   Cause = "unknown_tool"   // the server has no such tool
	CauseDisabledTool  Cause = "disabled_tool"  // the tool is in the server's disabled_tools
	CauseNotGranted    Cause = "not_granted"    // Principal's mcp block does not grant the tool
	CauseDenyList      Cause = "deny_tools"     // Principal's deny_tools names the tool
	CauseNotPublic     Cause = "not_public"     // no level restricts and the server is not public
)

// Decision is the answer for one tool call.
type Decision struct {
	Allowed   bool      `json:"allowed"`
	DecidedBy DecidedBy `json:"decided_by,omitempty"`
	// Principal is the name of what decided: the blocked or deciding level's name, the server
	// for DecidedBy "server", the key's bound agent for an agent mismatch, "" for "default".
	Principal string `json:"principal,omitempty"`
	// Level is the chain level Principal is (for "blocked": which level is blocked).
	Level LevelKind `json:"level,omitempty"`
	Cause Cause     `json:"cause,omitempty"`
}

func errUnknownKey(name string) error {
	return models.Errorf(models.ENotFound, "unknown key %q", name)
}

func errUnknownAgent(name string) error {
	return models.Errorf(models.ENotFound, "unknown agent %q", name)
}

// chain is a key's resolved chain for one request.
type chain struct {
	k        *keyRec
	agent    int32 // -1: no agent level (or a bound agent that is not defined)
	user     int32 // -1: no end user level
	mismatch bool  // the request named another agent than the bound one
}

// resolve finds the key, agent and end user of a request without allocating (except for the
// error on bad input).
func (s *Snapshot) resolve(r *Request) (chain, error) {
	ki, ok := s.keyIdx[r.Key]
	if !ok {
		return chain{}, errUnknownKey(r.Key)
	}
	c := chain{k: &s.keys[ki], user: -1}
	c.agent = c.k.agent
	if r.Agent != "" && r.Agent != c.k.doc.Agent {
		ai, ok := s.agentIdx[r.Agent]
		if !ok {
			return chain{}, errUnknownAgent(r.Agent)
		}
		if c.k.doc.Agent != "" {
			c.mismatch = true
		} else {
			c.agent = ai
		}
	}
	if r.EndUser != "" {
		if ui, ok := s.userIdx[r.EndUser]; ok {
			c.user = ui
		}
	}
	return c, nil
}

// blocked returns the first blocked level of the chain, if any.
func (s *Snapshot) blocked(k *keyRec) (LevelKind, string, bool) {
	if k.org >= 0 && s.orgs[k.org].blocked {
		return LevelOrganization, s.orgs[k.org].name, true
	}
	if k.team >= 0 && s.teams[k.team].blocked {
		return LevelTeam, s.teams[k.team].name, true
	}
	if k.blocked {
		return LevelKey, k.name(), true
	}
	return "", "", false
}

// Decide decides one tool call. It returns an error only for bad input: an unknown key, or a
// request naming an agent that does not exist. It does not allocate.
func (s *Snapshot) Decide(r Request) (Decision, error) {
	c, err := s.resolve(&r)
	if err != nil {
		return Decision{}, err
	}
	return s.decide(&c, &r), nil
}

func (s *Snapshot) decide(c *chain, r *Request) Decision {
	k := c.k
	cat := s.w.cat
	pair, known := cat.pair[toolKey{r.Server, r.Tool}]
	si, ti := int32(pair>>32), int32(uint32(pair))
	// Fast path for allowed calls: the key's resolved set, narrowed by the levels the request
	// adds (a requested agent, an end user). A blocked key's set is empty, so blocked keys always
	// take the slow path, as does every denial (to find who decided).
	if known && !c.mismatch && k.final.has(si, ti) {
		ok, restricted := true, k.restricted
		if c.agent != k.agent {
			ok, restricted = narrow(&s.agents[c.agent].level, restricted, si, ti)
		}
		if ok && c.user >= 0 {
			ok, _ = narrow(&s.users[c.user].level, restricted, si, ti)
		}
		if ok {
			return Decision{Allowed: true}
		}
	}
	if lv, name, ok := s.blocked(k); ok {
		return Decision{DecidedBy: ByBlocked, Principal: name, Level: lv, Cause: CauseBlocked}
	}
	if c.mismatch {
		return Decision{DecidedBy: ByAgent, Principal: k.doc.Agent, Level: LevelAgent, Cause: CauseAgentMismatch}
	}
	if !known {
		si, ok := cat.idx[r.Server]
		if !ok {
			return Decision{DecidedBy: ByServer, Principal: r.Server, Cause: CauseUnknownServer}
		}
		cause := CauseUnknownTool
		if cat.disabled[si][r.Tool] {
			cause = CauseDisabledTool
		}
		return Decision{DecidedBy: ByServer, Principal: r.Server, Cause: cause}
	}
	restricted := false
	if k.org >= 0 {
		o := &s.orgs[k.org]
		if cause, ok := check(&o.level, si, ti, &restricted); !ok {
			return Decision{DecidedBy: ByOrganization, Principal: o.name, Level: LevelOrganization, Cause: cause}
		}
	}
	if k.team >= 0 {
		t := &s.teams[k.team]
		if cause, ok := check(&t.level, si, ti, &restricted); !ok {
			return Decision{DecidedBy: ByTeam, Principal: t.name, Level: LevelTeam, Cause: cause}
		}
	}
	if cause, ok := check(&k.level, si, ti, &restricted); !ok {
		return Decision{DecidedBy: ByKey, Principal: k.name(), Level: LevelKey, Cause: cause}
	}
	if c.agent >= 0 {
		a := &s.agents[c.agent]
		if cause, ok := check(&a.level, si, ti, &restricted); !ok {
			return Decision{DecidedBy: ByAgent, Principal: a.name, Level: LevelAgent, Cause: cause}
		}
	}
	if c.user >= 0 {
		u := &s.users[c.user]
		if cause, ok := check(&u.level, si, ti, &restricted); !ok {
			return Decision{DecidedBy: ByEndUser, Principal: u.name, Level: LevelEndUser, Cause: cause}
		}
	}
	if !restricted && !cat.public[si] {
		return Decision{DecidedBy: ByDefault, Cause: CauseNotPublic}
	}
	return Decision{Allowed: true}
}

// narrow tells whether a tool allowed so far stays allowed after one more level. ok is false
// when it does not, and also when it cannot be told from the set so far: a grant arriving while
// nothing restricted replaces the public servers rather than narrowing them.
func narrow(l *level, restricted bool, si, ti int32) (ok, stillRestricted bool) {
	if l.grant != nil {
		if !restricted || !l.grant.has(si, ti) {
			return false, true
		}
	}
	if l.deny.has(si, ti) {
		return false, restricted
	}
	return true, restricted || l.grant != nil
}

func check(l *level, si, ti int32, restricted *bool) (Cause, bool) {
	if l.grant != nil {
		*restricted = true
		if !l.grant.has(si, ti) {
			return CauseNotGranted, false
		}
	}
	if l.deny.has(si, ti) {
		return CauseDenyList, false
	}
	return "", true
}

// Reason is the decision in one sentence, e.g.
// `tool github/delete_repo is denied by organization "acme": its deny_tools names it`.
func (d Decision) Reason(r Request) string {
	tool := r.Server + "/" + r.Tool
	if d.Allowed {
		return fmt.Sprintf("tool %s is allowed for key %q", tool, r.Key)
	}
	switch d.Cause {
	case CauseBlocked:
		return fmt.Sprintf("%s %q is blocked: no MCP access", levelWord(d.Level), d.Principal)
	case CauseAgentMismatch:
		return fmt.Sprintf("key %q is bound to agent %q; the request names agent %q", r.Key, d.Principal, r.Agent)
	case CauseUnknownServer:
		return fmt.Sprintf("unknown server %q", r.Server)
	case CauseUnknownTool:
		return fmt.Sprintf("server %q has no tool %q", r.Server, r.Tool)
	case CauseDisabledTool:
		return fmt.Sprintf("tool %s is disabled on server %q", tool, r.Server)
	case CauseNotGranted:
		return fmt.Sprintf("tool %s is denied by %s %q: its mcp selection does not grant it", tool, levelWord(d.Level), d.Principal)
	case CauseDenyList:
		return fmt.Sprintf("tool %s is denied by %s %q: its deny_tools names it", tool, levelWord(d.Level), d.Principal)
	case CauseNotPublic:
		return fmt.Sprintf("tool %s is denied by default: no level restricts key %q and server %q is not public", tool, r.Key, r.Server)
	}
	return fmt.Sprintf("tool %s is denied (%s)", tool, d.DecidedBy)
}

func levelWord(l LevelKind) string {
	if l == LevelEndUser {
		return "end user"
	}
	return string(l)
}
