package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers/mcpgw"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

const apiPolicy = `version: 1
servers:
  - {name: github, tools: [create_issue, list_issues, delete_repo]}
  - {name: jira, tools: [search]}
organizations:
  - {name: acme, mcp: {servers: [github, jira]}, deny_tools: [github/delete_repo]}
teams:
  - {name: platform, organization: acme, mcp: {servers: [github]}}
keys:
  - {name: ci-bot, team: platform}
  - {name: old, team: platform, expires_at: "2021-06-01T00:00:00Z"}
  - {name: frozen, organization: acme, blocked: true}
end_users:
  - {name: alice, deny_tools: [github/create_issue]}
agents:
  - {name: triage, mcp: {tools: {github: [list_issues]}}}
`

type apiRecorder struct {
	mu   sync.Mutex
	recs []live.DecisionRecord
}

func (r *apiRecorder) Record(d live.DecisionRecord) {
	r.mu.Lock()
	r.recs = append(r.recs, d)
	r.mu.Unlock()
}

type apiViews struct{ v *live.View }

func (a *apiViews) View() (*live.View, error) {
	if a.v == nil {
		return nil, errors.New("no view yet")
	}
	return a.v, nil
}

func newAPI(t *testing.T) (*httptest.Server, *apiViews, *apiRecorder, *live.Metrics) {
	t.Helper()
	doc, err := models.LoadDocument([]byte(apiPolicy))
	if err != nil {
		t.Fatal(err)
	}
	v := &live.View{Revision: 42, Snapshot: resolver.Build(doc), Doc: doc, KeysByHash: map[string]string{
		store.HashSecret("wdn_ci"): "ci-bot", store.HashSecret("wdn_old"): "old", store.HashSecret("wdn_frozen"): "frozen",
	}}
	views := &apiViews{v: v}
	rec := &apiRecorder{}
	m := live.NewMetrics(func() float64 { return 0 })
	api := &API{Enforcer: mcpgw.NewEnforcer(views, nil), Observer: mcpgw.Observer{Recorder: rec, Metrics: m}}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/api/v1/check", api.Check)
	r.GET("/api/v1/access", api.Access)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, views, rec, m
}

