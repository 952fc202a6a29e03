package mcpgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
)

// post sends a raw JSON-RPC body to the gateway.
func post(t *testing.T, url, secret, accept, body string, extra ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// closedURL is an address nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/mcp"
}

func TestRefusals(t *testing.T) {
	gs := goServer(t, true)
	h := newHarness(t, map[string]live.Upstream{
		"gosrv":  {URL: gs.URL},
		"closed": {URL: gs.URL},
	})
	call := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`
	cases := []struct {
		name, path, secret string
		status             int
		want               string
	}{
		{"no key", "/mcp/gosrv", "", 401, "missing Warden key"},
		{"unknown key", "/mcp/gosrv", "wdn_nope", 401, "unknown or revoked Warden key"},
		{"expired key", "/mcp/gosrv", secretStale, 401, `key \"stale\" expired at 2020-01-01T00:00:00Z`},
		{"blocked key", "/mcp/gosrv", secretFrozen, 401, `key \"frozen\" is refused: key \"frozen\" is blocked`},
		{"no access at all", "/mcp/gosrv", secretNothing, 403, `tool gosrv/add is denied by key \"nothing\": its mcp selection does not grant it`},
		{"no access to the server", "/mcp/closed", secretDev, 403, `tool closed/nothing is denied by organization \"acme\"`},
		{"unknown server", "/mcp/nowhere", secretDev, 404, `unknown server \"nowhere\"`},
		{"aggregate, no key", "/mcp", "", 401, "missing Warden key"},
		{"aggregate, no access", "/mcp", secretNothing, 403, `key \"nothing\" may use no tool of any server`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := post(t, h.url+c.path, c.secret, "application/json, text/event-stream", call)
			if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%d %s\nwant %d containing %s", resp.StatusCode, body, c.status, c.want)
			}
			if resp.Header.Get(RevisionHeader) != "7" {
				t.Errorf("revision header %q", resp.Header.Get(RevisionHeader))
			}
			// The body is a JSON-RPC error, so SDK clients show it; its id is null: the request is
			// refused before a byte of its body is read.
			var m struct {
				ID    *int `json:"id"`
				Error struct {
					Message string         `json:"message"`
					Data    map[string]any `json:"data"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &m); err != nil || m.ID != nil || m.Error.Data["reason"] == nil {
				t.Errorf("body %s: %v", body, err)
			}
			if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}

	// The key in X-Warden-Key works as well as the bearer token.
	resp, body := post(t, h.url+"/mcp/gosrv", "", "application/json", call, KeyHeader, secretNothing)
	if resp.StatusCode != 403 {
		t.Errorf("X-Warden-Key: %d %s", resp.StatusCode, body)
	}
	// An unknown agent named by the request.
	resp, body = post(t, h.url+"/mcp/gosrv", secretDev, "application/json", call, AgentHeader, "ghost")
	if resp.StatusCode != 403 || !strings.Contains(body, `unknown agent \"ghost\"`) {
		t.Errorf("unknown agent: %d %s", resp.StatusCode, body)
	}
	// Not JSON-RPC.
	resp, body = post(t, h.url+"/mcp/gosrv", secretDev, "application/json", `{"hello":`)
	if resp.StatusCode != 400 || !strings.Contains(body, "-32700") {
		t.Errorf("garbage: %d %s", resp.StatusCode, body)
	}
	// Other methods.
	req, _ := http.NewRequest(http.MethodPut, h.url+"/mcp/gosrv", nil)
	req.Header.Set("Authorization", "Bearer "+secretDev)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 405 || r2.Header.Get("Allow") == "" || r2.Header.Get(RevisionHeader) != "7" {
		t.Errorf("PUT: %d", r2.StatusCode)
	}

	// No policy to enforce: fail closed.
	h.views.set(nil, errors.New("policy is stale"))
	resp, body = post(t, h.url+"/mcp/gosrv", secretDev, "application/json", call)
	if resp.StatusCode != 503 || !strings.Contains(body, "policy is stale") || resp.Header.Get(RevisionHeader) != "0" {
		t.Errorf("no view: %d %s %q", resp.StatusCode, body, resp.Header.Get(RevisionHeader))
	}
}

// The in-process Go SDK server behind the gateway, answering JSON and then SSE.
func TestGoServerRelay(t *testing.T) {
	for _, jsonResponse := range []bool{true, false} {
		t.Run(fmt.Sprintf("json=%v", jsonResponse), func(t *testing.T) {
			gs := goServer(t, jsonResponse)
			h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}})
			cs := connect(t, h.url+"/mcp/gosrv", secretDev, nil)
			ctx := context.Background()
			names := toolNames(t, ctx, cs)
			if !slices.Equal(names, []string{"add", "shout"}) {
				t.Errorf("tools = %v", names)
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 2, "b": 3}})
			if err != nil || text(res) != "5" {
				t.Errorf("add: %v %v", err, res)
			}
			_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "secret"})
			var werr *jsonrpc.Error
			if !errors.As(err, &werr) || werr.Code != CodeDenied || !strings.HasPrefix(werr.Message, `tool gosrv/secret is denied by organization "acme"`) {
				t.Errorf("secret: %v", err)
			}
			_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "uncatalogued"})
			if err == nil || !strings.Contains(err.Error(), `server "gosrv" has no tool "uncatalogued"`) {
				t.Errorf("uncatalogued: %v", err)
			}
			if n := testutilCount(t, h.metrics, "warden_decisions_total"); n != 3 {
				t.Errorf("decisions counted: %v", n)
			}
			if n := testutilCount(t, h.metrics, "warden_gateway_request_duration_seconds"); n < 4 {
				t.Errorf("latencies observed: %v", n)
			}
		})
	}
}

