package mcpgw

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
)

// Config is what the gateway needs. Views is required; the rest is optional.
type Config struct {
	Views    enforce.Views
	Recorder live.Recorder
	Metrics  *live.Metrics
	// Transport reaches the upstream servers; nil means a transport tuned for a relay.
	Transport http.RoundTripper
	Logger    *slog.Logger
	// MaxBodyBytes bounds a POST body (default 4 MiB); larger ones get 413. It is read only once
	// the key is authenticated and allowed.
	MaxBodyBytes int64
	// MaxBodyInflightPerKey and MaxBodyInflight bound the bytes of request bodies being read at
	// once for one key and in all (defaults 32 MiB and 256 MiB; see BodyBudget): a request whose
	// body would not fit gets 429 without a byte of it read. MaxBodyInflightPerKey should be at
	// least MaxBodyBytes, or a body of the largest size is never read.
	MaxBodyInflightPerKey int64
	MaxBodyInflight       int64
	// SessionTimeout closes idle sessions of the aggregate endpoint /mcp and forgets idle session
	// bindings of /mcp/:server (default 30 minutes).
	SessionTimeout time.Duration
	// MaxSessionsPerKey bounds the sessions one key holds open on /mcp; one more gets 429
	// (default 16).
	MaxSessionsPerKey int
	// MaxRelaySessions bounds the session bindings of /mcp/:server kept in memory (default
	// 65536), MaxRelaySessionsPerKey those of one key (default 1024): beyond it the key's own
	// least recently used binding is forgotten, so one key cannot push out another's. Relayed
	// sessions cost the gateway only their binding (the upstream holds the session), hence the
	// larger bounds.
	MaxRelaySessions       int
	MaxRelaySessionsPerKey int
	// StreamWriteTimeout bounds each write of a relayed answer or event stream once the request is
	// read (default 60 seconds); the http.Server's own read and write deadlines are lifted then.
	StreamWriteTimeout time.Duration
	// Now is the clock for key expiry (default time.Now).
	Now func() time.Time
}

// Gateway is the MCP enforcement point: /mcp/:server relays one upstream, /mcp aggregates all
// the servers a key may use.
type Gateway struct {
	enf      *enforce.Enforcer
	obs      Observer
	client   *http.Client
	log      *slog.Logger
	maxBody  int64
	maxEvent int
	// bodies bounds the request bodies being read at once.
	bodies *BodyBudget
	agg    *aggregator
	// relayed binds the session ids upstreams issue on /mcp/:server to the keys that opened them.
	relayed     *relaySessions
	streamWrite time.Duration
	// streams are the relayed GET streams; swapMu serialises the handling of view swaps.
	streams relayStreams
	swapMu  sync.Mutex
}

// New returns a gateway.
func New(cfg Config) *Gateway {
	tr := cfg.Transport
	if tr == nil {
		tr = NewTransport()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	g := &Gateway{
		enf: enforce.NewEnforcer(cfg.Views, cfg.Now),
		obs: Observer{Recorder: cfg.Recorder, Metrics: cfg.Metrics},
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // never carry upstream credentials to another address
		}},
		log:      log,
		maxBody:  cfg.MaxBodyBytes,
		maxEvent: 64 << 20,
		bodies:   NewBodyBudget(cfg.MaxBodyInflightPerKey, cfg.MaxBodyInflight),
	}
	g.maxBody = orDefault(g.maxBody, DefaultMaxBodyBytes)
	g.streamWrite = orDefault(cfg.StreamWriteTimeout, DefaultStreamWriteTimeout)
	timeout := orDefault(cfg.SessionTimeout, DefaultSessionTimeout)
	perKey := orDefault(cfg.MaxSessionsPerKey, DefaultMaxSessionsPerKey)
	maxRelayed := orDefault(cfg.MaxRelaySessions, DefaultMaxRelaySessions)
	relayedPerKey := orDefault(cfg.MaxRelaySessionsPerKey, DefaultMaxRelaySessionsPerKey)
	g.agg = newAggregator(g, timeout, perKey)
	g.relayed = newRelaySessions(timeout, relayedPerKey, maxRelayed, time.Now)
	g.watchViews(cfg.Views)
	return g
}

