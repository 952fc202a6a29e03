package mcpgw

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
)

// rawSession is an MCP session opened by hand (initialize, notifications/initialized), so a test
// can send bodies no SDK client would.
type rawSession struct {
	t        *testing.T
	endpoint string
	secret   string
	id       string
}

func openRawSession(t *testing.T, endpoint, secret string) *rawSession {
	t.Helper()
	s := &rawSession{t: t, endpoint: endpoint, secret: secret}
	status, body, h := s.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",` +
		`"capabilities":{},"clientInfo":{"name":"raw-e2e","version":"1"}}}`)
	if status != 200 || h.Get("Mcp-Session-Id") == "" {
		t.Fatalf("initialize: %d %s", status, body)
	}
	s.id = h.Get("Mcp-Session-Id")
	if status, body, _ := s.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); status != 202 {
		t.Fatalf("initialized: %d %s", status, body)
	}
	return s
}

// post sends a body in the session and returns the whole answer (an event stream is read to its
// end: the server closes a POST's stream once it has answered).
func (s *rawSession) post(body string) (int, string, http.Header) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.endpoint, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.secret)
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// Issue 8, finding 1, against the reference server: a tools/call naming a forbidden tool in
// "name" and an allowed one in "NAME" used to be decided on the allowed one and run upstream as
// the forbidden one (get-env answered with the server's environment). The gateway now refuses
// such a body (-32600), forwards nothing of it, and logs it as malformed under the key; the same
// for a disabled tool and a tool outside the key's list, for duplicate names and for a second
// JSON value after the first (finding 2).
func TestStrictEverything(t *testing.T) {
	const marker = "warden-e2e-environment-marker"
	t.Setenv("WARDEN_E2E_ENV_MARKER", marker) // server-everything inherits it: get-env would show it
	ev := startEverything(t)
	tp := newTap(t, ev.url)
	ups := map[string]live.Upstream{"everything": {URL: tp.srv.URL + "/mcp"}}
	h := newHarness(t, ups)
	// The test policy plus a disabled tool: get-sum is in key dev's list but disabled on the server.
	v := testView(t, 7, ups)
	for i := range v.Doc.Servers {
		if v.Doc.Servers[i].Name == "everything" {
			v.Doc.Servers[i].DisabledTools = []string{"get-sum"}
		}
	}
	v.Snapshot = resolver.Build(v.Doc)
	h.views.set(v, nil)

	// The marker is visible when get-env runs: straight to the upstream it shows.
	direct := openRawSession(t, ev.url, "")
	if _, body, _ := direct.post(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env","arguments":{}}}`); !strings.Contains(body, marker) {
		t.Fatalf("get-env straight to the upstream does not show the marker: %s", body)
	}

	s := openRawSession(t, h.url+"/mcp/everything", secretDev)
	// Allowed and denied calls sent plainly work as before.
	if status, body, _ := s.post(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"plain"}}}`); status != 200 || !strings.Contains(body, "Echo: plain") {
		t.Fatalf("echo: %d %s", status, body)
	}
	for tool, why := range map[string]string{"get-env": `denied by organization \"acme\"`, "get-sum": "disabled on server", "get-tiny-image": `denied by key \"dev\"`} {
		status, body, _ := s.post(fmt.Sprintf(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":%q,"arguments":{"a":1,"b":2}}}`, tool))
		if status != 200 || !strings.Contains(body, "-32030") || !strings.Contains(body, why) {
			t.Errorf("%s sent plainly: %d %s", tool, status, body)
		}
	}
	before := len(h.rec.all())

	cases := []struct{ name, body, want string }{
		{"denied by the organization", `{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"get-env","NAME":"echo","arguments":{}}}`,
			`params: name \"NAME\" differs from \"name\" only by case`},
		{"disabled", `{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"get-sum","NAME":"echo","arguments":{"a":1,"b":2}}}`,
			`differs from \"name\" only by case`},
		{"outside the key's list", `{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"get-tiny-image","NAME":"echo","arguments":{}}}`,
			`differs from \"name\" only by case`},
		{"Name first", `{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"Name":"echo","name":"get-env","arguments":{}}}`,
			`differs from \"name\" only by case`},
		{"duplicate name", `{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"echo","name":"get-env","arguments":{}}}`,
			`duplicate name \"name\"`},
		{"in a batch", `[{"jsonrpc":"2.0","id":17,"method":"ping"},{"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":"get-env","NAME":"echo"}}]`,
			`differs from \"name\" only by case`},
		{"second JSON value", `{"jsonrpc":"2.0","id":19,"method":"ping"} {"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"get-env","arguments":{}}}`,
			"data after the first JSON value at offset 42"},
	}
	for _, c := range cases {
		status, body, _ := s.post(c.body)
		var out struct {
			ID    any `json:"id"`
			Error struct {
				Code int            `json:"code"`
				Data map[string]any `json:"data"`
			} `json:"error"`
		}
		json.Unmarshal([]byte(body), &out)
		if status != 400 || out.Error.Code != -32600 || out.ID != nil || out.Error.Data["decided_by"] != "malformed" || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s\nwant 400, -32600, decided_by malformed, %s", c.name, status, body, c.want)
		}
		if strings.Contains(body, marker) || strings.Contains(body, "The sum of") || strings.Contains(body, `"type":"image"`) {
			t.Errorf("%s: a forbidden tool ran upstream: %s", c.name, body)
		}
	}
	// Nothing of those bodies reached the upstream.
	for _, r := range tp.requests() {
		for _, tool := range []string{"get-env", "get-sum", "get-tiny-image", "NAME"} {
			if strings.Contains(r.body, tool) {
				t.Errorf("reached the upstream: %s", r.body)
			}
		}
	}
	// Each is in the decision log, as malformed, under the key.
	recs := h.rec.all()[before:]
	if len(recs) != len(cases) {
		t.Fatalf("%d records after the crafted bodies, want %d: %+v", len(recs), len(cases), recs)
	}
	for _, r := range recs {
		if r.Kind != "call" || r.Key != "dev" || r.Server != "everything" || r.Allowed || r.DecidedBy != "malformed" || r.Tool != "" || r.Revision != 7 {
			t.Errorf("record %+v", r)
		}
	}

	// The session still works.
	if status, body, _ := s.post(`{"jsonrpc":"2.0","id":30,"method":"tools/call","params":{"n\u0061me":"echo","arguments":{"message":"after"}}}`); status != 200 || !strings.Contains(body, "Echo: after") {
		t.Errorf("echo after: %d %s", status, body)
	}
}