// fakeUpstream answers any JSON-RPC body (batches too) as JSON, or as an event stream when
// ?sse is set; it keeps the bodies it got.
type fakeUpstream struct {
	srv    *httptest.Server
	bodies chan string
	header chan http.Header
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	f := &fakeUpstream{bodies: make(chan string, 100), header: make(chan http.Header, 100)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.bodies <- string(b)
		f.header <- r.Header.Clone()
		w.Header().Set("Set-Cookie", "upstream=1")
		w.Header().Set("Mcp-Session-Id", "sess-1")
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		in, err := parseBody(b)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var outs [][]byte
		for _, m := range in.msgs {
			if m.req == nil || !m.req.IsCall() {
				continue
			}
			var result any
			switch m.req.Method {
			case "tools/list":
				result = map[string]any{"tools": []any{map[string]any{"name": "add", "x-extra": 1}, map[string]any{"name": "secret"},
					map[string]any{"name": "zzz"}}, "nextCursor": "c2"}
			case "tools/call":
				result = map[string]any{"content": []any{map[string]any{"type": "text", "text": "called " + strings.Join(jsCalls(m.raw), ",")}}}
			default:
				result = map[string]any{}
			}
			rb, _ := json.Marshal(result)
			bb, _ := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: m.req.ID, Result: rb})
			outs = append(outs, bb)
		}
		if len(outs) == 0 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if r.URL.Query().Has("sse") {
			w.Header().Set("Content-Type", "text/event-stream")
			for i, o := range outs {
				fmt.Fprintf(w, "id: e%d\nevent: message\ndata: %s\n\n", i, o)
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(joinMessages(outs, in.batch))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func TestBatchesAndContentTypes(t *testing.T) {
	for _, sse := range []bool{false, true} {
		t.Run(fmt.Sprintf("sse=%v", sse), func(t *testing.T) {
			f := newFakeUpstream(t)
			u := f.srv.URL + "/mcp"
			if sse {
				u += "?sse=1"
			}
			h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: u, Headers: map[string]string{"Authorization": "Bearer upstream-token"}}})
			batch := `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret"}},` +
				`{"jsonrpc":"2.0","id":"two","method":"tools/call","params":{"name":"add","arguments":{}}},` +
				`{"jsonrpc":"2.0","id":3,"method":"tools/list"},` +
				`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}]`
			// The upstream issues the session (its answer carries Mcp-Session-Id: sess-1), so the
			// gateway binds it to the key and relays requests carrying it.
			if resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream", `{"jsonrpc":"2.0","id":0,"method":"ping"}`); resp.StatusCode != 200 {
				t.Fatalf("opening the session: %d %s", resp.StatusCode, body)
			}
			<-f.bodies
			<-f.header
			resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream", batch,
				"Cookie", "console=1", "X-Warden-End-User", "someone", "Mcp-Session-Id", "sess-1", "Connection", "X-Hop", "X-Hop", "1")
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			// What the upstream got: the batch without the denied call; the upstream's credential,
			// not the client's key, cookie, Warden headers or hop-by-hop headers.
			fwd := <-f.bodies
			if strings.Contains(fwd, "secret") || !strings.Contains(fwd, `"add"`) || !strings.HasPrefix(fwd, "[") {
				t.Errorf("forwarded %s", fwd)
			}
			hdr := <-f.header
			if hdr.Get("Authorization") != "Bearer upstream-token" || hdr.Get("Cookie") != "" || hdr.Get("X-Warden-End-User") != "" ||
				hdr.Get("X-Hop") != "" || hdr.Get("Mcp-Session-Id") != "sess-1" {
				t.Errorf("upstream headers %v", hdr)
			}
			if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Mcp-Session-Id") != "sess-1" || resp.Header.Get(RevisionHeader) != "7" {
				t.Errorf("response headers %v", resp.Header)
			}
			var msgs []string
			if sse {
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
					t.Errorf("content type %q", resp.Header.Get("Content-Type"))
				}
				for _, l := range strings.Split(body, "\n") {
					if d, ok := strings.CutPrefix(l, "data: "); ok {
						msgs = append(msgs, d)
					}
				}
				if !strings.Contains(body, "id: e0\n") {
					t.Errorf("event ids not relayed: %s", body)
				}
			} else {
				var raws []json.RawMessage
				if err := json.Unmarshal([]byte(body), &raws); err != nil {
					t.Fatalf("%s: %v", body, err)
				}
				for _, r := range raws {
					msgs = append(msgs, string(r))
				}
			}
			joined := strings.Join(msgs, "\n")
			if len(msgs) != 3 || !strings.Contains(joined, `"id":1,"error":{"code":-32030,"message":"tool gosrv/secret is denied by organization \"acme\"`) ||
				!strings.Contains(joined, `"called add"`) || !strings.Contains(joined, `{"nextCursor":"c2","tools":[{"name":"add","x-extra":1}]}`) {
				t.Errorf("answers:\n%s", joined)
			}
		})
	}
}

