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

	"github.com/warden-mcp/warden/handlers/internal/strictjson"
	"github.com/warden-mcp/warden/handlers/mcpgw"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
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
		models.HashSecret("wdn_ci"): "ci-bot", models.HashSecret("wdn_old"): "old", models.HashSecret("wdn_frozen"): "frozen",
	}}
	views := &apiViews{v: v}
	rec := &apiRecorder{}
	m := live.NewMetrics(func() float64 { return 0 })
	api := &API{Enforcer: enforce.NewEnforcer(views, nil), Observer: mcpgw.Observer{Recorder: rec, Metrics: m}}
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
		{`{"key":"wdn_ci","server":"github","tool":"x","enduser":"alice"}`, 400, false, "", `unknown name "enduser"`},
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
	recs := append([]live.DecisionRecord(nil), rec.recs...)
	rec.mu.Unlock()
	// Nine decisions (the unknown and expired secrets are counted, not logged) and the malformed
	// body with a valid secret.
	if len(recs) != 10 {
		t.Fatalf("%d records: %+v", len(recs), recs)
	}
	if r := recs[8]; r.Kind != "call" || r.Key != "frozen" || r.DecidedBy != "blocked" || r.Revision != 42 {
		t.Errorf("record %+v", r)
	}
	if r := recs[9]; r.Kind != "call" || r.Key != "ci-bot" || r.DecidedBy != "malformed" || r.Allowed || r.Tool != "" || r.Revision != 42 {
		t.Errorf("record %+v", r)
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
	v := &live.View{Revision: 1, Snapshot: resolver.Build(doc), Doc: doc, KeysByHash: map[string]string{models.HashSecret("wdn_ci"): "ci-bot"}}
	api := &API{Enforcer: enforce.NewEnforcer(enforce.StaticViews{V: v}, time.Now)}
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

// BenchmarkDecodeCheck is reading one check body.
func BenchmarkDecodeCheck(b *testing.B) {
	body := []byte(`{"key":"wdn_ci","server":"github","tool":"delete_repo","end_user":"alice"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeCheck(body); err != nil {
			b.Fatal(err)
		}
	}
}

// A check body Warden does not read the one strict way is refused with 400, logged as malformed
// when its secret is valid (counted otherwise), and never decided; a body over the limit is 413.
func TestAPICheckStrict(t *testing.T) {
	srv, _, rec, m := newAPI(t)
	post := func(body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/v1/check", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	deny := `{"key":"wdn_ci","server":"github","tool":"delete_repo"}`
	for _, c := range []struct{ body, want string }{
		{`{"key":"wdn_ci","server":"github","tool":"delete_repo","TOOL":"list_issues"}`, `name "TOOL" differs from "tool" only by case`},
		{`{"key":"wdn_ci","server":"github","Tool":"list_issues"}`, `name "Tool" differs from "tool" only by case`},
		{`{"key":"wdn_ci","ſerver":"jira","server":"github","tool":"list_issues"}`, `name "\u017ferver" differs from "server" only by case`},
		{`{"key":"wdn_ci","\u212aey":"wdn_other","server":"github","tool":"list_issues"}`, `name "\u212aey" differs from "key" only by case`},
		{`{"key":"wdn_ci","server":"github","tool":"list_issues","ENd_user":"alice"}`, `differs from "end_user" only by case`},
		{`{"key":"wdn_ci","server":"github","tool":"delete_repo","tool":"list_issues"}`, `duplicate name "tool"`},
		{`{"key":"wdn_ci","server":"github","tool":"delete_repo","t\u006fol":"list_issues"}`, `duplicate name "tool"`},
		{`{"key":"wdn_ci","server":"github","tool":"list_issues"} {"tool":"delete_repo"}`, "data after the first JSON value at offset 56"},
		{`{"key":"wdn_ci","server":"github","tool":"list_issues"}x`, "data after the first JSON value at offset 55"},
		{`{"key":"wdn_ci","server":"github","tool":"list_issues","agent":"` + "\xff" + `"}`, "invalid UTF-8 at offset 64"},
		{`{"key":"wdn_ci","server":"github","tool":"list_issues\udc00"}`, "invalid Unicode"},
		{`{"key":"wdn_ci","server":"github","tool":7}`, "tool: want a string, got a number"},
		{`{"key":"wdn_ci","server":"github","tool":{"name":"x"}}`, "tool: want a string, got an object"},
		{`{"key":"wdn_ci","server":"github","tool":"list_issues"`, "ends early"},
	} {
		before := len(recordsOf(rec))
		status, out := post(c.body)
		msg, _ := out["error"].(string)
		if status != 400 || !strings.Contains(msg, c.want) || out["decided_by"] != "malformed" || out["allowed"] != nil {
			t.Errorf("%s: %d %v; want 400 with %q", c.body, status, out, c.want)
			continue
		}
		t.Logf("%s: %s", c.body, msg)
		recs := recordsOf(rec)
		if len(recs) != before+1 {
			t.Errorf("%s: %d new records", c.body, len(recs)-before)
			continue
		}
		if r := recs[len(recs)-1]; r.Key != "ci-bot" || r.DecidedBy != "malformed" || r.Allowed || r.Server != "" || r.Tool != "" {
			t.Errorf("%s: record %+v", c.body, r)
		}
	}
	// Without a valid secret: counted, not logged.
	before := len(recordsOf(rec))
	counted := malformedCount(t, m)
	for _, body := range []string{`{"key":"wdn_nope","server":"github","tool":"x","TOOL":"y"}`, `["wdn_ci","github","list_issues"]`} {
		if status, out := post(body); status != 400 || out["decided_by"] != "malformed" {
			t.Errorf("%s: %d %v", body, status, out)
		}
	}
	if len(recordsOf(rec)) != before || malformedCount(t, m) != counted+2 {
		t.Error("a malformed body without a valid secret was logged, or not counted")
	}

	// 64 KiB is the limit: a padded body used to be cut there and decided; now it is 413.
	padded := deny + strings.Repeat(" ", 64<<10)
	if status, out := post(padded); status != 413 || !strings.Contains(out["error"].(string), "larger than 65536 bytes") {
		t.Errorf("padded: %d %v", status, out)
	}
	if status, _ := post(deny + strings.Repeat(" ", 64<<10-len(deny))); status != 200 {
		t.Errorf("exactly 64 KiB: %d", status)
	}
	if status, _ := post(`{"key":"` + strings.Repeat("x", 1<<20) + `"}`); status != 413 {
		t.Errorf("1 MiB: %d", status)
	}
}

// MaxBodyBytes sets the limit.
func TestAPICheckMaxBody(t *testing.T) {
	doc, _ := models.LoadDocument([]byte(apiPolicy))
	v := &live.View{Revision: 1, Snapshot: resolver.Build(doc), Doc: doc, KeysByHash: map[string]string{models.HashSecret("wdn_ci"): "ci-bot"}}
	api := &API{Enforcer: enforce.NewEnforcer(enforce.StaticViews{V: v}, time.Now), MaxBodyBytes: 100}
	r := gin.New()
	r.POST("/api/v1/check", api.Check)
	for body, want := range map[string]int{
		`{"key":"wdn_ci","server":"github","tool":"list_issues"}`:                           200,
		`{"key":"wdn_ci","server":"github","tool":"list_issues"}` + strings.Repeat(" ", 45): 200,
		`{"key":"wdn_ci","server":"github","tool":"list_issues"}` + strings.Repeat(" ", 46): 413,
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/check", strings.NewReader(body)))
		if w.Code != want {
			t.Errorf("%d bytes: %d %s, want %d", len(body), w.Code, w.Body, want)
		}
	}
}

// malformedCount is the decision counter of malformed requests.
func malformedCount(t *testing.T, m *live.Metrics) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "warden_decisions_total" {
			continue
		}
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "decided_by" && l.GetValue() == "malformed" {
					return mt.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func recordsOf(rec *apiRecorder) []live.DecisionRecord {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]live.DecisionRecord(nil), rec.recs...)
}

// decodeCheck reads a body the way every reader does or refuses it: for a body it accepts, a
// case-folding reader (encoding/json) and an exact-names reader where the last duplicate wins
// (like JavaScript's JSON.parse) read the same request; a body one of them cannot read, or reads
// differently from the other, is refused.
func FuzzDecodeCheck(f *testing.F) {
	for _, s := range []string{`{"key":"a","server":"b","tool":"c"}`, `{"key":"a","end_user":"\u00e9"}`, ` { "agent" : "x" } `,
		`{"KEY":"a"}`, `{"key":null}`, `{"key":"a","key":"b"}`, `{"key":"a"}x`, `{}`, `[]`, `{"key":1}`, `{"other":"x"}`, `{"key":"a",}`,
		`{"key":"a","tool":"b","TOOL":"c"}`, `{"ſerver":"a"}`, `{"\u212aey":"a"}`, `{"key":"a"} {"key":"b"}`, "{\"key\":\"\xff\"}",
		`{"k\u0065y":"a"}`, `{"key":"a","k\u0065y":"b"}`, `{"key":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeCheck(b)
		if err != nil {
			return
		}
		var folded CheckRequest
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&folded); err != nil {
			t.Fatalf("%q: accepted as %+v, encoding/json refuses it: %v", b, got, err)
		}
		if got != folded {
			t.Fatalf("%q: read as %+v, encoding/json reads %+v", b, got, folded)
		}
		exact := CheckRequest{}
		for name, dst := range map[string]*string{"key": &exact.Key, "server": &exact.Server, "tool": &exact.Tool,
			"end_user": &exact.EndUser, "agent": &exact.Agent} {
			*dst, _ = strictjson.LastString(b, name)
		}
		if got != exact {
			t.Fatalf("%q: read as %+v, an exact-names reader reads %+v", b, got, exact)
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
