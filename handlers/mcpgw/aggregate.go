package mcpgw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
)

// Separator joins a server and a tool name in the aggregate endpoint: github__create_issue.
const Separator = "__"

// upstreamProtocol is the protocol version the aggregate's upstream clients ask for: the latest
// one negotiated with initialize, which every current server speaks.
const upstreamProtocol = "2025-11-25"

// aggregator serves /mcp: an MCP server (the SDK's) whose sessions open SDK clients to the
// upstreams lazily, list their tools as <server>__<tool> and route calls.
type aggregator struct {
	g       *Gateway
	handler *mcp.StreamableHTTPHandler
	timeout time.Duration

	mu       sync.Mutex
	sessions map[*mcp.ServerSession]*aggSession
	open     map[string]bool   // ids of the SDK sessions in sessions
	owners   map[string]string // aggregate session id -> the key that opened it
	// perKey bounds the sessions of one key; held counts them (owners) and pending counts the
	// session-opening requests in flight.
	perKey  int
	held    map[string]int
	pending map[string]int
}

// aggSession is one client session of /mcp and its upstream sessions.
type aggSession struct {
	a  *aggregator
	ss *mcp.ServerSession

	mu     sync.Mutex
	ups    map[string]*upstreamConn
	closed bool
	// progress maps the progress tokens of calls in flight to their request contexts.
	progress sync.Map
	// seen is what the session's tool list was last computed for (listchanged.go).
	seen seenTools
}

// upstreamConn is one upstream session of an aggregate session.
type upstreamConn struct {
	cfg live.Upstream
	mu  sync.Mutex // held while connecting
	cs  *mcp.ClientSession
}

func newAggregator(g *Gateway, timeout time.Duration, perKey int) *aggregator {
	a := &aggregator{g: g, timeout: timeout, sessions: map[*mcp.ServerSession]*aggSession{}, open: map[string]bool{},
		owners: map[string]string{}, perKey: perKey, held: map[string]int{}, pending: map[string]int{}}
	srv := mcp.NewServer(&mcp.Implementation{Name: "warden", Title: "Warden MCP gateway", Version: "1"}, &mcp.ServerOptions{
		// listChanged: a change of the key's access is announced (listchanged.go).
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
		Instructions: "Tools of every MCP server your Warden key may use, named <server>" + Separator + "<tool>.",
	})
	srv.AddReceivingMiddleware(a.middleware)
	srv.AddSendingMiddleware(a.sendingMiddleware)
	a.handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		SessionTimeout: timeout,
		// Every request carries a Warden key; Warden is commonly reached through a proxy whose Host
		// is not loopback.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        g.maxBody,
	})
	return a
}

