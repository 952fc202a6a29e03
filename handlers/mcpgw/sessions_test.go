package mcpgw

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
)

// Finding 3: on /mcp/:server, key B sending the session id the reference server issued to key
// A is refused with 403, on every method, and the upstream never sees the request.
func TestRelaySessionBoundToKey(t *testing.T) {
	ev := startEverything(t)
	tp := newTap(t, ev.url)
	ups := map[string]live.Upstream{"everything": {URL: tp.srv.URL + "/mcp"}}
	h := newHarness(t, ups)
	// Key "later" may use the reference server too, so only the session stands in its way.
	h.views.set(testViewOf(t, strings.Replace(testPolicy, "mcp: {servers: [gosrv]}", "mcp: {servers: [gosrv, everything]}", 1), 7, ups), nil)
	cs := connect(t, h.url+"/mcp/everything", secretDev, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "a"}}); err != nil {
		t.Fatal(err)
	}
	sid := cs.ID()
	if sid == "" {
		t.Fatal("the reference server issued no session id")
	}
	// "later" is allowed on the server without a session of its own.
	other := connect(t, h.url+"/mcp/everything", secretLater, nil)
	if _, err := other.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "mine"}}); err != nil {
		t.Fatalf("later in its own session: %v", err)
	}

	before := len(tp.requests())
	call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"b"}}}`
	resp, body := post(t, h.url+"/mcp/everything", secretLater, "application/json, text/event-stream", call,
		"Mcp-Session-Id", sid, "Mcp-Protocol-Version", "2025-11-25")
	if resp.StatusCode != 403 || !strings.Contains(body, "this session was opened with another key") || !strings.Contains(body, `"code":-32033`) {
		t.Errorf("another key with the session id: %d %s", resp.StatusCode, body)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(m, h.url+"/mcp/everything", nil)
		req.Header.Set("Authorization", "Bearer "+secretLater)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("%s with another key's session: %d", m, resp.StatusCode)
		}
	}
	if got := tp.requests()[before:]; len(got) != 0 {
		t.Errorf("%d requests with another key's session reached the upstream, the first: %s %s", len(got), got[0].method, got[0].body)
	}
	// The session still works for its own key.
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "c"}}); err != nil {
		t.Errorf("the owner's call after the refusals: %v", err)
	}
}

// testViewOf is testView for another policy document.
func testViewOf(t testing.TB, policy string, rev int64, upstreams map[string]live.Upstream) *live.View {
	t.Helper()
	doc, err := models.LoadDocument([]byte(policy))
	if err != nil {
		t.Fatalf("test policy: %v", err)
	}
	for i := range doc.Servers {
		if u, ok := upstreams[doc.Servers[i].Name]; ok {
			doc.Servers[i].URL = u.URL
		}
	}
	v := testView(t, rev, upstreams)
	v.Doc, v.Snapshot = doc, resolver.Build(doc)
	return v
}

// A second key allowed on the same server cannot use the first key's session, on any method;
// an id never issued through the gateway is refused with 404; a DELETE forgets the binding.
func TestRelaySessionRefusals(t *testing.T) {
	f := newFakeUpstream(t) // issues Mcp-Session-Id: sess-1 on every answer
	const doc = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: f.srv.URL}})
	// "later" (gosrv allowed) opens the session.
	if resp, body := post(t, h.url+"/mcp/gosrv", secretLater, "application/json", doc); resp.StatusCode != 200 || resp.Header.Get("Mcp-Session-Id") != "sess-1" {
		t.Fatalf("open: %d %s", resp.StatusCode, body)
	}
	<-f.bodies
	<-f.header
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(m, h.url+"/mcp/gosrv", strings.NewReader(doc))
		req.Header.Set("Authorization", "Bearer "+secretDev)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Mcp-Session-Id", "sess-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("%s with another key's session: %d", m, resp.StatusCode)
		}
	}
	resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json", doc, "Mcp-Session-Id", "sess-1")
	if resp.StatusCode != 403 || !strings.Contains(body, `"code":-32033`) || !strings.Contains(body, "another key") {
		t.Errorf("403 body: %s", body)
	}
	// An id the gateway never saw issued.
	resp, body = post(t, h.url+"/mcp/gosrv", secretLater, "application/json", doc, "Mcp-Session-Id", "made-up")
	if resp.StatusCode != 404 || !strings.Contains(body, `"code":-32034`) || !strings.Contains(body, "start a new session") {
		t.Errorf("unknown session: %d %s", resp.StatusCode, body)
	}
	select {
	case b := <-f.bodies:
		t.Errorf("a refused request reached the upstream: %q", b)
	default:
	}
	// The owner ends the session: the binding goes with it.
	req, _ := http.NewRequest(http.MethodDelete, h.url+"/mcp/gosrv", nil)
	req.Header.Set("Authorization", "Bearer "+secretLater)
	req.Header.Set("Mcp-Session-Id", "sess-1")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 204 || h.gw.relayed.len() != 0 {
		t.Errorf("DELETE: %d, %d bindings left", r2.StatusCode, h.gw.relayed.len())
	}
}

// The binding table: idle expiry (not while a request is in flight), the per-key cap evicting
// the key's own least recently used binding, the global cap, and DELETE/404 forgetting.
func TestRelaySessionTable(t *testing.T) {
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := newRelaySessions(time.Minute, 3, 5, clock)

	if !s.bind("srv", "a1", "alice") {
		t.Fatal("bind a1")
	}
	if s.bind("srv", "a1", "bob") {
		t.Error("an id bound to alice was rebound to bob")
	}
	if _, u := s.use("srv", "a1", "bob"); u != sessionOtherKey {
		t.Errorf("bob on a1: %v", u)
	}
	if _, u := s.use("other", "a1", "alice"); u != sessionUnknown {
		t.Errorf("a1 on another server: %v", u)
	}
	// In flight: not idle, however long it takes.
	done, u := s.use("srv", "a1", "alice")
	if u != sessionOwned {
		t.Fatalf("alice on a1: %v", u)
	}
	advance(2 * time.Minute)
	if d, u := s.use("srv", "a1", "alice"); u != sessionOwned {
		t.Errorf("a1 with a stream open expired: %v", u)
	} else {
		d()
	}
	done()
	advance(2 * time.Minute)
	if _, u := s.use("srv", "a1", "alice"); u != sessionUnknown {
		t.Errorf("a1 idle past the timeout: %v", u)
	}

	// The per-key cap: alice's fourth session evicts her least recently used one.
	s2 := newRelaySessions(time.Minute, 3, 100, clock)
	for i := 1; i <= 3; i++ {
		s2.bind("srv", fmt.Sprint("a", i), "alice")
		advance(time.Second)
	}
	s2.bind("srv", "b1", "bob")
	if d, u := s2.use("srv", "a1", "alice"); u == sessionOwned { // a1 is now the most recent
		d()
	}
	s2.bind("srv", "a4", "alice")
	if _, u := s2.use("srv", "a2", "alice"); u != sessionUnknown {
		t.Errorf("a2 (least recently used) still bound: %v", u)
	}
	for _, sid := range []string{"a1", "a3", "a4"} {
		if _, u := s2.use("srv", sid, "alice"); u != sessionOwned {
			t.Errorf("%s: %v", sid, u)
		}
	}
	if _, u := s2.use("srv", "b1", "bob"); u != sessionOwned {
		t.Errorf("bob's session was evicted by alice's: %v", u)
	}

	// Idle expiry, then the global cap.
	s3 := newRelaySessions(time.Minute, 10, 3, clock)
	s3.bind("srv", "x1", "k1")
	advance(2 * time.Minute)
	if _, u := s3.use("srv", "x1", "k1"); u != sessionUnknown || s3.len() != 0 {
		t.Errorf("idle binding not expired: %v, %d", u, s3.len())
	}
	for i := 1; i <= 5; i++ {
		s3.bind("srv", fmt.Sprint("y", i), fmt.Sprint("k", i))
		advance(time.Second)
	}
	if s3.len() != 3 {
		t.Errorf("%d bindings held, cap 3", s3.len())
	}
	s3.forget("srv", "y5", "k4") // not k4's: kept
	s3.forget("srv", "y4", "k4")
	if _, u := s3.use("srv", "y5", "k5"); u != sessionOwned || s3.len() != 2 {
		t.Errorf("forget: %v, %d", u, s3.len())
	}
}

// A session the upstream says it no longer has (404) is forgotten too.
func TestRelaySessionForgottenOn404(t *testing.T) {
	gone := false
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gone {
			http.Error(w, "session not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Mcp-Session-Id", "s-404")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	defer up.Close()
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: up.URL}})
	post(t, h.url+"/mcp/gosrv", secretDev, "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	if h.gw.relayed.len() != 1 {
		t.Fatalf("%d bindings", h.gw.relayed.len())
	}
	gone = true
	resp, _ := post(t, h.url+"/mcp/gosrv", secretDev, "application/json", `{"jsonrpc":"2.0","id":2,"method":"ping"}`, "Mcp-Session-Id", "s-404")
	if resp.StatusCode != 404 || h.gw.relayed.len() != 0 {
		t.Errorf("%d, %d bindings", resp.StatusCode, h.gw.relayed.len())
	}
}

// Finding 5: a key holds at most MaxSessionsPerKey sessions on /mcp; one more gets 429 with a
// JSON-RPC error, other keys are not affected, and a session that ends (DELETE, or idle expiry)
// frees its place.
func TestAggregateSessionCap(t *testing.T) {
	gs := goServer(t, false)
	h := newHarnessWith(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}}, Config{MaxSessionsPerKey: 3, SessionTimeout: time.Hour}, nil)
	var sessions []*mcp.ClientSession
	for i := 0; i < 3; i++ {
		sessions = append(sessions, connect(t, h.url+"/mcp", secretDev, nil))
	}
	initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	resp, body := post(t, h.url+"/mcp", secretDev, "application/json, text/event-stream", initialize)
	if resp.StatusCode != 429 || !strings.Contains(body, `"code":-32036`) || !strings.Contains(body, `key \"dev\" already has 3 open sessions`) {
		t.Errorf("fourth session: %d %s", resp.StatusCode, body)
	}
	if _, err := dial(h.url+"/mcp", map[string]string{"Authorization": "Bearer " + secretDev}, nil); err == nil {
		t.Error("the SDK client opened a fourth session")
	}
	// Another key has its own count.
	connect(t, h.url+"/mcp", secretLater, nil)
	// The sessions still work.
	if _, err := sessions[0].ListTools(context.Background(), nil); err != nil {
		t.Errorf("list on a held session: %v", err)
	}
	// Closing one (DELETE) frees its place.
	sessions[0].Close()
	waitFor(t, func() bool { return h.gw.agg.heldSessions("dev") == 2 }, "the closed session to be released")
	connect(t, h.url+"/mcp", secretDev, nil)

	// Idle sessions expire and are released.
	h2 := newHarnessWith(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}}, Config{MaxSessionsPerKey: 2, SessionTimeout: 200 * time.Millisecond}, nil)
	connect(t, h2.url+"/mcp", secretDev, nil)
	connect(t, h2.url+"/mcp", secretDev, nil)
	waitFor(t, func() bool { return h2.gw.agg.heldSessions("dev") == 0 }, "idle sessions to expire")
	connect(t, h2.url+"/mcp", secretDev, nil)

	// Concurrent openings never exceed the cap.
	h3 := newHarnessWith(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}}, Config{MaxSessionsPerKey: 4, SessionTimeout: time.Hour}, nil)
	var wg sync.WaitGroup
	var okN, refusedN int
	var cmu sync.Mutex
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, h3.url+"/mcp", strings.NewReader(initialize))
			req.Header.Set("Authorization", "Bearer "+secretDev)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			cmu.Lock()
			defer cmu.Unlock()
			switch resp.StatusCode {
			case 200:
				okN++
			case 429:
				refusedN++
			default:
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if okN != 4 || refusedN != 16 || h3.gw.agg.heldSessions("dev") != 4 {
		t.Errorf("20 concurrent openings, cap 4: %d opened, %d refused, %d held", okN, refusedN, h3.gw.agg.heldSessions("dev"))
	}
}

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
