package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// Tests of the access review pages through the real router on SQLite (the store's reads are
// tested on both databases in models/store).

// reviewPolicy: acme limits to the dev group and denies delete_repo; team web narrows to a
// toolset; key tl lists its own github tools; key bound's agent grants github. The tool named
// "=cmd" starts like a spreadsheet formula.
const reviewPolicy = `
version: 1
servers:
  - {name: github, tools: [create_issue, list_issues, delete_repo, "=cmd"]}
  - {name: jira, tools: [search, create_ticket]}
  - {name: docs, public: true, tools: [lookup], disabled_tools: []}
access_groups:
  - {name: dev, servers: [github, jira]}
toolsets:
  - {name: read-only, tools: [github/list_issues, jira/search]}
organizations:
  - {name: acme, mcp: {access_groups: [dev]}, deny_tools: [github/delete_repo]}
  - {name: globex}
teams:
  - {name: platform, organization: acme}
  - {name: web, organization: acme, mcp: {toolsets: [read-only]}}
  - {name: other, organization: globex}
keys:
  - {name: ci-bot, team: platform}
  - {name: tl, team: platform, mcp: {servers: [github], tools: {github: [create_issue]}, toolsets: [read-only]}}
  - {name: frontend, team: web}
  - {name: bound, team: platform, agent: helper}
  - {name: globex-key, team: other}
agents:
  - {name: helper, mcp: {servers: [github]}}
`

func reviewApp(t *testing.T, decisions ...models.Decision) *app {
	t.Helper()
	a := newApp(t, store.KindSQLite, reviewPolicy)
	// As the decision log's writer records them: raw rows and the hourly rollup.
	storetest.RecordDecisions(t, a.st, decisions...)
	return a
}

func call(at time.Time, key, server, tool string, allowed bool, by string) models.Decision {
	return models.Decision{At: at, Kind: models.DecisionCall, KeyName: key, Server: server, Tool: tool,
		Allowed: allowed, DecidedBy: by, Revision: 1}
}

// getAs fetches path with an Accept header, failing unless the status is want.
func (a *app) getAs(t *testing.T, path, accept string, want int) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Accept", accept)
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != want {
		t.Fatalf("GET %s (Accept %s): status %d, want %d: %s", path, accept, w.Code, want, w.Body)
	}
	return w
}