func TestAPICheck(t *testing.T) {
	srv, views, rec, _ := newAPI(t)
	cases := []struct {
		body      string
		status    int
		allowed   bool
		decidedBy string
		reason    string
	}{
		{`{"key":"wdn_ci","server":"github","tool":"create_issue"}`, 200, true, "", `tool github/create_issue is allowed for key "ci-bot"`},
		{`{"key":"wdn_ci","server":"github","tool":"delete_repo"}`, 200, false, "organization", `tool github/delete_repo is denied by organization "acme": its deny_tools names it`},
		{`{"key":"wdn_ci","server":"jira","tool":"search"}`, 200, false, "team", `tool jira/search is denied by team "platform"`},
		{`{"key":"wdn_ci","server":"github","tool":"create_issue","end_user":"alice"}`, 200, false, "end_user", `denied by end user "alice"`},
		{`{"key":"wdn_ci","server":"github","tool":"create_issue","agent":"triage"}`, 200, false, "agent", `denied by agent "triage"`},
		{`{"key":"wdn_ci","server":"github","tool":"list_issues","agent":"triage"}`, 200, true, "", "allowed"},
		{`{"key":"wdn_ci","server":"github","tool":"list_issues","agent":"ghost"}`, 200, false, "agent", `unknown agent "ghost"`},
		{`{"key":"wdn_ci","server":"gitlab","tool":"x"}`, 200, false, "server", `unknown server "gitlab"`},
		{`{"key":"wdn_nope","server":"github","tool":"list_issues"}`, 200, false, "key", "unknown or revoked Warden key"},
		{`{"key":"wdn_old","server":"github","tool":"list_issues"}`, 200, false, "key", `key "old" expired at 2021-06-01T00:00:00Z`},
		{`{"key":"wdn_frozen","server":"github","tool":"list_issues"}`, 200, false, "blocked", `key "frozen" is blocked`},
		{`{"key":"wdn_ci","server":"github"}`, 400, false, "", "key, server and tool are required"},
		{`{"key":"wdn_ci","server":"github","tool":"x","enduser":"alice"}`, 400, false, "", "unknown field"},
		{`not json`, 400, false, "", "body must be a JSON object"},
	}
	for _, c := range cases {
		resp, err := http.Post(srv.URL+"/api/v1/check", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.Header.Get(mcpgw.RevisionHeader) != "42" {
			t.Errorf("%s: revision header %q", c.body, resp.Header.Get(mcpgw.RevisionHeader))
		}
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d %v", c.body, resp.StatusCode, out)
			continue
		}
		if c.status != 200 {
			if msg, _ := out["error"].(string); !strings.Contains(msg, c.reason) {
				t.Errorf("%s: %v", c.body, out)
			}
			continue
		}
		if out["allowed"] != c.allowed || out["decided_by"] != c.decidedBy || !strings.Contains(out["reason"].(string), c.reason) ||
			out["revision"] != float64(42) {
			t.Errorf("%s: %v", c.body, out)
		}
	}
	rec.mu.Lock()
	n := len(rec.recs)
	last := rec.recs[n-1]
	rec.mu.Unlock()
	if n != 9 || last.Kind != "call" || last.Key != "frozen" || last.DecidedBy != "blocked" || last.Revision != 42 {
		t.Errorf("%d records, last %+v", n, last)
	}

	views.v = nil
	resp, err := http.Post(srv.URL+"/api/v1/check", "application/json", strings.NewReader(cases[0].body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get(mcpgw.RevisionHeader) != "0" {
		t.Errorf("no view: %d", resp.StatusCode)
	}
}

func TestAPIAccess(t *testing.T) {
	srv, _, _, _ := newAPI(t)
	get := func(secret, query string, hdr ...string) (int, map[string]any, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/access"+query, nil)
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, resp.Header
	}
	status, out, h := get("wdn_ci", "")
	b, _ := json.Marshal(out["access"])
	if status != 200 || string(b) != `{"github":["create_issue","list_issues"]}` || out["team"] != "platform" ||
		out["organization"] != "acme" || out["tools"] != float64(2) || h.Get(mcpgw.RevisionHeader) != "42" {
		t.Errorf("%d %v", status, out)
	}
	status, out, _ = get("wdn_ci", "?end_user=alice")
	b, _ = json.Marshal(out["access"])
	if status != 200 || string(b) != `{"github":["list_issues"]}` || out["end_user"] != "alice" {
		t.Errorf("end user: %d %v", status, out)
	}
	status, out, _ = get("", "", mcpgw.KeyHeader, "wdn_ci", mcpgw.AgentHeader, "triage")
	b, _ = json.Marshal(out["access"])
	if status != 200 || string(b) != `{"github":["list_issues"]}` || out["agent"] != "triage" {
		t.Errorf("agent: %d %v", status, out)
	}
	for secret, want := range map[string]string{"": "missing Warden key", "wdn_nope": "unknown or revoked", "wdn_old": "expired",
		"wdn_frozen": "blocked"} {
		status, out, h := get(secret, "")
		if status != 401 || !strings.Contains(out["error"].(string), want) || h.Get(mcpgw.RevisionHeader) != "42" {
			t.Errorf("%q: %d %v", secret, status, out)
		}
	}
	status, out, _ = get("wdn_ci", "?agent=ghost")
	if status != 403 || !strings.Contains(out["error"].(string), "ghost") {
		t.Errorf("ghost: %d %v", status, out)
	}
}

// BenchmarkAPICheck is one decision through the Gin handler, in process (no network).
func BenchmarkAPICheck(b *testing.B) {
	doc, _ := models.LoadDocument([]byte(apiPolicy))
	v := &live.View{Revision: 1, Snapshot: resolver.Build(doc), Doc: doc, KeysByHash: map[string]string{store.HashSecret("wdn_ci"): "ci-bot"}}
	api := &API{Enforcer: mcpgw.NewEnforcer(mcpgw.StaticViews{V: v}, time.Now)}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/api/v1/check", api.Check)
	body := `{"key":"wdn_ci","server":"github","tool":"delete_repo","end_user":"alice"}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/check", strings.NewReader(body))
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// The fast path of decodeCheck agrees with encoding/json on every input.
func FuzzDecodeCheck(f *testing.F) {
	for _, s := range []string{`{"key":"a","server":"b","tool":"c"}`, `{"key":"a","end_user":"\u00e9"}`, ` { "agent" : "x" } `,
		`{"KEY":"a"}`, `{"key":null}`, `{"key":"a","key":"b"}`, `{"key":"a"}x`, `{}`, `[]`, `{"key":1}`, `{"other":"x"}`, `{"key":"a",}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeCheck(b)
		var want CheckRequest
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		werr := dec.Decode(&want)
		if werr == nil && skipSpace(b, int(dec.InputOffset())) != len(b) {
			werr = errors.New("trailing data")
		}
		if (err == nil) != (werr == nil) || (err == nil && got != want) {
			t.Fatalf("%q: got %+v, %v; encoding/json %+v, %v", b, got, err, want, werr)
		}
	})
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", `tool a/b is denied by key "k": x`, `back\slash`, "tab\there", "é", "<&>", "\x00", "\u2028"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}
