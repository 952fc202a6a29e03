package mcpgw

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/handlers/mcpgw/mcppeers"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
)

// testPolicy is the policy of the gateway tests. "everything" is the reference server's tool
// catalogue (a part of it); "gosrv" is an in-process Go SDK server.
const testPolicy = `version: 1
servers:
  - name: everything
    tools: [echo, get-sum, get-env, get-tiny-image, trigger-long-running-operation, trigger-sampling-request, get-structured-content]
  - name: gosrv
    tools: [add, shout, secret]
  - name: closed
    tools: [nothing]
  - name: dead
    tools: [ping]
organizations:
  - name: acme
    mcp: {servers: [everything, gosrv, dead]}
    deny_tools: [everything/get-env, gosrv/secret]
keys:
  - name: dev
    organization: acme
    mcp:
      tools:
        everything: [echo, get-sum, get-env, trigger-long-running-operation, trigger-sampling-request]
        gosrv: [add, shout, secret]
        dead: [ping]
  - {name: stale, organization: acme, expires_at: "2020-01-01T00:00:00Z"}
  - {name: later, organization: acme, expires_at: "2999-01-01T00:00:00Z", mcp: {servers: [gosrv]}}
  - {name: frozen, organization: acme, blocked: true}
  - {name: nothing, organization: acme, mcp: {}}
end_users:
  - {name: eve, deny_tools: [gosrv/add]}
agents:
  - {name: shouter, mcp: {tools: {gosrv: [shout]}}}
`

// Secrets of the test keys.
const (
	secretDev     = "wdn_devsecret"
	secretStale   = "wdn_stalesecret"
	secretLater   = "wdn_latersecret"
	secretFrozen  = "wdn_frozensecret"
	secretNothing = "wdn_nothingsecret"
)

// testView builds a view as the live state would: the snapshot of the document, the key hashes
// and the upstreams.
func testView(t testing.TB, rev int64, upstreams map[string]live.Upstream) *live.View {
	t.Helper()
	doc, err := models.LoadDocument([]byte(testPolicy))
	if err != nil {
		t.Fatalf("test policy: %v", err)
	}
	for i := range doc.Servers {
		if u, ok := upstreams[doc.Servers[i].Name]; ok {
			doc.Servers[i].URL = u.URL
		}
	}
	keys := map[string]string{}
	for name, secret := range map[string]string{"dev": secretDev, "stale": secretStale, "later": secretLater,
		"frozen": secretFrozen, "nothing": secretNothing} {
		keys[models.HashSecret(secret)] = name
	}
	return &live.View{Revision: rev, Snapshot: resolver.Build(doc), Doc: doc, KeysByHash: keys, Upstreams: upstreams, BuiltAt: time.Now()}
}

// recorder keeps decision records.
type recorder struct {
	mu   sync.Mutex
	recs []live.DecisionRecord
}

func (r *recorder) Record(d live.DecisionRecord) {
	r.mu.Lock()
	r.recs = append(r.recs, d)
	r.mu.Unlock()
}

func (r *recorder) all() []live.DecisionRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]live.DecisionRecord(nil), r.recs...)
}

// views is an enforce.Views whose view can be swapped.
type views struct {
	mu  sync.Mutex
	v   *live.View
	err error
}

func (s *views) View() (*live.View, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v, s.err
}

func (s *views) set(v *live.View, err error) {
	s.mu.Lock()
	s.v, s.err = v, err
	s.mu.Unlock()
}

// harness is a gateway behind a Gin engine, as web/routes.go mounts it.
type harness struct {
	url     string
	gw      *Gateway
	views   *views
	rec     *recorder
	metrics *live.Metrics
}

