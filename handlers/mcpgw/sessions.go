package mcpgw

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Session limits, when Config leaves them unset.
const (
	DefaultSessionTimeout    = 30 * time.Minute
	DefaultMaxSessionsPerKey = 16
	DefaultMaxRelaySessions  = 65536
	// DefaultMaxRelaySessionsPerKey bounds the /mcp/:server bindings of one key.
	DefaultMaxRelaySessionsPerKey = 1024
)

// CodeTooManySessions accompanies the 429 of a key that already holds its most sessions on /mcp.
const CodeTooManySessions = -32036

// sessionHeader carries an MCP session id (Streamable HTTP).
const sessionHeader = "Mcp-Session-Id"

// relaySessions remembers which key opened each session an upstream issued through
// /mcp/:server, so that a session is only ever used by the key that opened it.
//
// A session id is bound when the upstream's answer carries it (in practice the answer to
// initialize) and the request carried no id, or another one; from then on:
//
//   - a request of the same key with it is forwarded (and refreshes its idle time);
//   - a request of another key with it gets 403 and is not forwarded;
//   - a request with an id the gateway holds no binding for gets 404 and is not forwarded.
//
// The last rule is the fail-closed choice. Forwarding unknown ids would make the binding only as
// strong as the gateway's memory of it, and that memory is lost in ways an attacker can arrange
// or wait for: a restart of Warden, a binding that idled past the timeout while the upstream
// still keeps the session, or (with a key of their own) enough new sessions to push a binding
// out at the cap. Any of those would turn a leaked or guessed session id into another key's
// session. 404 is what the MCP transport specifies for a session the server no longer has:
// clients start a new session with initialize, so after a restart of Warden every relayed
// session ends and is opened again, as after a restart of the upstream.
//
// Memory is bounded: a binding is forgotten after a successful DELETE, when the upstream answers
// 404 for it, after the idle timeout (a binding with a request or stream in flight is not idle),
// and when its key opens more than perKey sessions (its own least recently used binding goes,
// never another key's); beyond max bindings in all, the expired ones and then the least recently
// used ones are dropped. A forgotten session is refused with 404 from then on (fail closed).
type relaySessions struct {
	ttl    time.Duration
	perKey int
	max    int
	now    func() time.Time

	mu    sync.Mutex
	byID  map[relayID]*relayBinding
	byKey map[string]map[relayID]*relayBinding
}

type relayID struct{ server, sid string }

type relayBinding struct {
	key    string
	seen   time.Time
	active int // requests of the session in flight (a stream open keeps its session alive)
}

// sessionUse is what a request may do with the session id it carries.
type sessionUse int

const (
	sessionOwned    sessionUse = iota // bound to the request's key
	sessionOtherKey                   // bound to another key
	sessionUnknown                    // never issued through the gateway, or forgotten
)

func newRelaySessions(ttl time.Duration, perKey, max int, now func() time.Time) *relaySessions {
	return &relaySessions{ttl: ttl, perKey: perKey, max: max, now: now,
		byID: map[relayID]*relayBinding{}, byKey: map[string]map[relayID]*relayBinding{}}
}

func (s *relaySessions) expired(b *relayBinding, now time.Time) bool {
	return b.active == 0 && now.Sub(b.seen) > s.ttl
}

// use looks a session up for a request of key. When owned, done must be called once the
// request is over.
func (s *relaySessions) use(server, sid, key string) (done func(), u sessionUse) {
	id := relayID{server, sid}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.byID[id]
	if ok && s.expired(b, s.now()) {
		s.removeLocked(id, b)
		ok = false
	}
	switch {
	case !ok:
		return nil, sessionUnknown
	case b.key != key:
		return nil, sessionOtherKey
	}
	b.active++
	b.seen = s.now()
	return func() {
		s.mu.Lock()
		b.active--
		b.seen = s.now()
		s.mu.Unlock()
	}, sessionOwned
}

// bind records that the upstream issued sid to key. It reports false, binding nothing, when the
// id is already bound to another key.
func (s *relaySessions) bind(server, sid, key string) bool {
	id := relayID{server, sid}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.byID[id]; ok {
		if b.key != key && !s.expired(b, now) {
			return false
		}
		s.removeLocked(id, b)
	}
	own := s.byKey[key]
	for oid, b := range own {
		if s.expired(b, now) {
			s.removeLocked(oid, b)
		}
	}
	if len(own) >= s.perKey {
		s.evictLocked(own)
	}
	if len(s.byID) >= s.max {
		for oid, b := range s.byID {
			if s.expired(b, now) {
				s.removeLocked(oid, b)
			}
		}
		if len(s.byID) >= s.max {
			s.evictLocked(s.byID)
		}
	}
	b := &relayBinding{key: key, seen: now}
	s.byID[id] = b
	if s.byKey[key] == nil {
		s.byKey[key] = map[relayID]*relayBinding{}
	}
	s.byKey[key][id] = b
	return true
}

