package enforce

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
)

// Views gives the policy view to enforce. View returns an error when there is none to trust (no
// view loaded yet, or the last one is older than allowed): enforcement points then fail closed.
// A non-nil view returned with an error is used only to report its revision.
type Views interface {
	View() (*live.View, error)
}

// StaticViews serves one fixed view (tests, benchmarks, tools).
type StaticViews struct{ V *live.View }

// View implements Views.
func (s StaticViews) View() (*live.View, error) {
	if s.V == nil {
		return nil, errors.New("no policy loaded")
	}
	return s.V, nil
}

// Enforcer authenticates key secrets and answers access questions against the current view.
// Everything about allowed-ness comes from the resolver; the Enforcer only caches what it derives
// per view (key expiries, accesses). It is safe for concurrent use.
type Enforcer struct {
	views Views
	now   func() time.Time
	cur   atomic.Pointer[Policy]
}

// NewEnforcer returns an Enforcer over views; now defaults to time.Now.
func NewEnforcer(views Views, now func() time.Time) *Enforcer {
	if now == nil {
		now = time.Now
	}
	return &Enforcer{views: views, now: now}
}

// Now is the Enforcer's clock: the time expiries are checked against and decisions recorded at.
func (e *Enforcer) Now() time.Time { return e.now() }

// Policy returns the view to enforce with what is derived from it, built once per view. With no
// view to trust it returns an error (callers fail closed) and the revision to report (0 if none).
func (e *Enforcer) Policy() (*Policy, int64, error) {
	v, err := e.views.View()
	if err != nil || v == nil || v.Snapshot == nil {
		var rev int64
		if v != nil {
			rev = v.Revision
		}
		if err == nil {
			err = errors.New("no policy loaded")
		}
		return nil, rev, err
	}
	if p := e.cur.Load(); p != nil && p.View == v {
		return p, v.Revision, nil
	}
	p := NewPolicy(v)
	e.cur.Store(p)
	return p, v.Revision, nil
}

// PolicyError is the text a client sees when there is no policy to enforce (Enforcer.Policy's
// error). A stale view's last error (a database error, which may name the database's host) is
// left out: it belongs in the log.
func PolicyError(err error) string {
	var stale *live.StaleError
	if errors.As(err, &stale) && stale.Cause != "" {
		c := *stale
		c.Cause = ""
		return c.Error()
	}
	return err.Error()
}

// Policy is one view plus what enforcement derives from it. Build it with NewPolicy (or get it
// from Enforcer.Policy); it is safe for concurrent use.
type Policy struct {
	// View is the view this policy enforces; never modify it.
	View *live.View
	// expires holds the expiry of every key that has one; a key whose expiry cannot be parsed
	// maps to the zero time, which is always in the past (fail closed).
	expires map[string]time.Time
	// firstTool is, per server, the first tool of its catalogue: Decide on it explains why a key
	// has no access to the server.
	firstTool map[string]string
	// known holds every server of the document.
	known map[string]bool

	mu     sync.Mutex
	access map[Principal]resolver.Access
}

// maxCachedAccesses bounds the per-view access cache (distinct key/end user/agent triples): the
// end user and agent are named by the client, so an unbounded cache would let one key grow the
// gateway's memory at will. Beyond the bound accesses are computed on every request.
const maxCachedAccesses = 4096

// NewPolicy derives a Policy from v, which must have a snapshot.
func NewPolicy(v *live.View) *Policy {
	p := &Policy{View: v, expires: map[string]time.Time{}, firstTool: map[string]string{}, known: map[string]bool{},
		access: map[Principal]resolver.Access{}}
	if v.Doc != nil {
		for _, k := range v.Doc.Keys {
			if k.ExpiresAt == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, k.ExpiresAt)
			if err != nil {
				t = time.Time{}
			}
			p.expires[k.Name] = t
		}
		for _, s := range v.Doc.Servers {
			p.known[s.Name] = true
			if len(s.Tools) > 0 {
				p.firstTool[s.Name] = s.Tools[0].Name
			}
		}
	}
	return p
}

// Known reports whether server is a server of the policy's document (whether or not anyone may
// use it): enforcement points answer "unknown server" only when it is not.
func (p *Policy) Known(server string) bool { return p.known[server] }

// Principal is who a request acts as: the authenticated key, and the end user and agent it names.
type Principal struct {
	Key     string
	EndUser string
	Agent   string
}