func newHarness(t testing.TB, upstreams map[string]live.Upstream) *harness {
	t.Helper()
	h := &harness{views: &views{}, rec: &recorder{}, metrics: live.NewMetrics(func() float64 { return 0 })}
	h.views.set(testView(t, 7, upstreams), nil)
	h.gw = New(Config{Views: h.views, Recorder: h.rec, Metrics: h.metrics, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.Any("/mcp", h.gw.Aggregate)
	r.Any("/mcp/:server", h.gw.Server)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// keyTransport sends a Warden key (and optional end user/agent) with every request.
type keyTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for n, v := range k.headers {
		r.Header.Set(n, v)
	}
	base := k.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// connect opens a Go SDK client session to endpoint with a key.
func connect(t testing.TB, endpoint, secret string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	cs, err := dial(endpoint, map[string]string{"Authorization": "Bearer " + secret}, opts)
	if err != nil {
		t.Fatalf("connect %s: %v", endpoint, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func dial(endpoint string, headers map[string]string, opts *mcp.ClientOptions) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "warden-test", Version: "1"}, opts)
	tr := &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Transport: keyTransport{headers: headers}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return client.Connect(ctx, tr, nil)
}

// goServer is an in-process Go SDK MCP server: add, shout, secret.
func goServer(t testing.TB, jsonResponse bool) *httptest.Server {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "gosrv", Version: "1"}, nil)
	type addIn struct {
		A int `json:"a"`
		B int `json:"b"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "adds"}, func(ctx context.Context, req *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprint(in.A + in.B)}}}, nil, nil
	})
	type shoutIn struct {
		S string `json:"s"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "shout"}, func(ctx context.Context, req *mcp.CallToolRequest, in shoutIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.ToUpper(in.S)}}}, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "secret"}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "the secret"}}}, nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "uncatalogued"}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "uncatalogued"}}}, nil, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{JSONResponse: jsonResponse})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// tap is a recording reverse proxy in front of an upstream: it keeps every request's headers and
// body, so tests can prove what reached the upstream.
type tap struct {
	mu   sync.Mutex
	reqs []tapped
	srv  *httptest.Server
}

type tapped struct {
	method string
	header http.Header
	body   string
}

func newTap(t testing.TB, target string) *tap {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.URL.Path = u.Path; pr.Out.Host = u.Host },
		FlushInterval: -1,
	}
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tp.mu.Lock()
		tp.reqs = append(tp.reqs, tapped{method: r.Method, header: r.Header.Clone(), body: string(b)})
		tp.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(tp.srv.Close)
	return tp
}

func (tp *tap) requests() []tapped {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]tapped(nil), tp.reqs...)
}

// Peers: the npm fixture with the reference server and the TypeScript SDK.

// requirePeers fails under CI (any non-empty CI) and skips elsewhere when node or the fixture's packages are missing.
func requirePeers(t testing.TB) string { return mcppeers.Require(t) }

// everything is a running reference server.
type everything struct {
	url string
	*mcppeers.Everything
}

// startEverything starts @modelcontextprotocol/server-everything (see mcppeers).
func startEverything(t testing.TB) *everything {
	e := mcppeers.StartEverything(t)
	return &everything{url: e.URL, Everything: e}
}

func (e *everything) kill() { e.Kill() }

type lockedBuffer = mcppeers.Buffer

// tsClient runs the TypeScript SDK client script of the fixture.
func tsClient(t testing.TB, mode, endpoint, secret string) *exec.Cmd {
	t.Helper()
	dir := requirePeers(t)
	cmd := exec.Command("node", filepath.Join(dir, "client.mjs"), mode)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MCP_URL="+endpoint, "WARDEN_KEY="+secret)
	return cmd
}

// readLine reads one line from r or fails after d.
func readLine(t testing.TB, r *bufio.Reader, d time.Duration) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		s, _ := r.ReadString('\n')
		ch <- s
	}()
	select {
	case s := <-ch:
		return strings.TrimSpace(s)
	case <-time.After(d):
		t.Fatalf("no line within %v", d)
		return ""
	}
}

// testutilCount sums a counter family of the metrics registry.
func testutilCount(t testing.TB, m *live.Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			if c := mt.GetCounter(); c != nil {
				sum += c.GetValue()
			}
			if h := mt.GetHistogram(); h != nil {
				sum += float64(h.GetSampleCount())
			}
		}
	}
	return sum
}

// toolNames lists the session's tools by name, sorted.
func toolNames(t *testing.T, ctx context.Context, cs *mcp.ClientSession) []string {
	t.Helper()
	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(lt.Tools))
	for _, tool := range lt.Tools {
		names = append(names, tool.Name)
	}
	sort.Strings(names)
	return names
}
