package mcpgw

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/resolver"
)

// Revocation reaches live sessions: when a new policy view changes the tools a session's key
// may use, the gateway sends notifications/tools/list_changed, so the client lists its tools
// again instead of offering tools it may no longer call. Each session remembers the snapshot
// its tool list was last computed on; after a swap the resolver compares that snapshot's
// tools for the session's key (with its end user and agent) with the new one's
// (resolver.ToolsChanged), so only the sessions whose tools changed are told.

// listChangedEvent is the notification as an event of a relayed stream.
var listChangedEvent = appendMessageEvent(nil, []byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`))

// swapNotifier is a view source that says when its view is swapped (live.State).
type swapNotifier interface{ OnSwap(func()) }

// watchViews registers the gateway for view swaps, when its view source tells of them.
func (g *Gateway) watchViews(views enforce.Views) {
	if n, ok := views.(swapNotifier); ok {
		n.OnSwap(g.viewSwapped)
	}
}

// viewSwapped tells every open session whose tools changed. Swaps are handled one at a time,
// each against the view current when it runs (a later one may already be in).
func (g *Gateway) viewSwapped() {
	g.swapMu.Lock()
	defer g.swapMu.Unlock()
	pol, _, err := g.enf.Policy()
	if err != nil {
		return // failing closed: every request is refused anyway
	}
	snap := pol.View.Snapshot
	for _, s := range g.agg.all() {
		if s.seen.toolsChanged(snap) {
			go s.notifyListChanged()
		}
	}
	for _, st := range g.streams.all() {
		if st.toolsChanged(snap) {
			go st.notifyListChanged()
		}
	}
}

// seenTools is what a session's tool list was computed for: its principal and the snapshot.
type seenTools struct {
	mu   sync.Mutex
	pr   enforce.Principal
	snap *resolver.Snapshot
	// server limits the comparison to one server's tools ("" for all): a relayed session lists
	// only its server's.
	server string
}

// saw records that the session's tools were computed for pr on snap.
func (t *seenTools) saw(pr enforce.Principal, snap *resolver.Snapshot) {
	t.mu.Lock()
	t.pr, t.snap = pr, snap
	t.mu.Unlock()
}

// toolsChanged moves the session to snap and reports whether its tools differ there.
func (t *seenTools) toolsChanged(snap *resolver.Snapshot) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.snap == nil || t.snap == snap {
		return false
	}
	changed := resolver.ToolsChanged(t.snap, snap, t.pr.Request(t.server, ""))
	t.snap = snap
	return changed
}

// listChangedToken marks the progress notification that the aggregate's sending middleware
// turns into notifications/tools/list_changed: the SDK sends list-changed notifications only
// to every session at once (when a server's tools change), and has no call to send one to a
// single session, but every notification it sends passes through the sending middleware.
type listChangedToken struct{}

// notifyListChanged sends the aggregate session notifications/tools/list_changed on its
// standalone stream (a notification sent without a request's context goes there).
func (s *aggSession) notifyListChanged() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.ss.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: listChangedToken{}}); err != nil {
		s.a.g.log.Debug("mcp aggregate: list_changed not delivered", "session", s.ss.ID(), "err", err)
	}
}

// sendingMiddleware turns the marked progress notification into the list-changed one.
func (a *aggregator) sendingMiddleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method == "notifications/progress" {
			if p, ok := req.GetParams().(*mcp.ProgressNotificationParams); ok && p.ProgressToken == (listChangedToken{}) {
				ss, _ := req.GetSession().(*mcp.ServerSession)
				return next(ctx, "notifications/tools/list_changed",
					&mcp.ServerRequest[*mcp.ToolListChangedParams]{Session: ss, Params: &mcp.ToolListChangedParams{}})
			}
		}
		return next(ctx, method, req)
	}
}

// all returns the aggregate's open sessions.
func (a *aggregator) all() []*aggSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*aggSession, 0, len(a.sessions))
	for _, s := range a.sessions {
		out = append(out, s)
	}
	return out
}

// relayStreams are the GET streams /mcp/:server is relaying: where the gateway puts its own
// notifications for a relayed session.
type relayStreams struct {
	mu sync.Mutex
	m  map[*relayStream]struct{}
}

// relayStream is one relayed GET stream. Its writes are serialised, since the gateway's
// notifications are written beside the upstream's events.
type relayStream struct {
	seenTools
	mu sync.Mutex // held for every write to w
	w  http.ResponseWriter
}

func (r *relayStreams) add(st *relayStream) {
	r.mu.Lock()
	if r.m == nil {
		r.m = map[*relayStream]struct{}{}
	}
	r.m[st] = struct{}{}
	r.mu.Unlock()
}

func (r *relayStreams) remove(st *relayStream) {
	r.mu.Lock()
	delete(r.m, st)
	r.mu.Unlock()
}

func (r *relayStreams) all() []*relayStream {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*relayStream, 0, len(r.m))
	for st := range r.m {
		out = append(out, st)
	}
	return out
}

// write writes p to the stream and flushes it (w bounds each write, see liftDeadlines).
func (st *relayStream) write(p []byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, err := st.w.Write(p); err != nil {
		return err
	}
	return http.NewResponseController(st.w).Flush()
}

func (st *relayStream) notifyListChanged() { st.write(listChangedEvent) }