func readCSV(t *testing.T, w *httptest.ResponseRecorder) [][]string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestWhoCanCallPage(t *testing.T) {
	last := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	a := reviewApp(t,
		call(last.Add(-time.Hour), "ci-bot", "github", "list_issues", true, ""),
		call(last, "ci-bot", "github", "list_issues", true, ""),
		call(last.Add(time.Hour), "ci-bot", "github", "list_issues", false, "organization"), // refused: still a call (the rollup counts every tools/call)
		call(last.Add(-2*time.Hour), "frontend", "github", "list_issues", true, ""),
		call(last, "ci-bot", "jira", "search", true, ""),
	)
	const path = "/access/tools?server=github&tool=list_issues"
	_, d := a.get(t, path, false, 200)
	if got, want := text(d, "holders-headline"), "1 organization, 2 teams and 4 keys can call github/list_issues"; got != want {
		t.Errorf("headline %q, want %q", got, want)
	}
	if got := names(d, "holder-org"); !slices.Equal(got, []string{"acme"}) {
		t.Errorf("organizations %q", got)
	}
	if got := names(d, "holder-team"); !slices.Equal(got, []string{"platform", "web"}) {
		t.Errorf("teams %q", got)
	}
	if got := names(d, "holder-key"); !slices.Equal(got, []string{"bound", "ci-bot", "frontend", "tl"}) {
		// globex-key holds docs only.
		t.Errorf("keys %q", got)
	}
	pathOf := func(testid, name string) string {
		var steps []string
		row(d, testid, name).Find(`[data-testid="holder-path"] li`).Each(func(_ int, s *goquery.Selection) { steps = append(steps, squash(s.Text())) })
		return strings.Join(steps, " > ")
	}
	for _, tc := range []struct{ testid, name, want string }{
		{"holder-key", "tl", "organization acme: access group dev > key tl: toolset read-only"},
		{"holder-key", "bound", "organization acme: access group dev > agent helper: server github"},
		{"holder-team", "web", "organization acme: access group dev > team web: toolset read-only"},
	} {
		if got := pathOf(tc.testid, tc.name); got != tc.want {
			t.Errorf("%s %s path %q, want %q", tc.testid, tc.name, got, tc.want)
		}
	}
	lastOf := func(testid, name string) string {
		return squash(row(d, testid, name).Find(`[data-testid="last-call"]`).Parent().Text())
	}
	if got, want := lastOf("holder-key", "ci-bot"), "2026-11-30 10:15:00 3 calls"; got != want {
		t.Errorf("ci-bot last call %q, want %q", got, want)
	}
	if got := lastOf("holder-key", "tl"); got != "never" {
		t.Errorf("tl last call %q, want never", got)
	}
	// The team's last call is its keys' latest; the organization counts all of them.
	if got, want := lastOf("holder-team", "platform"), "2026-11-30 10:15:00 3 calls"; got != want {
		t.Errorf("platform last call %q, want %q", got, want)
	}
	if got, want := lastOf("holder-org", "acme"), "2026-11-30 10:15:00 4 calls"; got != want {
		t.Errorf("acme last call %q, want %q", got, want)
	}
	if href := row(d, "holder-key", "ci-bot").Find(`a[href^="/decisions"]`).AttrOr("href", ""); href != "/decisions?key=ci-bot&server=github&tool=list_issues" {
		t.Errorf("ci-bot calls link %q", href)
	}

	// The filter answers htmx with the key rows and the status line.
	w, f := a.get(t, path+"&q=bound", true, 200)
	if isFullPage(w) || !slices.Equal(names(f, "holder-key"), []string{"bound"}) || f.Find(`#holder-status[hx-swap-oob]`).Length() != 1 {
		t.Errorf("htmx filter answer: %s", w.Body)
	}

	j := a.getAs(t, path, "application/json", 200)
	var got struct {
		Server, Tool  string
		Organizations []struct{ Name string }
		Keys          []struct {
			Name     string
			Path     []struct{ Level, Name string }
			PathText string  `json:"path_text"`
			LastCall *string `json:"last_call"`
			Calls    int64
		}
	}
	if err := json.Unmarshal(j.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 4 || got.Keys[1].Name != "ci-bot" || got.Keys[1].LastCall == nil || *got.Keys[1].LastCall != "2026-11-30T10:15:00Z" ||
		got.Keys[1].Calls != 3 || got.Keys[3].LastCall != nil || len(got.Keys[3].Path) != 2 || got.Keys[3].Path[1].Name != "tl" {
		t.Errorf("JSON: %s", j.Body)
	}

	// CSV by Accept and by the .csv path: every holder, not a page.
	want := [][]string{
		{"server", "tool", "kind", "name", "organization", "team", "path", "last_call", "calls"},
		{"github", "list_issues", "organization", "acme", "", "", "organization acme: access group dev", "2026-11-30T10:15:00Z", "4"},
		{"github", "list_issues", "team", "platform", "acme", "", "organization acme: access group dev", "2026-11-30T10:15:00Z", "3"},
		{"github", "list_issues", "team", "web", "acme", "", "organization acme: access group dev > team web: toolset read-only", "2026-11-30T07:15:00Z", "1"},
		{"github", "list_issues", "key", "bound", "acme", "platform", "organization acme: access group dev > agent helper: server github", "", "0"},
		{"github", "list_issues", "key", "ci-bot", "acme", "platform", "organization acme: access group dev", "2026-11-30T10:15:00Z", "3"},
		{"github", "list_issues", "key", "frontend", "acme", "web", "organization acme: access group dev > team web: toolset read-only", "2026-11-30T07:15:00Z", "1"},
		{"github", "list_issues", "key", "tl", "acme", "platform", "organization acme: access group dev > key tl: toolset read-only", "", "0"},
	}
	for _, w := range []*httptest.ResponseRecorder{a.getAs(t, path, "text/csv", 200), a.getAs(t, "/access/tools.csv?server=github&tool=list_issues", "*/*", 200)} {
		if got := readCSV(t, w); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("CSV:\n%q\nwant\n%q", got, want)
		}
		if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename="who-can-call-github-list_issues.csv"` {
			t.Errorf("disposition %q", cd)
		}
	}
	// A tool named like a formula is written as text.
	rows := readCSV(t, a.getAs(t, "/access/tools.csv?server=github&tool=%3Dcmd", "*/*", 200))
	if rows[1][1] != "'=cmd" {
		t.Errorf("formula cell %q, want '=cmd", rows[1][1])
	}

	// The picker: a chosen server lists its tools as links.
	_, d = a.get(t, "/access/tools?server=jira", false, 200)
	var links []string
	d.Find(`[data-testid="server-tool-links"] a`).Each(func(_ int, s *goquery.Selection) { links = append(links, s.AttrOr("href", "")) })
	if !slices.Equal(links, []string{"/access/tools?server=jira&tool=create_ticket", "/access/tools?server=jira&tool=search"}) {
		t.Errorf("tool links %q", links)
	}
	for _, tc := range []struct{ path, msg string }{
		{"/access/tools?server=nope&tool=x", `server: unknown MCP server "nope"`},
		{"/access/tools?server=github&tool=nope", `tool: "nope" of server "github" is not in its catalogue`},
		{"/access/tools?tool=search", `server: missing`},
		{"/access/tools?server=jira&server=github&tool=search", `server: given 2 times`},
		{"/access/tools.csv?server=jira", `tool: missing`},
	} {
		if got := refusal(t, a, tc.path); !strings.Contains(got, tc.msg) {
			t.Errorf("%s: %q, want 422 with %q", tc.path, got, tc.msg)
		}
	}
}

func TestUnusedPage(t *testing.T) {
	now := time.Now().UTC()
	a := reviewApp(t,
		call(now.Add(-time.Hour), "ci-bot", "github", "create_issue", true, ""),
		call(now.Add(-time.Hour), "ci-bot", "github", "list_issues", true, ""),
		call(now.Add(-time.Hour), "ci-bot", "jira", "search", true, ""),
		call(now.Add(-time.Hour), "ci-bot", "github", "=cmd", false, "key"),            // refused: still a call
		call(now.Add(-40*24*time.Hour), "frontend", "github", "list_issues", true, ""), // outside 30 days
		call(now.Add(-2*time.Hour), "frontend", "jira", "search", true, ""),
	)
	_, d := a.get(t, "/access/unused", false, 200)
	if got, want := names(d, "unused-row"), []string{"bound", "tl", "ci-bot", "frontend", "globex-key"}; !slices.Equal(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
	cell := func(name, testid string) string {
		return squash(row(d, "unused-row", name).Find(`[data-testid="` + testid + `"]`).Text())
	}
	for _, tc := range []struct{ name, count, tools string }{
		{"bound", "3 of 3", "github/=cmd github/create_issue github/list_issues"},
		{"tl", "3 of 3", "github/create_issue github/list_issues jira/search"},
		{"ci-bot", "1 of 5", "jira/create_ticket"},
		{"frontend", "1 of 2", "github/list_issues"},
		{"globex-key", "1 of 1", "docs/lookup"},
	} {
		if got := cell(tc.name, "unused-count"); got != tc.count {
			t.Errorf("%s unused %q, want %q", tc.name, got, tc.count)
		}
		if got := cell(tc.name, "unused-tools"); got != tc.tools {
			t.Errorf("%s unused tools %q, want %q", tc.name, got, tc.tools)
		}
	}
	if href := row(d, "unused-row", "ci-bot").Find(`[data-testid="draft-link"]`).AttrOr("href", ""); href != "/keys/ci-bot/settings?remove=jira%2Fcreate_ticket" {
		t.Errorf("draft link %q", href)
	}

	_, d = a.get(t, "/access/unused?days=30&show=teams", false, 200)
	if got, want := names(d, "unused-row"), []string{"other", "platform", "web"}; !slices.Equal(got, want) {
		t.Errorf("team rows %q, want %q", got, want)
	}
	if href := row(d, "unused-row", "web").Find(`[data-testid="draft-link"]`).AttrOr("href", ""); href != "/teams/web/settings?remove=github%2Flist_issues" {
		t.Errorf("team draft link %q", href)
	}
	// A longer window sees frontend's older call.
	_, d = a.get(t, "/access/unused?days=90", false, 200)
	if slices.Contains(names(d, "unused-row"), "frontend") {
		t.Error("frontend still unused over 90 days")
	}

	rows := readCSV(t, a.getAs(t, "/access/unused.csv?days=30", "*/*", 200))
	want := [][]string{
		{"kind", "name", "organization", "team", "holds", "unused", "unused_tools"},
		{"key", "bound", "acme", "platform", "3", "3", "github/=cmd github/create_issue github/list_issues"},
		{"key", "tl", "acme", "platform", "3", "3", "github/create_issue github/list_issues jira/search"},
		{"key", "ci-bot", "acme", "platform", "5", "1", "jira/create_ticket"},
		{"key", "frontend", "acme", "web", "2", "1", "github/list_issues"},
		{"key", "globex-key", "globex", "other", "1", "1", "docs/lookup"},
		{"team", "other", "globex", "", "1", "1", "docs/lookup"},
		{"team", "platform", "acme", "", "5", "1", "jira/create_ticket"},
		{"team", "web", "acme", "", "2", "1", "github/list_issues"},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("CSV:\n%q\nwant\n%q", rows, want)
	}
	var j struct {
		Days int
		Keys []struct {
			Name   string
			Unused map[string][]string
		}
		Teams []struct{ Name string }
	}
	if err := json.Unmarshal(a.getAs(t, "/access/unused?days=7", "application/json", 200).Body.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j.Days != 7 || len(j.Keys) != 5 || len(j.Teams) != 3 || !slices.Equal(j.Keys[2].Unused["jira"], []string{"create_ticket"}) {
		t.Errorf("JSON %+v", j)
	}
	for _, p := range []string{"/access/unused?days=0", "/access/unused?days=x", "/access/unused?show=orgs", "/access/unused?days=3&days=4"} {
		if w := a.do(t, "GET", p, nil, false); w.Code != 422 {
			t.Errorf("%s: %d, want 422", p, w.Code)
		}
	}
}

func TestDecisionsPage(t *testing.T) {
	base := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	var ds []models.Decision
	for i := range 120 {
		key := []string{"ci-bot", "tl", "frontend"}[i%3]
		d := call(base.Add(time.Duration(i)*time.Minute), key, "github", "list_issues", true, "")
		if i%10 == 0 {
			d.Tool, d.Allowed, d.DecidedBy = "delete_repo", false, "organization"
		}
		ds = append(ds, d)
	}
	ds = append(ds, models.Decision{At: base.Add(200 * time.Minute), Kind: models.DecisionList, KeyName: "tl", Server: "jira", Allowed: true, Revision: 1})
	a := reviewApp(t, ds...)
	// Row i of ds has the i-th id the log gave, oldest first (ids are the log's own: segment
	// and index, increasing as rows are written).
	all, err := a.st.QueryDecisions(context.Background(), store.DecisionQuery{DecisionFilter: store.DecisionFilter{Limit: 1000}})
	if err != nil || len(all) != len(ds) {
		t.Fatalf("%d rows stored, %v", len(all), err)
	}
	slices.Reverse(all)
	id := func(row int) int { return int(all[row-1].ID) } // row counts from 1, as the expectations below
	ids1 := func(rows ...int) []int {
		out := make([]int, len(rows))
		for i, r := range rows {
			out[i] = id(r)
		}
		return out
	}

	ids := func(d *goquery.Document) []int {
		var out []int
		d.Find(`[data-testid="decision-row"]`).Each(func(_ int, s *goquery.Selection) {
			var n int
			fmt.Sscan(s.AttrOr("data-id", ""), &n)
			out = append(out, n)
		})
		return out
	}
	_, d := a.get(t, "/decisions", false, 200)
	first := ids(d)
	if len(first) != 50 || first[0] != id(121) || first[49] != id(72) {
		t.Fatalf("first page ids %v", first)
	}
	older := d.Find(`[data-testid="older-page"]`).AttrOr("href", "")
	if older != "/decisions?before="+strconv.Itoa(id(72)) || d.Find(`[data-testid="newer-page"]`).Length() != 0 {
		t.Fatalf("older %q, newer shown %d", older, d.Find(`[data-testid="newer-page"]`).Length())
	}
	// The next page over htmx: rows and the status line with both directions.
	w, f := a.get(t, older, true, 200)
	if isFullPage(w) {
		t.Fatal("htmx page is a full page")
	}
	if got := ids(f); len(got) != 50 || got[0] != id(71) || got[49] != id(22) {
		t.Fatalf("second page ids %v", got)
	}
	newer := f.Find(`[data-testid="newer-page"]`).AttrOr("href", "")
	if newer != "/decisions?after="+strconv.Itoa(id(71)) {
		t.Fatalf("newer %q", newer)
	}
	_, d = a.get(t, newer, false, 200)
	if got := ids(d); !slices.Equal(got, first) || d.Find(`[data-testid="newer-page"]`).Length() != 0 {
		t.Errorf("back to newer: ids %v", got)
	}
	// Last page: 21 rows, no older.
	_, d = a.get(t, "/decisions?before="+strconv.Itoa(id(22)), false, 200)
	if got := ids(d); len(got) != 21 || d.Find(`[data-testid="older-page"]`).Length() != 0 {
		t.Errorf("last page ids %v", got)
	}

	_, d = a.get(t, "/decisions?decided_by=organization&key=ci-bot", false, 200)
	// Denials are rows i%10 == 0 (ids i+1); of them ci-bot's are i%3 == 0: i = 0, 30, 60, 90.
	if got := ids(d); !slices.Equal(got, ids1(91, 61, 31, 1)) {
		t.Errorf("ci-bot denials %v", got)
	}
	if got := text(d, "decision-outcome"); got != "denied by organization" {
		t.Errorf("outcome %q", got)
	}
	_, d = a.get(t, "/decisions?outcome=allowed&kind=list", false, 200)
	if got := ids(d); !slices.Equal(got, ids1(121)) {
		t.Errorf("lists %v", got)
	}
	// since/until as a datetime-local input sends them (UTC): minutes 100..109 → ids 101..110.
	_, d = a.get(t, "/decisions?since=2026-11-30T09:40&until=2026-11-30T09:50&tool=list_issues", false, 200)
	if got := ids(d); !slices.Equal(got, ids1(110, 109, 108, 107, 106, 105, 104, 103, 102)) {
		t.Errorf("window %v", got)
	}
	var j struct {
		Decisions []struct {
			ID   int
			Key  string
			Tool string
		}
		NextBefore *int `json:"next_before"`
	}
	if err := json.Unmarshal(a.getAs(t, "/decisions?key=tl&tool=list_issues", "application/json", 200).Body.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Decisions) != 36 || j.NextBefore != nil || j.Decisions[0].ID != id(119) || j.Decisions[0].Key != "tl" {
		t.Errorf("JSON %+v", j)
	}
	// CSV: every matching row (not a page), newest first, the filter applied.
	rowsCSV := readCSV(t, a.getAs(t, "/decisions.csv?key=ci-bot&decided_by=organization", "*/*", 200))
	if len(rowsCSV) != 5 || rowsCSV[0][0] != "id" || rowsCSV[1][0] != strconv.Itoa(id(91)) || rowsCSV[4][0] != strconv.Itoa(id(1)) ||
		rowsCSV[1][3] != "ci-bot" || rowsCSV[1][8] != "denied" || rowsCSV[1][9] != "organization" {
		t.Errorf("decisions CSV %q", rowsCSV)
	}
	if all := readCSV(t, a.getAs(t, "/decisions", "text/csv", 200)); len(all) != len(ds)+1 {
		t.Errorf("the whole log as CSV: %d rows, want %d", len(all)-1, len(ds))
	}
	for _, tc := range []struct{ path, msg string }{
		{"/decisions?outcome=maybe", `outcome: "maybe" is neither allowed nor denied`},
		{"/decisions?decided_by=ceo", `decided_by: "ceo" is not something that decides`},
		{"/decisions?since=yesterday", `since: "yesterday" is not a time`},
		{"/decisions?since=2026-11-30&until=2026-11-29", `until: 2026-11-29 is not after since 2026-11-30`},
		{"/decisions?before=-1", `before: "-1" is not a positive row id`},
		{"/decisions?before=5&after=3", `after: cannot page both`},
		{"/decisions?key=a&key=b", `key: given 2 times`},
	} {
		if got := refusal(t, a, tc.path); !strings.Contains(got, tc.msg) {
			t.Errorf("%s: %q, want 422 with %q", tc.path, got, tc.msg)
		}
	}
	// The htmx filter's error lands in the page's error region.
	if w := a.do(t, "GET", "/decisions?outcome=maybe", nil, true); w.Code != 422 || w.Header().Get("HX-Retarget") == "" {
		t.Errorf("htmx error: %d %v", w.Code, w.Header())
	}

	_, d = a.get(t, "/keys/tl", false, 200)
	if href := d.Find(`[data-testid="key-recent-calls"]`).AttrOr("href", ""); href != "/decisions?key=tl" {
		t.Errorf("key page recent calls link %q", href)
	}
}

// refusal fetches a page that must be refused with 422 and returns the error page's message.
func refusal(t *testing.T, a *app, path string) string {
	t.Helper()
	w := a.do(t, "GET", path, nil, false)
	if w.Code != 422 {
		t.Fatalf("GET %s: status %d, want 422: %s", path, w.Code, w.Body)
	}
	return text(parse(t, w), "error-message")
}

// Who can call pages its keys (a tool may have 100,000 holders); CSV and JSON give them all.
func TestWhoCanCallPaged(t *testing.T) {
	a := newApp(t, store.KindSQLite, manyKeys(250))
	const path = "/access/tools?server=github&tool=list_issues"
	_, d := a.get(t, path, false, 200)
	got := names(d, "holder-key")
	if len(got) != 100 || got[0] != "key-000" || got[99] != "key-099" {
		t.Fatalf("page 1: %d keys, %v…", len(got), got[:min(len(got), 3)])
	}
	if href := d.Find(`[data-testid="next-page"]`).AttrOr("href", ""); href != "/access/tools?page=2&server=github&tool=list_issues" {
		t.Errorf("next page link %q", href)
	}
	if got := text(d, "holder-status"); !strings.HasPrefix(got, "Keys 1–100 of 250 ") {
		t.Errorf("status %q", got)
	}
	_, d = a.get(t, path+"&page=3", true, 200)
	if got := names(d, "holder-key"); len(got) != 50 || got[0] != "key-200" || d.Find(`[data-testid="next-page"]`).Length() != 0 {
		t.Errorf("page 3: %d keys from %v", len(got), got[:min(len(got), 1)])
	}
	if rows := readCSV(t, a.getAs(t, path, "text/csv", 200)); len(rows) != 1+1+1+250 {
		t.Errorf("CSV rows %d, want header, acme, platform and 250 keys", len(rows))
	}
}