// evictLocked forgets the least recently used binding of set, preferring one with nothing in
// flight.
func (s *relaySessions) evictLocked(set map[relayID]*relayBinding) {
	var victim relayID
	var vb *relayBinding
	for id, b := range set {
		if vb == nil || (b.active == 0 && vb.active > 0) || ((b.active == 0) == (vb.active == 0) && b.seen.Before(vb.seen)) {
			victim, vb = id, b
		}
	}
	if vb != nil {
		s.removeLocked(victim, vb)
	}
}

// forget drops the binding of sid when key holds it.
func (s *relaySessions) forget(server, sid, key string) {
	id := relayID{server, sid}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.byID[id]; ok && b.key == key {
		s.removeLocked(id, b)
	}
}

func (s *relaySessions) removeLocked(id relayID, b *relayBinding) {
	delete(s.byID, id)
	if own := s.byKey[b.key]; own != nil {
		delete(own, id)
		if len(own) == 0 {
			delete(s.byKey, b.key)
		}
	}
}

// len is the number of bindings held (tests).
func (s *relaySessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// useSession admits a request of /mcp/:server that carries a session id, or refuses it (403
// for another key's session, 404 for a session the gateway holds no binding for) without
// forwarding anything. When admitted, done is called once the exchange is over.
func (x *exchange) useSession(sid string) (done func(), ok bool) {
	done, u := x.g.relayed.use(x.server, sid, x.pr.Key)
	switch u {
	case sessionOwned:
		return done, true
	case sessionOtherKey:
		x.g.log.Warn("mcp session used with another key; refused", "server", x.server, "key", x.pr.Key)
		x.fail(http.StatusForbidden, CodeForbidden, "this session was opened with another key",
			map[string]any{"server": x.server, "key": x.pr.Key})
	default:
		x.fail(http.StatusNotFound, CodeNotFound,
			fmt.Sprintf("Warden holds no session with this id for server %q (it ended, expired, or Warden restarted): start a new session", x.server),
			map[string]any{"server": x.server})
	}
	return nil, false
}

// noteSession learns from the upstream's answer: a session id it issues is bound to the
// request's key; a session it ended (DELETE) or no longer has (404) is forgotten. An id the
// upstream issues that is bound to another key is not relayed: one key is never handed
// another's session.
func (x *exchange) noteSession(resp *http.Response) {
	reqSID := x.r.Header.Get(sessionHeader)
	if reqSID != "" && (resp.StatusCode == http.StatusNotFound ||
		(x.r.Method == http.MethodDelete && resp.StatusCode >= 200 && resp.StatusCode < 300)) {
		x.g.relayed.forget(x.server, reqSID, x.pr.Key)
	}
	sid := resp.Header.Get(sessionHeader)
	if sid == "" || sid == reqSID {
		return
	}
	if !x.g.relayed.bind(x.server, sid, x.pr.Key) {
		x.g.log.Warn("mcp upstream issued a session id already bound to another key; not relayed", "server", x.server, "key", x.pr.Key)
		resp.Header.Del(sessionHeader)
	}
}

// reservation is one session-opening request of the aggregate, counted against its key's cap
// until its session is bound or the request ends.
type reservation struct {
	key   string
	bound bool
}

// reserve counts a session-opening request of key against the cap: false when the key already
// holds (or is opening) perKey sessions. release must follow.
func (a *aggregator) reserve(key string) (*reservation, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held[key]+a.pending[key] >= a.perKey {
		return nil, false
	}
	a.pending[key]++
	return &reservation{key: key}, true
}

// release ends a reservation; a bound one is counted by its session from then on.
func (a *aggregator) release(r *reservation) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !r.bound {
		a.pending[r.key]--
		if a.pending[r.key] <= 0 {
			delete(a.pending, r.key)
		}
	}
}

// bind records that the session sid, just opened, belongs to key, and moves the request's
// reservation (if any) into the key's count of held sessions. A session the SDK no longer holds
// (it closed before its first answer was written) is not bound: it could never be unbound.
func (a *aggregator) bind(sid, key string, r *reservation) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.open[sid] {
		return
	}
	if _, ok := a.owners[sid]; ok {
		return
	}
	if r != nil && !r.bound {
		r.bound = true
		a.pending[r.key]--
		if a.pending[r.key] <= 0 {
			delete(a.pending, r.key)
		}
	}
	a.owners[sid] = key
	a.held[key]++
}

func (a *aggregator) unbindLocked(sid string) {
	key, ok := a.owners[sid]
	if !ok {
		return
	}
	delete(a.owners, sid)
	if a.held[key]--; a.held[key] <= 0 {
		delete(a.held, key)
	}
}

// heldSessions is the number of open /mcp sessions bound to key (tests).
func (a *aggregator) heldSessions(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held[key]
}

// opensSession reports whether a POST body without a session id may open an aggregate session:
// only initialize does; the SDK ends the session of any other session-less request with it.
func opensSession(in *body) bool {
	if in == nil {
		return true // unreadable to the gateway: count it, in case the SDK reads an initialize
	}
	for _, m := range in.msgs {
		if m.req != nil && m.req.Method == "initialize" {
			return true
		}
	}
	return false
}