// orDefault is v, or def when v is not positive (a Config field left zero).
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// NewTransport is the default upstream transport: keep-alive connections to each upstream, no
// compression (the gateway reads what it relays), a short dial timeout so an unreachable upstream
// is reported quickly.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableCompression:  true,
	}
}

// Enforcer is the gateway's enforcer (shared with the decision API).
func (g *Gateway) Enforcer() *enforce.Enforcer { return g.enf }

// BodyBudget is the gateway's budget of request bodies being read at once (shared with the
// decision API, under CheckAPIBucket).
func (g *Gateway) BodyBudget() *BodyBudget { return g.bodies }

// Observer is where the gateway records decisions and metrics.
func (g *Gateway) Observer() Observer { return g.obs }

// Server is the Gin handler of /mcp/:server.
func (g *Gateway) Server(c *gin.Context) { g.ServeServer(c.Writer, c.Request, c.Param("server")) }

// Aggregate is the Gin handler of /mcp.
func (g *Gateway) Aggregate(c *gin.Context) { g.ServeAggregate(c.Writer, c.Request) }

// exchange is one client request relayed to one upstream.
type exchange struct {
	g      *Gateway
	w      http.ResponseWriter
	r      *http.Request
	server string
	pol    *enforce.Policy
	pr     enforce.Principal
	in     *body
	local  [][]byte  // answers the gateway gives itself (denials)
	calls  []pending // forwarded requests
}

// pending is a forwarded request still owed a response.
type pending struct {
	id       jsonrpc.ID
	key      string
	toolList bool
	answered bool
}

