package mcpgw

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/live"
)

// newHarnessWith is newHarness with a gateway configuration and a hook on the http.Server (for
// its timeouts). cfg.Views, Recorder, Metrics and Logger are filled in when unset.
func newHarnessWith(t testing.TB, upstreams map[string]live.Upstream, cfg Config, server func(*http.Server)) *harness {
	t.Helper()
	h := &harness{views: &views{}, rec: &recorder{}, metrics: live.NewMetrics(func() float64 { return 0 })}
	h.views.set(testView(t, 7, upstreams), nil)
	cfg.Views, cfg.Recorder, cfg.Metrics = h.views, h.rec, h.metrics
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h.gw = New(cfg)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.Any("/mcp", h.gw.Aggregate)
	r.Any("/mcp/:server", h.gw.Server)
	srv := httptest.NewUnstartedServer(r)
	if server != nil {
		server(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// trapBody is a request body that records whether anything read from it.
type trapBody struct {
	read atomic.Bool
	r    io.Reader
}

func (b *trapBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

func (b *trapBody) Close() error { return nil }

// Finding 5: a request is authenticated, and its key's access to the server checked, before a
// byte of its body is read, on /mcp/:server and on /mcp.
func TestNoBodyReadBeforeAuthentication(t *testing.T) {
	gs := goServer(t, true)
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}, "closed": {URL: gs.URL}})
	call := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`
	for _, c := range []struct {
		name, server, secret string // server "" is the aggregate
		status               int
	}{
		{"no key", "gosrv", "", 401},
		{"unknown key", "gosrv", "wdn_nope", 401},
		{"expired key", "gosrv", secretStale, 401},
		{"blocked key", "gosrv", secretFrozen, 401},
		{"unknown server", "nowhere", secretDev, 404},
		{"no access to the server", "closed", secretDev, 403},
		{"no access at all", "gosrv", secretNothing, 403},
		{"aggregate, no key", "", "", 401},
		{"aggregate, unknown key", "", "wdn_nope", 401},
		{"aggregate, no access", "", secretNothing, 403},
		{"allowed", "gosrv", secretDev, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := &trapBody{r: strings.NewReader(call)}
			req := httptest.NewRequest(http.MethodPost, "/mcp/"+c.server, nil)
			req.Body = body
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if c.secret != "" {
				req.Header.Set("Authorization", "Bearer "+c.secret)
			}
			rec := httptest.NewRecorder()
			if c.server == "" {
				h.gw.ServeAggregate(rec, req)
			} else {
				h.gw.ServeServer(rec, req, c.server)
			}
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if got, want := body.read.Load(), c.status == 200; got != want {
				t.Errorf("body read: %v, want %v (%d %s)", got, want, rec.Code, rec.Body)
			}
		})
	}
}

// A body over the limit gets 413 with a JSON-RPC error, on both endpoints, and nothing of it
// goes upstream.
func TestBodyLimit(t *testing.T) {
	f := newFakeUpstream(t)
	h := newHarnessWith(t, map[string]live.Upstream{"gosrv": {URL: f.srv.URL}}, Config{MaxBodyBytes: 1024}, nil)
	pad := strings.Repeat(" ", 1024)
	for _, path := range []string{"/mcp/gosrv", "/mcp"} {
		resp, body := post(t, h.url+path, secretDev, "application/json, text/event-stream",
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}`+pad)
		if resp.StatusCode != 413 || !strings.Contains(body, `"code":-32600`) || !strings.Contains(body, "larger than 1024 bytes") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	// Exactly at the limit is accepted.
	msg := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}`
	resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json", msg+strings.Repeat(" ", 1024-len(msg)))
	if resp.StatusCode != 200 {
		t.Errorf("at the limit: %d %s", resp.StatusCode, body)
	}
	if n := len(f.bodies); n != 1 {
		t.Errorf("%d bodies reached the upstream, want 1 (the one at the limit)", n)
	}
	// A body declared larger than the limit is refused without reading it.
	for _, server := range []string{"gosrv", ""} {
		body := &trapBody{r: strings.NewReader(msg + pad)}
		req := httptest.NewRequest(http.MethodPost, "/mcp/"+server, nil)
		req.Body, req.ContentLength = body, int64(len(msg+pad))
		req.Header.Set("Authorization", "Bearer "+secretDev)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		rec := httptest.NewRecorder()
		if server == "" {
			h.gw.ServeAggregate(rec, req)
		} else {
			h.gw.ServeServer(rec, req, server)
		}
		if rec.Code != 413 || body.read.Load() {
			t.Errorf("%q, declared too large: %d, read %v", server, rec.Code, body.read.Load())
		}
	}
}

// slowUpstream answers a POST with an event stream of n events, one every gap, and a GET with a
// stream that stays silent for gap before its one event; a POST with ?json answers JSON after gap.
func slowUpstream(t *testing.T, n int, gap time.Duration) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.Copy(io.Discard, r.Body)
		}
		if r.URL.Query().Has("json") {
			time.Sleep(gap)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"slow"}]}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		if r.Method == http.MethodGet {
			n = 1
		}
		for i := 1; i <= n; i++ {
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				return
			}
			fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":%d}}\n\n", i)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// tiny is the http.Server timeouts of the stream tests: every one far shorter than the streams.
const tiny = 300 * time.Millisecond

func tinyTimeouts(s *http.Server) {
	s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout = tiny, tiny, tiny, tiny
}

// Event streams, and answers slower than the server's timeouts, outlive the http.Server's read
// and write deadlines (lifted per exchange once the request is read); unauthenticated and
// half-sent requests do not.
func TestStreamsOutliveServerTimeouts(t *testing.T) {
	up := slowUpstream(t, 6, tiny/2) // 6 events over 3 times the timeouts
	h := newHarnessWith(t, map[string]live.Upstream{"gosrv": {URL: up.URL}}, Config{}, tinyTimeouts)

	// A POST answered with an event stream lasting longer than every timeout.
	req, _ := http.NewRequest(http.MethodPost, h.url+"/mcp/gosrv", strings.NewReader(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	req.Header.Set("Authorization", "Bearer "+secretDev)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	events := streamEvents(t, req)
	if len(events) != 6 || !strings.Contains(events[5], `"data":6`) {
		t.Errorf("POST stream: %d events %q", len(events), events)
	}

	// A GET stream silent for longer than every timeout, then an event.
	slow := slowUpstream(t, 1, 3*tiny)
	h2 := newHarnessWith(t, map[string]live.Upstream{"gosrv": {URL: slow.URL}, "everything": {URL: slow.URL + "?json"}}, Config{}, tinyTimeouts)
	req, _ = http.NewRequest(http.MethodGet, h2.url+"/mcp/gosrv", nil)
	req.Header.Set("Authorization", "Bearer "+secretDev)
	req.Header.Set("Accept", "text/event-stream")
	if events := streamEvents(t, req); len(events) != 1 {
		t.Errorf("GET stream: %q", events)
	}

	// A JSON answer that comes after every timeout.
	req, _ = http.NewRequest(http.MethodPost, h2.url+"/mcp/everything", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`))
	req.Header.Set("Authorization", "Bearer "+secretDev)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("slow JSON answer: %v", err)
	}
	b, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 200 || !strings.Contains(string(b), `"slow"`) {
		t.Errorf("slow JSON answer: %d %s", r2.StatusCode, b)
	}

	// A request trickling its body a byte at a time is cut, with a valid key and without one.
	for _, secret := range []string{secretDev, ""} {
		if !trickleCut(t, h.url, "/mcp/gosrv", secret) {
			t.Errorf("key %q: a trickled body held the connection", secret)
		}
	}
}