// ServeAggregate serves /mcp. Every request is authenticated before its body is read; a session
// is bound to the key that opened it, and a key holds at most MaxSessionsPerKey sessions.
func (g *Gateway) ServeAggregate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{g: g, w: w, r: r, server: ""}
	pol, rev, err := g.enf.Policy()
	w.Header().Set(RevisionHeader, fmt.Sprint(rev))
	if err != nil {
		x.fail(http.StatusServiceUnavailable, CodeUnavailable, "Warden has no current policy to enforce: "+enforce.PolicyError(err), nil)
		return
	}
	pr, err := PrincipalFrom(pol, r.Header, g.enf.Now())
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="warden"`)
		x.fail(http.StatusUnauthorized, CodeUnauthorized, err.Error(), nil)
		return
	}
	x.pr = pr
	acc, err := pol.Access(pr)
	if err != nil {
		x.fail(http.StatusForbidden, CodeForbidden, err.Error(), map[string]any{"reason": err.Error()})
		return
	}
	if acc.Count() == 0 {
		reason := fmt.Sprintf("key %q may use no tool of any server", pr.Key)
		x.fail(http.StatusForbidden, CodeForbidden, reason, map[string]any{"reason": reason, "key": pr.Key})
		return
	}
	sid := r.Header.Get(sessionHeader)
	if sid != "" && !g.agg.owns(sid, pr.Key) {
		x.fail(http.StatusForbidden, CodeForbidden, "this session was opened with another key", nil)
		return
	}
	if r.Method == http.MethodPost {
		// The SDK reads the body as it is: refuse first what Warden would not read the same way,
		// then hand the SDK the same bytes.
		raw, ok := x.readMessages(pol)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
	}
	if sid == "" && r.Method == http.MethodPost {
		// Only initialize opens a session, so only it counts against the key's cap; any session
		// the SDK issues is bound all the same (a body read differently by the SDK cannot open
		// a session no key owns).
		var res *reservation
		if opensSession(x.in) {
			var ok bool
			if res, ok = g.agg.reserve(pr.Key); !ok {
				x.fail(http.StatusTooManyRequests, CodeTooManySessions,
					fmt.Sprintf("key %q already has %d open sessions on /mcp, the most allowed: end one (DELETE) or let an idle one expire", pr.Key, g.agg.perKey),
					map[string]any{"key": pr.Key, "limit": g.agg.perKey})
				return
			}
			defer g.agg.release(res)
		}
		w = &bindingWriter{ResponseWriter: w, a: g.agg, key: pr.Key, res: res}
	}
	g.agg.handler.ServeHTTP(g.liftDeadlines(w), r)
	g.obs.Latency("", methodLabel(x.in), time.Since(start))
}

// bindingWriter records which key opened a session when the SDK assigns its id.
type bindingWriter struct {
	http.ResponseWriter
	a     *aggregator
	key   string
	res   *reservation // nil when the request was not expected to open a session
	bound bool
}

func (b *bindingWriter) WriteHeader(code int) {
	if !b.bound {
		b.bound = true
		if sid := b.Header().Get(sessionHeader); sid != "" {
			b.a.bind(sid, b.key, b.res)
		}
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *bindingWriter) Write(p []byte) (int, error) {
	if !b.bound {
		b.WriteHeader(http.StatusOK)
	}
	return b.ResponseWriter.Write(p)
}

func (b *bindingWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }

func (b *bindingWriter) Flush() {
	if !b.bound {
		b.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(b.ResponseWriter).Flush()
}

// owns reports whether key may use session sid (unknown sessions are left to the SDK's 404:
// every session the SDK holds is bound from its initialize until it closes).
func (a *aggregator) owns(sid, key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.owners[sid]
	if !ok {
		return !a.open[sid] // a session the SDK holds but nobody owns is nobody's to use
	}
	return o == key
}

func (a *aggregator) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "initialize":
			// Track the session from its start, so its binding and its count against the key's
			// cap end exactly when it closes.
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
				s := a.session(ss)
				// From now on a change of the key's tools is announced, listed or not.
				if pol, pr, err := a.principal(req.GetExtra()); err == nil {
					s.seen.saw(pr, pol.View.Snapshot)
				}
			}
		case "tools/list":
			if r, ok := req.(*mcp.ListToolsRequest); ok {
				return a.listTools(ctx, r)
			}
		case "tools/call":
			if r, ok := req.(*mcp.CallToolRequest); ok {
				return a.callTool(ctx, r)
			}
		}
		return next(ctx, method, req)
	}
}

// principal authenticates the HTTP request that carried an MCP request.
func (a *aggregator) principal(extra *mcp.RequestExtra) (*enforce.Policy, enforce.Principal, error) {
	pol, _, err := a.g.enf.Policy()
	if err != nil {
		return nil, enforce.Principal{}, &jsonrpc.Error{Code: CodeUnavailable, Message: "Warden has no current policy to enforce: " + enforce.PolicyError(err)}
	}
	var h http.Header
	if extra != nil {
		h = extra.Header
	}
	pr, err := PrincipalFrom(pol, h, a.g.enf.Now())
	if err != nil {
		return nil, enforce.Principal{}, &jsonrpc.Error{Code: CodeUnauthorized, Message: err.Error()}
	}
	return pol, pr, nil
}

func (a *aggregator) listTools(ctx context.Context, req *mcp.ListToolsRequest) (*mcp.ListToolsResult, error) {
	pol, pr, err := a.principal(req.Extra)
	if err != nil {
		return nil, err
	}
	acc, err := pol.Access(pr)
	if err != nil {
		return nil, &jsonrpc.Error{Code: CodeForbidden, Message: err.Error()}
	}
	sess := a.session(req.Session)
	sess.seen.saw(pr, pol.View.Snapshot)
	servers := acc.Servers()
	lists := make([][]*mcp.Tool, len(servers))
	var wg sync.WaitGroup
	for i, name := range servers {
		up, ok := pol.View.Upstreams[name]
		if !ok || up.URL == "" || up.Unavailable != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tools, err := sess.listUpstream(ctx, name, up)
			if err != nil {
				a.g.obs.UpstreamError(name)
				a.g.log.Warn("mcp aggregate: listing an upstream failed", "server", name, "err", err)
				return
			}
			allowed := acc[name]
			for _, t := range tools {
				if _, ok := searchStrings(allowed, t.Name); ok {
					c := *t
					c.Name = name + Separator + t.Name
					lists[i] = append(lists[i], &c)
				}
			}
			a.g.obs.List(pr, name, pol.View.Revision, a.g.enf.Now())
		}()
	}
	wg.Wait()
	out := &mcp.ListToolsResult{Tools: []*mcp.Tool{}}
	for _, l := range lists {
		out.Tools = append(out.Tools, l...)
	}
	return out, nil
}

// split finds the server and tool of an aggregate tool name: the first split at Separator whose
// left part is a server of the view.
func split(pol *enforce.Policy, name string) (server, tool string) {
	for i := 0; ; {
		j := strings.Index(name[i:], Separator)
		if j < 0 {
			break
		}
		s := name[:i+j]
		if _, ok := pol.View.Upstreams[s]; ok {
			return s, name[i+j+len(Separator):]
		}
		i += j + 1
	}
	if s, t, ok := strings.Cut(name, Separator); ok {
		return s, t
	}
	return "", name
}

func (a *aggregator) callTool(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	pol, pr, err := a.principal(req.Extra)
	if err != nil {
		return nil, err
	}
	server, tool := split(pol, req.Params.Name)
	d, reason := pol.Decide(pr, server, tool)
	a.g.obs.Decision("call", pr, server, tool, d, pol.View.Revision, a.g.enf.Now())
	if !d.Allowed {
		data, _ := json.Marshal(map[string]any{"decided_by": d.DecidedBy, "principal": d.Principal, "level": d.Level,
			"cause": d.Cause, "revision": pol.View.Revision})
		return nil, &jsonrpc.Error{Code: CodeDenied, Message: reason, Data: data}
	}
	up, ok := pol.View.Upstreams[server]
	if !ok || up.URL == "" {
		return nil, &jsonrpc.Error{Code: CodeNotFound, Message: fmt.Sprintf("server %q has no upstream URL", server)}
	}
	if up.Unavailable != "" {
		return nil, &jsonrpc.Error{Code: CodeUpstreamUnavailable, Message: unavailableMessage(server)}
	}
	sess := a.session(req.Session)
	cs, err := sess.upstream(ctx, server, up)
	if err != nil {
		return nil, a.upstreamDown(server, err)
	}
	p := &mcp.CallToolParams{Meta: req.Params.Meta, Name: tool}
	if len(req.Params.Arguments) > 0 {
		p.Arguments = req.Params.Arguments
	}
	if tok := req.Params.GetProgressToken(); tok != nil {
		k := fmt.Sprint(tok)
		sess.progress.Store(k, ctx)
		// The SDK client may hand over the last progress notifications after the call's result
		// (it queues notifications but retires responses at once): keep the token a little.
		defer time.AfterFunc(5*time.Second, func() { sess.progress.CompareAndDelete(k, ctx) })
	}
	res, err := cs.CallTool(ctx, p)
	if err != nil {
		var werr *jsonrpc.Error
		if errors.As(err, &werr) {
			return nil, werr // the upstream's own answer
		}
		if ctx.Err() != nil {
			return nil, err
		}
		sess.drop(server, cs)
		return nil, a.upstreamDown(server, err)
	}
	return res, nil
}

// session returns the state of an aggregate session, creating it on first use.
func (a *aggregator) session(ss *mcp.ServerSession) *aggSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[ss]
	if !ok {
		s = &aggSession{a: a, ss: ss, ups: map[string]*upstreamConn{}}
		a.sessions[ss] = s
		a.open[ss.ID()] = true
		go func() {
			ss.Wait()
			a.mu.Lock()
			delete(a.sessions, ss)
			delete(a.open, ss.ID())
			a.unbindLocked(ss.ID())
			a.mu.Unlock()
			s.close()
		}()
	}
	return s
}

func (s *aggSession) close() {
	s.mu.Lock()
	s.closed = true
	ups := s.ups
	s.ups = map[string]*upstreamConn{}
	s.mu.Unlock()
	for _, c := range ups {
		c.mu.Lock()
		if c.cs != nil {
			c.cs.Close()
		}
		c.mu.Unlock()
	}
}

// upstream returns the session's client session to a server, connecting on first use (and again
// when the server's URL or headers changed).
func (s *aggSession) upstream(ctx context.Context, name string, up live.Upstream) (*mcp.ClientSession, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("session closed")
	}
	c := s.ups[name]
	var stale *upstreamConn
	if c != nil && (c.cfg.URL != up.URL || !maps.Equal(c.cfg.Headers, up.Headers)) {
		stale, c = c, nil
	}
	if c == nil {
		c = &upstreamConn{cfg: up}
		s.ups[name] = c
	}
	s.mu.Unlock()
	if stale != nil {
		go func() {
			stale.mu.Lock()
			if stale.cs != nil {
				stale.cs.Close()
			}
			stale.mu.Unlock()
		}()
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cs != nil {
		return c.cs, nil
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "warden-gateway", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(ctx context.Context, r *mcp.ProgressNotificationClientRequest) {
			// Progress tokens are the client's own (passed through in _meta), so they go back as
			// they are, on the stream of the call they belong to; one that comes after the call's
			// result (the SDK client queues notifications but hands over results at once) goes on
			// the session's standalone stream.
			if callCtx, ok := s.progress.Load(fmt.Sprint(r.Params.ProgressToken)); ok {
				if err := s.ss.NotifyProgress(callCtx.(context.Context), r.Params); err != nil {
					s.ss.NotifyProgress(context.Background(), r.Params)
				}
			}
		},
	})
	tr := &mcp.StreamableClientTransport{
		Endpoint: up.URL,
		HTTPClient: &http.Client{Transport: headerTransport{base: s.a.g.client.Transport, headers: up.Headers},
			CheckRedirect: s.a.g.client.CheckRedirect},
		DisableStandaloneSSE: true,
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cs, err := client.Connect(cctx, tr, &mcp.ClientSessionOptions{ProtocolVersion: upstreamProtocol})
	if err != nil {
		s.mu.Lock()
		if s.ups[name] == c {
			delete(s.ups, name)
		}
		s.mu.Unlock()
		return nil, err
	}
	c.cs = cs
	return cs, nil
}

// listUpstream lists every tool of an upstream, all pages.
func (s *aggSession) listUpstream(ctx context.Context, name string, up live.Upstream) ([]*mcp.Tool, error) {
	cs, err := s.upstream(ctx, name, up)
	if err != nil {
		return nil, err
	}
	var out []*mcp.Tool
	params := &mcp.ListToolsParams{}
	for pages := 0; pages < 100; pages++ {
		res, err := cs.ListTools(ctx, params)
		if err != nil {
			var werr *jsonrpc.Error
			if !errors.As(err, &werr) && ctx.Err() == nil {
				s.drop(name, cs)
			}
			return nil, err
		}
		out = append(out, res.Tools...)
		if res.NextCursor == "" {
			break
		}
		params = &mcp.ListToolsParams{Cursor: res.NextCursor}
	}
	return out, nil
}

// drop forgets a broken upstream session so the next request reconnects.
func (s *aggSession) drop(name string, cs *mcp.ClientSession) {
	s.mu.Lock()
	if c := s.ups[name]; c != nil && c.cs == cs {
		delete(s.ups, name)
	}
	s.mu.Unlock()
	go cs.Close()
}

// headerTransport adds a server's upstream headers to every request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(t.headers) > 0 {
		r = r.Clone(r.Context())
		for k, v := range t.headers {
			r.Header.Set(k, v)
		}
	}
	return t.base.RoundTrip(r)
}
