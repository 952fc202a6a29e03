package mcpgw

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
)

// Views gives the policy view to enforce. View returns an error when there is none to trust (no
// view loaded yet, or the last one is older than allowed): the gateway and the API then fail
// closed. A non-nil view returned with an error is used only to report its revision.
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

// RevisionHeader is carried by every gateway and decision API response: the policy revision the
// answer was decided at ("0" when no policy is loaded).
const RevisionHeader = "X-Warden-Revision"

// Request headers a client uses to authenticate and to name who it acts for.
const (
	KeyHeader     = "X-Warden-Key"
	EndUserHeader = "X-Warden-End-User"
	AgentHeader   = "X-Warden-Agent"
)

// Enforcer authenticates key secrets and answers access questions against the current view.
// Everything about allowed-ness comes from the resolver; the Enforcer only caches what it derives
// per view (key expiries, accesses).
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

// Now is the Enforcer's clock.
func (e *Enforcer) Now() time.Time { return e.now() }

// Policy returns the view to enforce with what is derived from it. On error the returned
// revision is the one to report (0 if none).
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
	p := newPolicy(v)
	e.cur.Store(p)
	return p, v.Revision, nil
}

// Policy is one view plus what the gateway derives from it, built once per view.
type Policy struct {
	View *live.View
	Rev  string // the revision, formatted for RevisionHeader
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

// maxCachedAccesses bounds the per-view access cache (distinct key/end user/agent triples).
const maxCachedAccesses = 4096

func newPolicy(v *live.View) *Policy {
	p := &Policy{View: v, Rev: strconv.FormatInt(v.Revision, 10), expires: map[string]time.Time{},
		firstTool: map[string]string{}, known: map[string]bool{}, access: map[Principal]resolver.Access{}}
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

// AuthError is why a key secret was refused; every AuthError is a 401.
type AuthError struct {
	Message string
}

func (e *AuthError) Error() string { return e.Message }

// SecretFrom returns the key secret of a request: X-Warden-Key, else an Authorization bearer token.
func SecretFrom(h http.Header) string {
	if k := strings.TrimSpace(h.Get(KeyHeader)); k != "" {
		return k
	}
	a := h.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// PrincipalFrom authenticates a request's key and reads the end user and agent it names.
func (p *Policy) PrincipalFrom(h http.Header, now time.Time) (Principal, error) {
	key, err := p.Authenticate(SecretFrom(h), now)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Key: key, EndUser: strings.TrimSpace(h.Get(EndUserHeader)), Agent: strings.TrimSpace(h.Get(AgentHeader))}, nil
}

// Authenticate maps a key secret to its key's name. Missing, unknown (or replaced), expired and
// blocked keys are refused with an *AuthError.
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
// expired keys with an *AuthError. Blocked keys are left to the resolver (see Authenticate).
func (p *Policy) KeyFor(secret string, now time.Time) (string, error) {
	if secret == "" {
		return "", &AuthError{Message: "missing Warden key: send Authorization: Bearer <secret> or " + KeyHeader}
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

// Access is what the principal may use (the resolver's KeyAccessFor), cached per view. An unknown
// agent is an error.
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

// Decide decides one tool call. A request the resolver refuses as bad input (an unknown agent)
// is a denial by the agent level.
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

// Observer records decisions and gateway metrics; both parts are optional.
type Observer struct {
	Recorder live.Recorder
	Metrics  *live.Metrics
}

// Decision records one decision in the log and the decision counter.
func (o Observer) Decision(kind string, pr Principal, server, tool string, d resolver.Decision, rev int64, at time.Time) {
	if o.Metrics != nil {
		outcome := "denied"
		if d.Allowed {
			outcome = "allowed"
		}
		o.Metrics.Decisions.WithLabelValues(outcome, string(d.DecidedBy)).Inc()
	}
	if o.Recorder != nil {
		o.Recorder.Record(live.DecisionRecord{At: at, Kind: kind, Key: pr.Key, EndUser: pr.EndUser, Agent: pr.Agent,
			Server: server, Tool: tool, Allowed: d.Allowed, DecidedBy: string(d.DecidedBy), Revision: rev})
	}
}

// List records a filtered tools/list.
func (o Observer) List(pr Principal, server string, rev int64, at time.Time) {
	if o.Recorder != nil {
		o.Recorder.Record(live.DecisionRecord{At: at, Kind: "list", Key: pr.Key, EndUser: pr.EndUser, Agent: pr.Agent,
			Server: server, Allowed: true, Revision: rev})
	}
}

// UpstreamError counts one failed upstream exchange.
func (o Observer) UpstreamError(server string) {
	if o.Metrics != nil {
		o.Metrics.UpstreamErrors.WithLabelValues(server).Inc()
	}
}

// Latency observes the handling time of one gateway request.
func (o Observer) Latency(server, method string, d time.Duration) {
	if o.Metrics != nil {
		o.Metrics.GatewayLatency.WithLabelValues(server, method).Observe(d.Seconds())
	}
}