// streamEvents sends req and returns the data lines of the event stream it gets.
func streamEvents(t *testing.T, req *http.Request) []string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	if err := sc.Err(); err != nil {
		t.Errorf("stream broke after %d events: %v", len(out), err)
	}
	return out
}

// trickleCut sends the headers of a POST and then its body a byte every 50 ms, and reports
// whether the server closed the connection before 200 bytes went (10 s: the server's read
// timeout in these tests is 300 ms).
func trickleCut(t *testing.T, base, path, secret string) bool {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	auth := ""
	if secret != "" {
		auth = "Authorization: Bearer " + secret + "\r\n"
	}
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: 100000\r\n\r\n{", path, addr, auth)
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c) // returns when the server closes the connection
		close(closed)
	}()
	for i := 0; i < 200; i++ {
		select {
		case <-closed:
			return true
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := c.Write([]byte(" ")); err != nil {
			return true
		}
	}
	return false
}

// The aggregate's event streams outlive the server's timeouts too: a long call against the
// reference server, with progress.
func TestAggregateStreamOutlivesServerTimeouts(t *testing.T) {
	ev := startEverything(t)
	for _, path := range []string{"/mcp/everything", "/mcp"} {
		t.Run(path, func(t *testing.T) {
			h := newHarnessWith(t, map[string]live.Upstream{"everything": {URL: ev.url}}, Config{}, tinyTimeouts)
			var mu sync.Mutex
			progress := 0
			cs := connect(t, h.url+path, secretDev, &mcp.ClientOptions{
				ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) {
					mu.Lock()
					progress++
					mu.Unlock()
				},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			name := "trigger-long-running-operation"
			if path == "/mcp" {
				name = "everything__" + name
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name,
				Arguments: map[string]any{"duration": 1.5, "steps": 5}, Meta: mcp.Meta{"progressToken": "slow"}})
			if err != nil || !strings.Contains(text(res), "completed") {
				t.Fatalf("long call (%v > the server's timeouts): %v %v", 1500*time.Millisecond, err, res)
			}
			for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				mu.Lock()
				n := progress
				mu.Unlock()
				if n == 5 {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("progress notifications: %d, want 5", n)
					break
				}
			}
		})
	}
}