func TestLocalAnswers(t *testing.T) {
	f := newFakeUpstream(t)
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: f.srv.URL}})
	call := `{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"secret"}}`
	// A client that takes JSON gets JSON.
	resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream", call)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(body, `"decided_by":"organization"`) || !strings.Contains(body, `"id":"x"`) {
		t.Errorf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// A client that takes only an event stream gets one.
	resp, body = post(t, h.url+"/mcp/gosrv", secretDev, "text/event-stream", call)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || !strings.HasPrefix(body, "event: message\ndata: {") {
		t.Errorf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	select {
	case b := <-f.bodies:
		t.Errorf("a denied call reached the upstream: %s", b)
	default:
	}
	// An end user whose own policy is unknown to Warden changes nothing; the records name it.
	post(t, h.url+"/mcp/gosrv", secretDev, "application/json", call, EndUserHeader, "alice@example.com")
	recs := h.rec.all()
	if r := recs[len(recs)-1]; r.EndUser != "alice@example.com" || r.Allowed || r.DecidedBy != "organization" || r.Tool != "secret" {
		t.Errorf("record %+v", r)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: closedURL(t), Headers: map[string]string{"Authorization": "Bearer upstream-token"}}})
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}`
	resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream", call)
	if resp.StatusCode != 200 || !strings.Contains(body, `"code":-32031`) || !strings.Contains(body, `upstream server \"gosrv\" is unreachable`) {
		t.Errorf("call: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "upstream-token") {
		t.Errorf("the answer shows the upstream's address or credential: %s", body)
	}
	resp, body = post(t, h.url+"/mcp/gosrv", secretDev, "application/json", `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if resp.StatusCode != 502 || !strings.Contains(body, "unreachable") {
		t.Errorf("notification: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodGet, h.url+"/mcp/gosrv", nil)
	req.Header.Set("Authorization", "Bearer "+secretDev)
	req.Header.Set("Accept", "text/event-stream")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 502 || !strings.Contains(string(b), "unreachable") || r2.Header.Get(RevisionHeader) != "7" {
		t.Errorf("GET: %d %s", r2.StatusCode, b)
	}
	if n := testutilCount(t, h.metrics, "warden_upstream_errors_total"); n != 3 {
		t.Errorf("upstream errors: %v", n)
	}
}

// The aggregate endpoint: tools of every allowed server as <server>__<tool>, calls routed,
// denials and unreachable upstreams reported; a session belongs to its key.
func TestAggregate(t *testing.T) {
	gs := goServer(t, false)
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}, "dead": {URL: closedURL(t)}})
	cs := connect(t, h.url+"/mcp", secretDev, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	names := toolNames(t, ctx, cs)
	if !slices.Equal(names, []string{"gosrv__add", "gosrv__shout"}) {
		t.Errorf("tools = %v", names)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "gosrv__shout", Arguments: map[string]any{"s": "hey"}})
	if err != nil || text(res) != "HEY" {
		t.Errorf("shout: %v %v", err, res)
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "gosrv__secret"})
	if err == nil || !strings.Contains(err.Error(), `tool gosrv/secret is denied by organization "acme"`) {
		t.Errorf("secret: %v", err)
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "dead__ping"})
	if err == nil || !strings.Contains(err.Error(), `upstream server "dead" is unreachable`) {
		t.Errorf("dead: %v", err)
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "nowhere__x"})
	if err == nil || !strings.Contains(err.Error(), `unknown server "nowhere"`) {
		t.Errorf("nowhere: %v", err)
	}

	// Another key cannot ride this session.
	resp, body := post(t, h.url+"/mcp", secretLater, "application/json, text/event-stream",
		`{"jsonrpc":"2.0","id":5,"method":"tools/list"}`, "Mcp-Session-Id", cs.ID(), "Mcp-Protocol-Version", "2025-11-25")
	if resp.StatusCode != 403 || !strings.Contains(body, "another key") {
		t.Errorf("other key: %d %s", resp.StatusCode, body)
	}
	var calls, lists int
	for _, r := range h.rec.all() {
		if r.Kind == "call" {
			calls++
		} else {
			lists++
		}
	}
	if calls != 4 || lists != 1 {
		t.Errorf("records: %d calls %d lists", calls, lists)
	}
}

func TestSplit(t *testing.T) {
	pol := enforce.NewPolicy(testView(t, 1, map[string]live.Upstream{"gosrv": {URL: "x"}, "go": {URL: "y"}}))
	for in, want := range map[string][2]string{
		"gosrv__add":    {"gosrv", "add"},
		"go__srv__add":  {"go", "srv__add"},
		"gosrv__a__b":   {"gosrv", "a__b"},
		"nothing":       {"", "nothing"},
		"unknown__tool": {"unknown", "tool"},
	} {
		if s, tl := split(pol, in); s != want[0] || tl != want[1] {
			t.Errorf("split(%q) = %q, %q", in, s, tl)
		}
	}
}

// A denied tools/call sent as a notification is dropped: 202 and nothing upstream.
func TestDeniedNotification(t *testing.T) {
	f := newFakeUpstream(t)
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: f.srv.URL}})
	resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream",
		`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"secret"}}`)
	if resp.StatusCode != 202 || body != "" {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
	select {
	case b := <-f.bodies:
		t.Errorf("reached the upstream: %s", b)
	default:
	}
}

// An upstream answer the gateway cannot read as JSON-RPC but that may carry a tool list is never
// relayed unfiltered.
func TestUnreadableToolList(t *testing.T) {
	for _, sse := range []bool{false, true} {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			msg := `{"id":1,"result":{"tools":[{"name":"secret"}]}}` // no "jsonrpc": "2.0"
			if sse {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprintf(w, "data: %s\n\n", msg)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(msg))
		}))
		defer up.Close()
		h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: up.URL}})
		resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		if strings.Contains(body, "secret") || !strings.Contains(body, "-32031") {
			t.Errorf("sse=%v: %d %s", sse, resp.StatusCode, body)
		}
	}
}

// A resumed stream (GET with Last-Event-ID) may replay a tools/list answer of an earlier POST: it
// is filtered too; everything else on the stream passes as it was sent.
func TestResumedStreamFiltered(t *testing.T) {
	var lastEventID string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastEventID = r.Header.Get("Last-Event-ID")
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": keepalive\n\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"x\"}}\n\n")
		fmt.Fprint(w, "id: 8\nretry: 1000\ndata: {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":[{\"name\":\"add\"},{\"name\":\"secret\"}]}}\n\n")
	}))
	defer up.Close()
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: up.URL}})
	req, _ := http.NewRequest(http.MethodGet, h.url+"/mcp/gosrv", nil)
	req.Header.Set("Authorization", "Bearer "+secretDev)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", "6")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := ": keepalive\n\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"x\"}}\n\n" +
		"id: 8\nretry: 1000\ndata: {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":[{\"name\":\"add\"}]}}\n\n"
	if string(b) != want || lastEventID != "6" {
		t.Errorf("stream:\n%s\nwant:\n%s\nLast-Event-ID %q", b, want, lastEventID)
	}
}

// The end user and agent a request names narrow the list and the calls.
func TestEndUserAndAgent(t *testing.T) {
	gs := goServer(t, true)
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}})
	for _, c := range []struct {
		header, value string
		denied        string
	}{{EndUserHeader, "eve", `denied by end user "eve"`}, {AgentHeader, "shouter", `denied by agent "shouter"`}} {
		cs, err := dial(h.url+"/mcp/gosrv", map[string]string{"Authorization": "Bearer " + secretDev, c.header: c.value}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		lt, err := cs.ListTools(context.Background(), nil)
		if err != nil || len(lt.Tools) != 1 || lt.Tools[0].Name != "shout" {
			t.Errorf("%s: tools %v %v", c.value, err, lt)
		}
		_, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 1, "b": 1}})
		if err == nil || !strings.Contains(err.Error(), c.denied) {
			t.Errorf("%s: add: %v", c.value, err)
		}
	}
	recs := h.rec.all()
	if r := recs[len(recs)-1]; r.Agent != "shouter" || r.DecidedBy != "agent" {
		t.Errorf("record %+v", r)
	}
}

// A tools/list result for a principal the resolver cannot give an access (an unknown agent) keeps
// no tool: the filter fails closed rather than relaying the upstream's list as it came.
func TestRewriteFailsClosedWithoutAccess(t *testing.T) {
	pol := enforce.NewPolicy(testView(t, 1, map[string]live.Upstream{"gosrv": {URL: "http://x"}}))
	x := &exchange{g: New(Config{Views: enforce.StaticViews{V: pol.View}}), server: "gosrv", pol: pol,
		pr: enforce.Principal{Key: "dev", Agent: "no-such-agent"}}
	if _, err := pol.Access(x.pr); err == nil {
		t.Fatal("the test needs a principal without an access")
	}
	b, err := readUpstreamBody([]byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"add"},{"name":"secret"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	out, ok := x.rewrite(b.msgs[0])
	if !ok {
		t.Fatal("the list was relayed as it came")
	}
	if strings.Contains(string(out), `"add"`) || strings.Contains(string(out), `"secret"`) {
		t.Errorf("a tool was kept: %s", out)
	}
}

// A server whose stored credentials cannot be read (live.Upstream.Unavailable) is refused with
// 503 naming it, and nothing reaches it: not relayed without its credentials. The reason stays
// in the log. Other servers answer as before; the aggregate leaves the server's tools out.
func TestUnavailableUpstreamFailsClosed(t *testing.T) {
	gs := goServer(t, false)
	tp := newTap(t, gs.URL)
	h := newHarness(t, map[string]live.Upstream{
		"gosrv":      {URL: gs.URL},
		"everything": {URL: tp.srv.URL, Unavailable: `server "everything": upstream headers: sealed under another WARDEN_SECRET_KEY (key id 1; this process's key id is 2)`},
	})
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`
	resp, body := post(t, h.url+"/mcp/everything", secretDev, "application/json, text/event-stream", call)
	if resp.StatusCode != 503 || !strings.Contains(body, `server \"everything\" is unavailable`) || strings.Contains(body, "key id") {
		t.Errorf("call: %d %s", resp.StatusCode, body)
	}
	if n := len(tp.requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
	cs := connect(t, h.url+"/mcp", secretDev, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if names := toolNames(t, ctx, cs); !slices.Equal(names, []string{"gosrv__add", "gosrv__shout"}) {
		t.Errorf("aggregate tools %v", names)
	}
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "everything__echo"})
	if err == nil || !strings.Contains(err.Error(), `server "everything" is unavailable`) {
		t.Errorf("aggregate call: %v", err)
	}
	if n := len(tp.requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}
