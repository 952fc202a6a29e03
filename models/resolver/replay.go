package resolver

import (
	"cmp"
	"slices"
	"time"

	"github.com/warden-mcp/warden/models"
)

// ReplayResult is what a change would do to recorded traffic: of Calls recorded calls by Keys
// keys (those under the replay's scope), which the state before denies and the state after
// allows, and the reverse. Since is the start of the window the calls were recorded in; Replay
// leaves it to the caller, which chose the window.
type ReplayResult struct {
	Since        time.Time    `json:"since"`
	Calls        int64        `json:"calls"`
	Keys         int          `json:"keys"`
	NewlyDenied  ReplayChange `json:"newly_denied"`
	NewlyAllowed ReplayChange `json:"newly_allowed"`
}

// ReplayChange is the recorded calls whose decision a change flips one way: how many, by how
// many keys, and the same by tool and by key, most calls first.
type ReplayChange struct {
	Calls  int64        `json:"calls"`
	Keys   int          `json:"keys"`
	ByTool []ReplayTool `json:"by_tool"`
	ByKey  []ReplayKey  `json:"by_key"`
}

// ReplayTool is one tool's share of a ReplayChange.
type ReplayTool struct {
	Server   string    `json:"server"`
	Tool     string    `json:"tool"`
	Calls    int64     `json:"calls"`
	Keys     int       `json:"keys"`
	LastSeen time.Time `json:"last_seen"`
}

// ReplayKey is one key's share of a ReplayChange.
type ReplayKey struct {
	Key      string    `json:"key"`
	Calls    int64     `json:"calls"`
	LastSeen time.Time `json:"last_seen"`
}

// Replay decides each recorded (key, end user, agent, server, tool) of the keys under scope
// with before and with after, and counts the calls whose decision differs. A request a
// snapshot cannot decide (its key or agent is unknown there) counts as denied in it, as the
// gateway refuses it. Scope All replays every key; the counts of calls and keys are of the
// keys under scope, those the change can affect. Pure: the caller reads the recorded calls
// (the decision log's rollup) and says since when.
func Replay(before, after *Snapshot, scope Scope, calls []models.RecordedCalls) ReplayResult {
	if before == nil {
		before = Build(nil)
	}
	if after == nil {
		after = Build(nil)
	}
	under := scope.keyTest(before, after)
	var res ReplayResult
	keys := map[string]bool{}
	denied, allowed := newReplayTally(), newReplayTally()
	for i := range calls {
		c := &calls[i]
		if !under(c.Key) {
			continue
		}
		res.Calls += c.Calls
		keys[c.Key] = true
		r := Request{Key: c.Key, Server: c.Server, Tool: c.Tool, EndUser: c.EndUser, Agent: c.Agent}
		was, now := allows(before, r), allows(after, r)
		switch {
		case was && !now:
			denied.add(c)
		case !was && now:
			allowed.add(c)
		}
	}
	res.Keys = len(keys)
	res.NewlyDenied, res.NewlyAllowed = denied.result(), allowed.result()
	return res
}

// allows is s's decision on r; one it cannot make is a denial.
func allows(s *Snapshot, r Request) bool {
	d, err := s.Decide(r)
	return err == nil && d.Allowed
}

type replayTally struct {
	calls  int64
	byTool map[toolKey]*ReplayTool
	keysOf map[toolKey]map[string]bool
	byKey  map[string]*ReplayKey
}

func newReplayTally() *replayTally {
	return &replayTally{byTool: map[toolKey]*ReplayTool{}, keysOf: map[toolKey]map[string]bool{}, byKey: map[string]*ReplayKey{}}
}

func (t *replayTally) add(c *models.RecordedCalls) {
	t.calls += c.Calls
	tk := toolKey{c.Server, c.Tool}
	rt := t.byTool[tk]
	if rt == nil {
		rt = &ReplayTool{Server: c.Server, Tool: c.Tool}
		t.byTool[tk], t.keysOf[tk] = rt, map[string]bool{}
	}
	rt.Calls += c.Calls
	rt.LastSeen = later(rt.LastSeen, c.LastSeen)
	t.keysOf[tk][c.Key] = true
	rk := t.byKey[c.Key]
	if rk == nil {
		rk = &ReplayKey{Key: c.Key}
		t.byKey[c.Key] = rk
	}
	rk.Calls += c.Calls
	rk.LastSeen = later(rk.LastSeen, c.LastSeen)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// result lists the tally most calls first (then by name), never nil, so JSON shows [].
func (t *replayTally) result() ReplayChange {
	out := ReplayChange{Calls: t.calls, Keys: len(t.byKey), ByTool: []ReplayTool{}, ByKey: []ReplayKey{}}
	for tk, rt := range t.byTool {
		rt.Keys = len(t.keysOf[tk])
		out.ByTool = append(out.ByTool, *rt)
	}
	for _, rk := range t.byKey {
		out.ByKey = append(out.ByKey, *rk)
	}
	slices.SortFunc(out.ByTool, func(a, b ReplayTool) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Server, b.Server), cmp.Compare(a.Tool, b.Tool))
	})
	slices.SortFunc(out.ByKey, func(a, b ReplayKey) int { return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Key, b.Key)) })
	return out
}

// keyTest returns whether a key is under sc in before or after (as expand names them), asking
// each key once: a replay meets a few keys of a large organization, so it looks keys up rather
// than listing the organization's.
func (sc Scope) keyTest(before, after *Snapshot) func(key string) bool {
	if sc.All {
		return func(string) bool { return true }
	}
	set := func(names []string) map[string]bool {
		m := make(map[string]bool, len(names))
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	orgs, teams, keys := set(sc.Organizations), set(sc.Teams), set(sc.Keys)
	memo := map[string]bool{}
	return func(name string) bool {
		in, ok := memo[name]
		if !ok {
			in = keys[name]
			for _, s := range []*Snapshot{before, after} {
				if i, ok := s.keyIdx[name]; ok && !in {
					k := &s.keys[i]
					in = k.team >= 0 && teams[s.teams[k.team].name] || k.org >= 0 && orgs[s.orgs[k.org].name]
				}
			}
			memo[name] = in
		}
		return in
	}
}