// Request is the resolver request for one tool of this principal.
func (p Principal) Request(server, tool string) resolver.Request {
	return resolver.Request{Key: p.Key, Server: server, Tool: tool, EndUser: p.EndUser, Agent: p.Agent}
}

// AuthError is why a key secret was refused. Enforcement points answer it as "not
// authenticated" (401 on HTTP); any other error from this package is not about the secret.
type AuthError struct {
	Message string
}

// Error implements error.
func (e *AuthError) Error() string { return e.Message }

// Authenticate maps a key secret to its key's name. Missing, unknown (or replaced), expired and
// blocked keys are refused with an *AuthError; a blocked key's message is the resolver's reason.
func (p *Policy) Authenticate(secret string, now time.Time) (string, error) {
	name, err := p.KeyFor(secret, now)
	if err != nil {
		return "", err
	}
	info, _ := p.View.Snapshot.KeyInfo(name)
	if info.Blocked {
		msg := fmt.Sprintf("key %q is blocked", name)
		if d, err := p.View.Snapshot.Decide(resolver.Request{Key: name}); err == nil && d.DecidedBy == resolver.ByBlocked {
			msg = fmt.Sprintf("key %q is refused: %s", name, d.Reason(resolver.Request{Key: name}))
		}
		return "", &AuthError{Message: msg}
	}
	return name, nil
}

// KeyFor maps a key secret to its key's name, refusing missing, unknown (or replaced) and
// expired keys with an *AuthError. A key whose expiry cannot be read is refused (fail closed).
// Blocked keys are left to the resolver (see Authenticate): the decision API answers them as the
// resolver's "blocked" decision rather than as a refused secret.
func (p *Policy) KeyFor(secret string, now time.Time) (string, error) {
	if secret == "" {
		return "", &AuthError{Message: "missing Warden key"}
	}
	name, ok := p.View.KeysByHash[models.HashSecret(secret)]
	if !ok {
		return "", &AuthError{Message: "unknown or revoked Warden key"}
	}
	if _, ok := p.View.Snapshot.KeyInfo(name); !ok {
		return "", &AuthError{Message: "unknown or revoked Warden key"}
	}
	if exp, ok := p.expires[name]; ok && !now.Before(exp) {
		if exp.IsZero() {
			return "", &AuthError{Message: fmt.Sprintf("key %q has an unreadable expiry and is refused", name)}
		}
		return "", &AuthError{Message: fmt.Sprintf("key %q expired at %s", name, exp.UTC().Format(time.RFC3339))}
	}
	return name, nil
}

// Access is what the principal may use (the resolver's KeyAccessFor), cached per view up to
// maxCachedAccesses principals. An unknown agent is an error. The returned access is shared:
// never modify it.
func (p *Policy) Access(pr Principal) (resolver.Access, error) {
	p.mu.Lock()
	a, ok := p.access[pr]
	p.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err := p.View.Snapshot.KeyAccessFor(resolver.Request{Key: pr.Key, EndUser: pr.EndUser, Agent: pr.Agent})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if len(p.access) < maxCachedAccesses {
		p.access[pr] = a
	}
	p.mu.Unlock()
	return a, nil
}

// cachedAccesses is how many principals' accesses the cache holds.
func (p *Policy) cachedAccesses() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.access)
}

// NoAccessReason explains, in the resolver's words, why a principal may use no tool of a server.
func (p *Policy) NoAccessReason(pr Principal, server string) string {
	tool, ok := p.firstTool[server]
	if !ok {
		return fmt.Sprintf("server %q has no tools in its catalogue", server)
	}
	r := pr.Request(server, tool)
	d, err := p.View.Snapshot.Decide(r)
	if err != nil {
		return err.Error()
	}
	if d.Allowed { // cannot happen when the access has no tool of the server
		return fmt.Sprintf("key %q has no access to server %q", pr.Key, server)
	}
	return d.Reason(r)
}

// Decide decides one tool call and, when it is denied, gives the resolver's reason. A request the
// resolver refuses as bad input (an unknown agent) is a denial by the agent level.
func (p *Policy) Decide(pr Principal, server, tool string) (resolver.Decision, string) {
	r := pr.Request(server, tool)
	d, err := p.View.Snapshot.Decide(r)
	if err != nil {
		return resolver.Decision{DecidedBy: resolver.ByAgent, Principal: pr.Agent, Level: resolver.LevelAgent}, err.Error()
	}
	if d.Allowed {
		return d, ""
	}
	return d, d.Reason(r)
}