// ServeServer relays one MCP Streamable HTTP request to the upstream registered as server,
// enforcing the policy on tools/list and tools/call.
func (g *Gateway) ServeServer(w http.ResponseWriter, r *http.Request, server string) {
	start := time.Now()
	x := &exchange{g: g, w: w, r: r, server: server}
	observed := false
	defer func() {
		if observed {
			g.obs.Latency(server, methodLabel(x.in), time.Since(start))
		}
	}()

	pol, rev, err := g.enf.Policy()
	w.Header().Set(RevisionHeader, strconv.FormatInt(rev, 10))
	if err != nil {
		x.fail(http.StatusServiceUnavailable, CodeUnavailable, "Warden has no current policy to enforce: "+enforce.PolicyError(err), nil)
		return
	}
	x.pol = pol
	// Nothing of the body is read before the key is authenticated and allowed on the server: a
	// caller without a valid key costs a header parse, never a buffered body.
	switch r.Method {
	case http.MethodPost, http.MethodGet, http.MethodDelete:
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		x.fail(http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest, "method not allowed", nil)
		return
	}

	pr, err := PrincipalFrom(pol, r.Header, g.enf.Now())
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="warden"`)
		x.fail(http.StatusUnauthorized, CodeUnauthorized, err.Error(), nil)
		return
	}
	x.pr = pr
	up, ok := pol.View.Upstreams[server]
	if !ok || up.URL == "" {
		msg := fmt.Sprintf("unknown server %q", server)
		if pol.Known(server) {
			msg = fmt.Sprintf("server %q has no upstream URL", server)
		}
		x.fail(http.StatusNotFound, CodeNotFound, msg, nil)
		return
	}
	observed = true
	acc, err := pol.Access(pr)
	if err != nil {
		x.fail(http.StatusForbidden, CodeForbidden, err.Error(), map[string]any{"reason": err.Error(), "server": server})
		return
	}
	if len(acc[server]) == 0 {
		reason := pol.NoAccessReason(pr, server)
		x.fail(http.StatusForbidden, CodeForbidden, fmt.Sprintf("key %q may use no tool of server %q: %s", pr.Key, server, reason),
			map[string]any{"reason": reason, "server": server, "key": pr.Key})
		return
	}
	if up.Unavailable != "" {
		// The server's credentials cannot be read: relay nothing rather than call it without them.
		// The reason (which key, which row) is for the operator's log, not the client.
		x.fail(http.StatusServiceUnavailable, CodeUpstreamUnavailable, unavailableMessage(server),
			map[string]any{"reason": "upstream credentials unreadable", "server": server})
		return
	}

	if sid := r.Header.Get(sessionHeader); sid != "" {
		done, ok := x.useSession(sid)
		if !ok {
			return
		}
		defer done()
	}

	if r.Method == http.MethodPost {
		if _, ok := x.readMessages(pol); !ok {
			return
		}
	}
	x.w = g.liftDeadlines(w)

	var fwd []byte
	if x.in != nil {
		fwd = x.plan()
		if fwd == nil {
			x.writeLocal()
			return
		}
	}
	x.relay(up, fwd)
}

// plan decides every tools/call of the POST body and returns the body to forward, made of the
// re-encoded messages that were read (so the upstream sees exactly what was decided): all of
// them, in the body's shape, when nothing was denied; the remaining ones as a batch otherwise;
// nil when nothing remains.
func (x *exchange) plan() []byte {
	now := x.g.enf.Now()
	denied := false
	keep := x.in.msgs[:0:0]
	for _, m := range x.in.msgs {
		if m.req == nil {
			keep = append(keep, m)
			continue
		}
		if m.req.Method == "tools/call" {
			tool := m.tool
			d, reason := x.pol.Decide(x.pr, x.server, tool)
			x.g.obs.Decision("call", x.pr, x.server, tool, d, x.pol.View.Revision, now)
			if !d.Allowed {
				denied = true
				if m.req.IsCall() {
					x.local = append(x.local, errorResponse(m.req.ID, CodeDenied, reason, map[string]any{
						"decided_by": d.DecidedBy, "principal": d.Principal, "level": d.Level, "cause": d.Cause,
						"revision": x.pol.View.Revision,
					}))
				}
				continue
			}
		}
		if m.req.IsCall() {
			x.calls = append(x.calls, pending{id: m.req.ID, key: idKey(m.req.ID), toolList: m.req.Method == "tools/list"})
		}
		keep = append(keep, m)
	}
	if len(keep) == 0 {
		return nil
	}
	msgs := make([][]byte, len(keep))
	for i, m := range keep {
		msgs[i] = m.raw
	}
	return joinMessages(msgs, x.in.batch || denied)
}

// unavailableMessage is what a client is told of a server whose stored upstream headers cannot
// be used (live.Upstream.Unavailable).
func unavailableMessage(server string) string {
	return fmt.Sprintf("server %q is unavailable: Warden cannot read its upstream credentials (see the Warden log)", server)
}

// relay sends the request upstream and relays the answer.
func (x *exchange) relay(up live.Upstream, fwd []byte) {
	r := x.r
	var rd io.Reader
	if fwd != nil {
		rd = bytes.NewReader(fwd)
	}
	ureq, err := http.NewRequestWithContext(r.Context(), r.Method, up.URL, rd)
	if err != nil {
		x.g.obs.UpstreamError(x.server)
		x.upstreamDown(fmt.Errorf("%w: %w", safeError("its URL is not valid"), err))
		return
	}
	copyRequestHeaders(ureq.Header, r.Header)
	for k, v := range up.Headers {
		ureq.Header.Set(k, v)
	}
	describeBody(ureq.Header, fwd != nil)
	resp, err := x.g.client.Do(ureq)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client went away
		}
		x.g.obs.UpstreamError(x.server)
		x.upstreamDown(err)
		return
	}
	defer resp.Body.Close()
	x.noteSession(resp)
	if resp.StatusCode >= 500 {
		x.g.obs.UpstreamError(x.server)
	}
	h := x.w.Header()
	copyResponseHeaders(h, resp.Header)
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	switch ct := mediaType(resp.Header.Get("Content-Type")); {
	case ok2xx && ct == "text/event-stream":
		h.Del("Content-Length")
		x.relaySSE(resp)
	case ok2xx && ct == "application/json" && r.Method == http.MethodPost:
		x.relayJSON(resp)
	case ok2xx && r.Method == http.MethodPost && x.hasPending() && resp.StatusCode != http.StatusAccepted:
		// Requests are owed answers, and the only answers a client reads are JSON and event
		// streams, which are filtered above. Anything else could be read as JSON by a client
		// that sniffs or tests a prefix ("application/jsonx"): it is not relayed.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		h.Del("Content-Length")
		h.Del("Content-Type")
		x.g.obs.UpstreamError(x.server)
		x.upstreamDown(fmt.Errorf("it answered with content type %q, not JSON or an event stream", resp.Header.Get("Content-Type")))
	case ok2xx && len(x.local) > 0:
		// The upstream took the rest of a batch (notifications, responses) without answering.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		h.Del("Content-Length")
		h.Del("Content-Type")
		x.writeLocal()
	default:
		x.w.WriteHeader(resp.StatusCode)
		copyBody(x.w, resp.Body)
	}
}

// relayJSON relays a JSON answer, filtering tools/list results and adding local answers.
func (x *exchange) relayJSON(resp *http.Response) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(x.g.maxEvent)+1))
	if err != nil || len(raw) > x.g.maxEvent {
		if x.r.Context().Err() != nil {
			return
		}
		x.g.obs.UpstreamError(x.server)
		x.upstreamDown(fmt.Errorf("reading the answer: %w", errOr(err, safeError("its answer is larger than the gateway accepts"))))
		return
	}
	out, unreadable := x.rewriteData(raw, x.local)
	if unreadable {
		x.g.obs.UpstreamError(x.server)
		x.upstreamDown(safeError("it answered with JSON that is not JSON-RPC"))
		return
	}
	if out == nil {
		out = raw
	}
	h := x.w.Header()
	h.Set("Content-Length", fmt.Sprint(len(out)))
	x.w.WriteHeader(resp.StatusCode)
	x.w.Write(out)
}

// relaySSE relays an event stream event by event, flushing each, filtering tools/list results.
// When the upstream stream breaks, requests still owed a response get a JSON-RPC error, so a
// client never waits for an answer that cannot come.
func (x *exchange) relaySSE(resp *http.Response) {
	// A session's GET stream is where the gateway adds its own notifications (listchanged.go):
	// every write goes through the stream's lock.
	st := &relayStream{w: x.w}
	if x.r.Method == http.MethodGet {
		st.saw(x.pr, x.pol.View.Snapshot)
		st.server = x.server
		x.g.streams.add(st)
		defer x.g.streams.remove(st)
	}
	st.mu.Lock()
	x.w.WriteHeader(resp.StatusCode)
	out := make([]byte, 0, 4096)
	for _, l := range x.local {
		out = appendMessageEvent(out, l)
	}
	if len(out) > 0 {
		x.w.Write(out)
	}
	http.NewResponseController(x.w).Flush()
	st.mu.Unlock()
	rd := newSSEReader(resp.Body, x.g.maxEvent)
	var ev sseEvent
	dropped := false
	for {
		err := rd.next(&ev)
		if err != nil {
			if x.r.Context().Err() != nil || (err == io.EOF && !dropped) {
				return
			}
			x.g.obs.UpstreamError(x.server)
			x.g.log.Warn("mcp upstream stream broke", "server", x.server, "err", err)
			msg := fmt.Sprintf("upstream server %q is unreachable: the stream broke before it answered (%s)", x.server, category(err))
			if err == io.EOF {
				msg = fmt.Sprintf("upstream server %q sent an answer that is not JSON-RPC", x.server)
			}
			out = out[:0]
			for i := range x.calls {
				if c := &x.calls[i]; !c.answered {
					out = appendMessageEvent(out, errorResponse(c.id, CodeUpstreamUnavailable, msg, nil))
				}
			}
			if len(out) > 0 {
				st.write(out)
			}
			return
		}
		var repl []byte
		if ev.hasData && (ev.name == "" || ev.name == "message") {
			var unreadable bool
			if repl, unreadable = x.rewriteData(ev.data, nil); unreadable {
				// Not JSON-RPC, yet it may carry a tool list: never relay what cannot be filtered.
				x.g.log.Warn("mcp upstream sent an unreadable event; dropped", "server", x.server)
				dropped = true
				continue
			}
		}
		out = appendEvent(out[:0], &ev, repl)
		if err := st.write(out); err != nil {
			return
		}
	}
}

// rewriteData reads a JSON body or event data (one message or a batch) from the upstream: it
// marks the requests it answers and filters tools/list results, then adds extra messages. out is
// nil when nothing changed. unreadable is set (and out nil) when the data is not JSON-RPC but
// might carry a tool list, which must not be relayed unfiltered.
func (x *exchange) rewriteData(data []byte, extra [][]byte) (out []byte, unreadable bool) {
	if len(extra) == 0 && !mayBeToolList(data) && !x.hasPending() {
		return nil, false // nothing to filter, nobody waiting: relay as is
	}
	b, err := readUpstreamBody(data)
	if err != nil {
		if mayBeToolList(data) {
			return nil, true
		}
		if len(extra) == 0 {
			return nil, false
		}
		return joinMessages(append([][]byte{data}, extra...), true), false
	}
	changed := len(extra) > 0
	msgs := make([][]byte, 0, len(b.msgs)+len(extra))
	for _, m := range b.msgs {
		if nb, ok := x.rewrite(m); ok {
			msgs = append(msgs, nb)
			changed = true
		} else {
			msgs = append(msgs, m.raw)
		}
	}
	if !changed {
		return nil, false
	}
	msgs = append(msgs, extra...)
	return joinMessages(msgs, b.batch || len(msgs) > 1), false
}

// rewrite marks a response answered and filters it when it is a tools/list result: the result of
// a tools/list request of this POST, or any result shaped like one (a resumed stream may carry
// answers to earlier POSTs; filtering them too fails closed).
func (x *exchange) rewrite(m message) ([]byte, bool) {
	if m.res == nil {
		return nil, false
	}
	toolList := false
	if k := idKey(m.res.ID); k != "" {
		for i := range x.calls {
			if c := &x.calls[i]; !c.answered && c.key == k {
				c.answered = true
				toolList = c.toolList
				break
			}
		}
	}
	if m.res.Error != nil || len(m.res.Result) == 0 || (!toolList && !mayBeToolList(m.res.Result)) {
		return nil, false
	}
	// A principal the resolver gives no access (it cannot happen once ServeServer has checked
	// Access, but a list must never pass unfiltered) keeps no tool: fail closed.
	var tools []string
	if acc, err := x.pol.Access(x.pr); err == nil {
		tools = acc[x.server]
	}
	out, ok := filterTools(m.res.Result, func(name string) bool {
		_, found := searchStrings(tools, name)
		return found
	})
	if !ok {
		return nil, false
	}
	x.g.obs.List(x.pr, x.server, x.pol.View.Revision, x.g.enf.Now())
	b, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: m.res.ID, Result: out})
	if err != nil {
		return nil, false
	}
	return b, true
}

func (x *exchange) hasPending() bool {
	for _, c := range x.calls {
		if !c.answered {
			return true
		}
	}
	return false
}

// upstreamDown answers when the upstream could not be reached: every forwarded request gets a
// JSON-RPC error (with the local answers, as a normal JSON-RPC exchange); a request carrying no
// JSON-RPC request (GET stream, DELETE, notifications) gets 502.
func (x *exchange) upstreamDown(err error) {
	msg := fmt.Sprintf("upstream server %q is unreachable: %s", x.server, category(err))
	// The client learns which server failed and roughly why; where the server is (URL, host,
	// address, resolver) only the log says.
	x.g.log.Warn("mcp upstream unreachable", "server", x.server, "err", err)
	if len(x.calls) == 0 && len(x.local) == 0 {
		x.fail(http.StatusBadGateway, CodeUpstreamUnavailable, msg, map[string]any{"server": x.server})
		return
	}
	for _, c := range x.calls {
		x.local = append(x.local, errorResponse(c.id, CodeUpstreamUnavailable, msg, map[string]any{"server": x.server}))
	}
	x.writeLocal()
}

// writeLocal answers the POST with the local answers, as JSON or as an event stream, whichever
// the client accepts.
func (x *exchange) writeLocal() {
	h := x.w.Header()
	if len(x.local) == 0 {
		// Only notifications (or responses) were sent, and none went upstream.
		x.w.WriteHeader(http.StatusAccepted)
		return
	}
	batch := x.in != nil && x.in.batch
	jsonOK, streamOK := accepts(x.r.Header.Values("Accept"))
	if !jsonOK && streamOK {
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		var out []byte
		for _, l := range x.local {
			out = appendMessageEvent(out, l)
		}
		x.w.WriteHeader(http.StatusOK)
		x.w.Write(out)
		return
	}
	out := joinMessages(x.local, batch || len(x.local) > 1)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(out)))
	x.w.WriteHeader(http.StatusOK)
	x.w.Write(out)
}

// fail answers with an HTTP error whose body is a JSON-RPC error response (id of the request
// when the body is one request, else null), so MCP SDK clients surface the message.
func (x *exchange) fail(status int, code int64, msg string, data map[string]any) {
	var id jsonrpc.ID
	if x.in != nil && !x.in.batch && x.in.msgs[0].req != nil {
		id = x.in.msgs[0].req.ID
	}
	if data == nil {
		data = map[string]any{}
	}
	data["status"] = status
	if _, ok := data["reason"]; !ok {
		data["reason"] = msg
	}
	out := errorResponse(id, code, msg, data)
	h := x.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(out)))
	x.w.WriteHeader(status)
	x.w.Write(out)
}

func joinMessages(msgs [][]byte, array bool) []byte {
	if !array && len(msgs) == 1 {
		return msgs[0]
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(m)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// Headers never forwarded upstream: hop-by-hop headers, the client's Warden credentials and
// browser context (the gateway is the upstream's client), and Accept-Encoding (the gateway reads
// what it relays).
var dropRequest = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Content-Length": true, "Host": true, "Authorization": true, "Cookie": true, "Accept-Encoding": true,
	"Origin": true, "Referer": true,
}

// Headers never relayed to the client: hop-by-hop headers, and what belongs to the upstream's own
// origin (cookies, CORS policy, redirect targets).
var dropResponse = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Set-Cookie": true, "Location": true, "Alt-Svc": true,
}

func copyRequestHeaders(dst, src http.Header) {
	for k, vv := range src {
		if dropRequest[k] || strings.HasPrefix(k, "X-Warden-") || strings.HasPrefix(k, "Sec-Fetch-") {
			continue
		}
		dst[k] = vv
	}
	for _, f := range src.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			dst.Del(strings.TrimSpace(name))
		}
	}
}

func copyResponseHeaders(dst, src http.Header) {
	for k, vv := range src {
		if dropResponse[k] || strings.HasPrefix(k, "Access-Control-") || strings.HasPrefix(k, "X-Warden-") {
			continue
		}
		dst[k] = vv
	}
	for _, f := range src.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			dst.Del(strings.TrimSpace(name))
		}
	}
}

// copyBody copies a body, flushing as data arrives (a stream of an unknown type stays live).
func copyBody(w http.ResponseWriter, r io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// mediaType is the media type of a Content-Type value as clients read it: a value whose
// parameters are malformed ("application/json; charset") still has the media type before the
// ";" (as the TypeScript SDK's client and browsers take it), or an answer the client reads as
// JSON-RPC would be relayed as an unknown type, unfiltered.
func mediaType(v string) string {
	mt, _, err := mime.ParseMediaType(v)
	if err == nil || errors.Is(err, mime.ErrInvalidMediaParameter) {
		return mt
	}
	essence, rest, _ := strings.Cut(v, ";")
	if strings.Contains(rest, ",") {
		return "" // joined duplicate headers: ambiguous
	}
	return strings.ToLower(strings.TrimSpace(essence))
}

// errOr is err, or fallback when err is nil.
func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

func searchStrings(sorted []string, s string) (int, bool) {
	lo, hi := 0, len(sorted)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sorted[m] < s {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(sorted) && sorted[lo] == s
}
