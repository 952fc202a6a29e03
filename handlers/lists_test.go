package handlers_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// Tests of the read-only pages: teams, keys (list and explain page), servers, toolsets, access
// groups and the audit log, through the real router on SQLite.

func newDemoApp(t *testing.T) *app {
	t.Helper()
	return newApp(t, store.KindSQLite, string(demo.YAML))
}

func (a *app) view(t *testing.T) *live.View {
	t.Helper()
	v, err := a.state.View()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// get fetches a page and fails unless it answers with want. An htmx answer (a table body and
// the status line) is parsed inside a table, as htmx does, since HTML drops a bare <tbody>.
func (a *app) get(t *testing.T, path string, hx bool, want int) (*httptest.ResponseRecorder, *goquery.Document) {
	t.Helper()
	w := a.do(t, "GET", path, nil, hx)
	if w.Code != want {
		t.Fatalf("GET %s (htmx %v): status %d, want %d: %s", path, hx, w.Code, want, w.Body)
	}
	if !hx {
		return w, parse(t, w)
	}
	d, err := goquery.NewDocumentFromReader(strings.NewReader("<table>" + w.Body.String() + "</table>"))
	if err != nil {
		t.Fatal(err)
	}
	return w, d
}

// names lists the data-name of every element with the test id.
func names(d *goquery.Document, testid string) []string {
	var out []string
	d.Find(`[data-testid="` + testid + `"]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, s.AttrOr("data-name", ""))
	})
	return out
}

func row(d *goquery.Document, testid, name string) *goquery.Selection {
	return d.Find(`[data-testid="` + testid + `"][data-name="` + name + `"]`)
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// Expected access, written out from models/demo/demo.yaml rather than asked of the resolver, so a
// page and the resolver that feeds it cannot agree on a wrong answer.
const (
	// Team platform (acme): access group engineering (github, filesystem) and toolsets release
	// and read-only, within acme's servers and access groups; github's transfer_repo is disabled
	// and acme denies github/delete_repo; filesystem's delete_file is disabled.
	platformSummary = "5 servers · 27 tools"
	platformDetail  = "docs: get_page, list_sections, search_docs; " +
		"filesystem: get_file_info, list_directory, move_file, read_file, search_files, write_file; " +
		"github: add_comment, create_branch, create_issue, create_pull_request, get_file_contents, get_issue, " +
		"list_issues, list_pull_requests, merge_pull_request, search_code, update_issue; " +
		"postgres: describe_table, list_schemas, list_tables; " +
		"slack: get_channel_history, list_channels, post_message, search_messages"
	// Key deploy-bot (team platform) is bound to agent release-agent, whose toolset release
	// leaves four github tools and slack's post_message.
	deployBotSummary = "2 servers · 5 tools"
)

// deployBotTools is deploy-bot's access by server, from the same reading of the demo.
var deployBotTools = map[string]string{
	"github": "create_branch,create_pull_request,list_pull_requests,merge_pull_request",
	"slack":  "post_message",
}

// isFullPage tells a whole page from an htmx fragment.
func isFullPage(w *httptest.ResponseRecorder) bool {
	return strings.Contains(w.Body.String(), "<!doctype html>") || strings.Contains(w.Body.String(), "<html")
}

func TestTeamsPage(t *testing.T) {
	a := newDemoApp(t)
	w, d := a.get(t, "/teams", false, 200)
	if !isFullPage(w) || d.Find(`nav a[aria-current="page"]`).Text() != "Teams" {
		t.Errorf("not the full teams page with Teams current in the nav")
	}
	if got, want := len(names(d, "team-row")), 6; got != want {
		t.Fatalf("%d team rows, want %d", got, want)
	}
	r := row(d, "team-row", "platform")
	if href, _ := r.Find(`a[href="/orgs/acme/settings"]`).Attr("href"); href == "" {
		t.Error("platform row does not link its organization's settings")
	}
	cell := r.Find(`[data-testid="team-access"] span`)
	if got := squash(cell.Text()); got != platformSummary {
		t.Errorf("platform access %q, want %q", got, platformSummary)
	}
	if title := cell.AttrOr("title", ""); title != platformDetail {
		t.Errorf("platform access title %q, want %q", title, platformDetail)
	}
	// ci-bot, deploy-bot, renovate-bot, terraform-runner.
	if got := squash(r.Find(`td.num a`).Text()); got != "4" {
		t.Errorf("platform keys %q, want 4", got)
	}
	if got := text(d, "team-status"); got != "6 teams" {
		t.Errorf("status line %q", got)
	}

	// The filter matches team and organization names; a full page without htmx.
	w, d = a.get(t, "/teams?q=GLOBEX", false, 200)
	if got := strings.Join(names(d, "team-row"), ","); got != "analytics,ops,web" {
		t.Errorf("q=GLOBEX: teams %s", got)
	}
	if !isFullPage(w) || d.Find(`input[name=q]`).AttrOr("value", "") != "GLOBEX" {
		t.Error("filtered page is not the full page keeping the filter")
	}
	// With htmx: the table body and the status line (out of band), nothing else.
	w, d = a.get(t, "/teams?q=plat", true, 200)
	if isFullPage(w) || d.Find("h1").Length() != 0 {
		t.Errorf("htmx answer is a full page: %s", w.Body)
	}
	if got := strings.Join(names(d, "team-row"), ","); got != "platform" {
		t.Errorf("q=plat: teams %s", got)
	}
	if d.Find(`tbody#team-rows`).Length() != 1 || d.Find(`#team-status[hx-swap-oob="true"]`).Length() != 1 {
		t.Errorf("fragment lacks the table body or the out-of-band status: %s", w.Body)
	}
	if got := text(d, "team-status"); got != "1 team matching “plat”" {
		t.Errorf("fragment status %q", got)
	}
	if w.Header().Get("Vary") != "HX-Request" {
		t.Error("no Vary: HX-Request")
	}
	_, d = a.get(t, "/teams?q=nothing-like-it", true, 200)
	if got := squash(d.Find("tr.empty").Text()); got != "No teams matching “nothing-like-it”" {
		t.Errorf("empty result %q", got)
	}
}

func TestKeysPage(t *testing.T) {
	a := newDemoApp(t)
	_, d := a.get(t, "/keys", false, 200)
	if got, want := len(names(d, "key-row")), 25; got != want {
		t.Fatalf("%d key rows, want %d", got, want)
	}
	r := row(d, "key-row", "deploy-bot")
	if got := squash(r.Find("td").Eq(1).Text()); got != "platform" {
		t.Errorf("deploy-bot team %q", got)
	}
	if r.Find(`a[href="/orgs/acme/settings"]`).Length() != 1 {
		t.Error("deploy-bot row does not link acme (its team's organization)")
	}
	if got := squash(r.Find("td").Eq(3).Text()); got != "release-agent" {
		t.Errorf("deploy-bot agent %q", got)
	}
	if r.Find(`a[href="/keys/deploy-bot"]`).Length() != 1 {
		t.Error("no link to the key's explain page")
	}
	if got := squash(r.Find(`[data-testid="key-access"]`).Text()); got != deployBotSummary {
		t.Errorf("deploy-bot access %q, want %q", got, deployBotSummary)
	}
	// Teamless keys show their own organization; statuses say why there is no access.
	if r := row(d, "key-row", "billing-svc"); !strings.Contains(r.Text(), "acme") ||
		squash(r.Find(`[data-testid="key-access"]`).Text()) != "no access" {
		t.Errorf("billing-svc row: %q", squash(r.Text()))
	}
	if got := squash(row(d, "key-row", "legacy-cron").Find(`[data-testid="key-status"]`).Text()); got != "blocked" {
		t.Errorf("legacy-cron status %q", got)
	}
	if got := squash(row(d, "key-row", "ci-bot").Find(`[data-testid="key-status"]`).Text()); got != "active" {
		t.Errorf("ci-bot status %q", got)
	}
	if got := text(d, "key-status"); got != "25 keys" {
		t.Errorf("status line %q", got)
	}

	// q matches key, team and organization names.
	_, d = a.get(t, "/keys?q=data-eng", false, 200)
	if got := strings.Join(names(d, "key-row"), ","); got != "data-pipeline,dbt-runner,etl-nightly,metrics-exporter" {
		t.Errorf("q=data-eng: %s", got)
	}
	_, d = a.get(t, "/keys?q=globex", false, 200)
	if got := len(names(d, "key-row")); got != 11 {
		t.Errorf("q=globex (organization): %d keys, want 11", got)
	}
	// team= is exact, as the teams page links it.
	_, d = a.get(t, "/keys?team=platform", false, 200)
	if got := strings.Join(names(d, "key-row"), ","); got != "ci-bot,deploy-bot,renovate-bot,terraform-runner" {
		t.Errorf("team=platform: %s", got)
	}
	if d.Find(`form.list-filter input[type=hidden][name=team][value=platform]`).Length() != 1 {
		t.Error("the filter form drops team=")
	}
	w, d := a.get(t, "/keys?q=bot", true, 200)
	if isFullPage(w) || d.Find(`tbody#key-rows`).Length() != 1 || d.Find(`#key-status[hx-swap-oob="true"]`).Length() != 1 {
		t.Errorf("htmx answer is not the rows and status: %s", w.Body)
	}
	if got := strings.Join(names(d, "key-row"), ","); got != "ci-bot,deploy-bot,helpdesk-bot,renovate-bot,storybook-bot" {
		t.Errorf("q=bot: %s", got)
	}
}

// manyKeys is a policy with n keys named key-000, key-001, ...; key-000 expired long ago and
// key-001 expires far in the future.
func manyKeys(n int) string {
	var b strings.Builder
	b.WriteString(`version: 1
servers:
  - {name: github, tools: [create_issue, list_issues]}
organizations:
  - {name: acme, mcp: {servers: [github]}}
teams:
  - {name: platform, organization: acme}
keys:
`)
	for i := range n {
		extra := ""
		switch i {
		case 0:
			extra = `, expires_at: "2001-01-01T00:00:00Z"`
		case 1:
			extra = `, expires_at: "2099-12-31T00:00:00Z"`
		}
		fmt.Fprintf(&b, "  - {name: key-%03d, team: platform%s}\n", i, extra)
	}
	return b.String()
}

func TestKeysPaged(t *testing.T) {
	a := newApp(t, store.KindSQLite, manyKeys(250))
	_, d := a.get(t, "/keys", false, 200)
	got := names(d, "key-row")
	if len(got) != 100 || got[0] != "key-000" || got[99] != "key-099" {
		t.Fatalf("page 1: %d keys %v…", len(got), got[:min(len(got), 3)])
	}
	if s := text(d, "key-status"); !strings.HasPrefix(s, "Keys 1–100 of 250") {
		t.Errorf("page 1 status %q", s)
	}
	if href := d.Find(`[data-testid="next-page"]`).AttrOr("href", ""); href != "/keys?page=2" {
		t.Errorf("next link %q", href)
	}
	if d.Find(`[data-testid="prev-page"]`).Length() != 0 {
		t.Error("page 1 has a previous link")
	}
	if s := squash(row(d, "key-row", "key-000").Find(`[data-testid="key-status"]`).Text()); s != "expired 2001-01-01" {
		t.Errorf("key-000 status %q", s)
	}
	if s := squash(row(d, "key-row", "key-001").Find(`[data-testid="key-status"]`).Text()); s != "expires 2099-12-31" {
		t.Errorf("key-001 status %q", s)
	}

	_, d = a.get(t, "/keys?page=3", false, 200)
	if got := names(d, "key-row"); len(got) != 50 || got[0] != "key-200" {
		t.Errorf("page 3: %d keys from %v", len(got), got[:1])
	}
	if d.Find(`[data-testid="next-page"]`).Length() != 0 || d.Find(`[data-testid="prev-page"]`).AttrOr("href", "") != "/keys?page=2" {
		t.Error("page 3 pager wrong")
	}
	// The pager's htmx request gets the rows and the status line; the filter rides along.
	var match []string
	for i := range 250 {
		if n := fmt.Sprintf("key-%03d", i); strings.Contains(n, "1") {
			match = append(match, n)
		}
	}
	w, d := a.get(t, "/keys?q=1&page=2", true, 200)
	if isFullPage(w) {
		t.Error("htmx page is a full page")
	}
	if got := names(d, "key-row"); strings.Join(got, ",") != strings.Join(match[100:], ",") {
		t.Errorf("q=1 page 2: %v, want %v", got, match[100:])
	}
	if s, want := text(d, "key-status"), fmt.Sprintf("Keys 101–%d of %d matching “1”", len(match), len(match)); !strings.HasPrefix(s, want) {
		t.Errorf("q=1 page 2 status %q, want %q…", s, want)
	}
	if href := d.Find(`[data-testid="prev-page"]`).AttrOr("href", ""); href != "/keys?q=1" {
		t.Errorf("prev link %q", href)
	}
	_, d = a.get(t, "/keys?page=9", false, 200)
	if len(names(d, "key-row")) != 0 || text(d, "key-status") != "No keys on page 9 ← Previous page 9" {
		t.Errorf("page past the end: %q", text(d, "key-status"))
	}
	_, d = a.get(t, "/keys/key-000", false, 200)
	if d.Find(`[data-testid="key-expired"]`).Length() != 1 {
		t.Error("expired key's page does not say it is expired")
	}
}

func TestKeyDetail(t *testing.T) {
	a := newDemoApp(t)
	v := a.view(t)
	_, d := a.get(t, "/keys/deploy-bot", false, 200)
	if got := text(d, "key-org"); got != "acme" {
		t.Errorf("organization %q", got)
	}
	if got := text(d, "key-team"); got != "platform" {
		t.Errorf("team %q", got)
	}
	if got := text(d, "key-access-summary"); got != deployBotSummary {
		t.Errorf("summary %q, want %q", got, deployBotSummary)
	}
	rows := d.Find(`[data-testid="access-row"]`)
	if rows.Length() != len(deployBotTools) {
		t.Fatalf("%d access rows, want %d", rows.Length(), len(deployBotTools))
	}
	rows.Each(func(_ int, r *goquery.Selection) {
		s := r.AttrOr("data-server", "")
		var tools []string
		r.Find("code.tool").Each(func(_ int, c *goquery.Selection) { tools = append(tools, c.Text()) })
		if want, ok := deployBotTools[s]; !ok || strings.Join(tools, ",") != want {
			t.Errorf("server %s: tools %v, want %q", s, tools, want)
		}
		if r.Find(`a[href="/servers/`+s+`"]`).Length() != 1 {
			t.Errorf("server %s not linked", s)
		}
	})
	ex, _ := v.Snapshot.ExplainPrincipal(resolver.KindKey, "deploy-bot")
	var lines []string
	d.Find(`[data-testid="explain-line"]`).Each(func(_ int, s *goquery.Selection) { lines = append(lines, s.Text()) })
	var wantLines []string
	for _, l := range ex.Lines() {
		wantLines = append(wantLines, strings.TrimLeft(l, " "))
	}
	explain := strings.Join(lines, "\n")
	if explain != strings.Join(wantLines, "\n") {
		t.Errorf("explanation:\n%s\nwant:\n%s", explain, ex)
	}
	// The page shows the resolver's explanation line for line (above); a few of those lines,
	// read off the fixture, pin what the explanation must say.
	for _, want := range []string{
		`key "deploy-bot" (organization "acme", team "platform"): github: create_branch, create_pull_request, list_pull_requests, merge_pull_request; slack: post_message`,
		`organization "acme": restricts`,
		`denies github: delete_repo`,
		`team "platform": restricts`,
		`caps postgres: execute, explain_query, query`,
		`agent "release-agent" (bound): restricts`,
		`grants slack: post_message (from toolset release: post_message)`,
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("explanation lacks the line %q:\n%s", want, explain)
		}
	}

	_, d = a.get(t, "/keys/legacy-cron", false, 200)
	if got := text(d, "key-status"); got != "blocked" || d.Find(`[data-testid="key-no-access"]`).Length() != 1 {
		t.Errorf("legacy-cron: status %q, no-access note %d", got, d.Find(`[data-testid="key-no-access"]`).Length())
	}

	w := a.do(t, "GET", "/keys/no-such-key", nil, false)
	if w.Code != 404 || text(parse(t, w), "error-message") != `unknown key "no-such-key"` {
		t.Errorf("unknown key: %d %q", w.Code, w.Body)
	}
}

func TestServerPages(t *testing.T) {
	a := newDemoApp(t)
	_, d := a.get(t, "/servers", false, 200)
	if got := strings.Join(names(d, "server-row"), ","); got != "docs,filesystem,github,postgres,slack" {
		t.Fatalf("servers %s", got)
	}
	gh := row(d, "server-row", "github")
	if !strings.Contains(gh.Text(), "https://mcp.example.com/github/mcp") {
		t.Errorf("github URL missing: %q", squash(gh.Text()))
	}
	// The demo's github server lists 13 tools (transfer_repo among them, disabled).
	const githubTools = 13
	if got := squash(gh.Find(`[data-testid="server-tools"]`).Text()); got != fmt.Sprint(githubTools) {
		t.Errorf("github tools %q, want %d", got, githubTools)
	}
	if got := squash(gh.Find(`[data-testid="server-disabled"]`).Text()); got != "transfer_repo" {
		t.Errorf("github disabled %q", got)
	}
	if row(d, "server-row", "docs").Find(`[data-testid="public"]`).Length() != 1 ||
		gh.Find(`[data-testid="public"]`).Length() != 0 {
		t.Error("public flag wrong")
	}

	_, d = a.get(t, "/servers/github", false, 200)
	if got := len(names(d, "tool-row")); got != githubTools {
		t.Errorf("%d tool rows, want %d", got, githubTools)
	}
	if got := squash(row(d, "tool-row", "transfer_repo").Find(`[data-testid="tool-status"]`).Text()); got != "disabled" {
		t.Errorf("transfer_repo status %q", got)
	}
	ci := row(d, "tool-row", "create_issue")
	if !strings.Contains(ci.Text(), "Open a new issue in a repository.") || squash(ci.Find(`[data-testid="tool-status"]`).Text()) != "enabled" {
		t.Errorf("create_issue row %q", squash(ci.Text()))
	}
	if got := text(d, "server-groups"); got != "engineering" {
		t.Errorf("github's access groups %q", got)
	}
	if got := text(d, "server-toolsets"); !strings.Contains(got, "read-only") || !strings.Contains(got, "release") {
		t.Errorf("github's toolsets %q", got)
	}

	w := a.do(t, "GET", "/servers/no-such-server", nil, false)
	if w.Code != 404 || text(parse(t, w), "error-message") != `unknown MCP server "no-such-server"` {
		t.Errorf("unknown server: %d %q", w.Code, w.Body)
	}
}

func TestToolsetAndGroupPages(t *testing.T) {
	a := newApp(t, store.KindSQLite, `
version: 1
servers:
  - {name: github, tools: [create_issue, list_issues, delete_repo], disabled_tools: [delete_repo]}
  - {name: jira, tools: [search]}
  - {name: docs, public: true, tools: [lookup]}
access_groups:
  - {name: dev, servers: [github, jira]}
  - {name: open, servers: [docs]}
toolsets:
  - {name: read-only, tools: [github/list_issues, jira/search]}
  - {name: danger, tools: [github/delete_repo]}
`)
	_, d := a.get(t, "/toolsets", false, 200)
	if got := strings.Join(names(d, "toolset-row"), ","); got != "danger,read-only" {
		t.Fatalf("toolsets %s", got)
	}
	var members []string
	row(d, "toolset-row", "read-only").Find(".member-line").Each(func(_ int, s *goquery.Selection) {
		members = append(members, squash(s.Text()))
	})
	if got := strings.Join(members, " | "); got != "github: list_issues | jira: search" {
		t.Errorf("read-only members %q", got)
	}
	if title := row(d, "toolset-row", "danger").Find("code.tool.off").AttrOr("title", ""); title != "Disabled on github" {
		t.Errorf("disabled entry not marked: %q", title)
	}
	if row(d, "toolset-row", "read-only").AttrOr("id", "") != "toolset-read-only" {
		t.Error("toolset rows are not anchors")
	}

	_, d = a.get(t, "/access-groups", false, 200)
	if got := strings.Join(names(d, "group-row"), ","); got != "dev,open" {
		t.Fatalf("groups %s", got)
	}
	dev := row(d, "group-row", "dev")
	if got := squash(dev.Find(`[data-testid="group-members"]`).Text()); got != "github jira" {
		t.Errorf("dev members %q", got)
	}
	// github grants 2 tools (delete_repo is disabled), jira 1.
	if got := squash(dev.Find("td.num").Eq(1).Text()); got != "3" {
		t.Errorf("dev tools %q, want 3", got)
	}
	if dev.Find(`a[href="/servers/jira"]`).Length() != 1 {
		t.Error("group members are not linked")
	}
}

func TestAuditPage(t *testing.T) {
	a := newDemoApp(t)
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	total := len(doc.Servers) + len(doc.AccessGroups) + len(doc.Toolsets) + len(doc.Organizations) +
		len(doc.Teams) + len(doc.Keys) + len(doc.EndUsers) + len(doc.Agents)
	total++ // the app's admin, created for the test to sign in as
	// A later change is listed first.
	for i := range doc.Keys {
		if doc.Keys[i].Name == "ci-bot" {
			doc.Keys[i].Blocked = true
		}
	}
	storetest.MustApply(t, a.st, doc)
	total++
	if err := a.state.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if total <= 50 {
		t.Fatalf("the demo makes only %d events; the test needs more than a page", total)
	}

	_, d := a.get(t, "/audit", false, 200)
	rows := d.Find(`[data-testid="audit-row"]`)
	if rows.Length() != 50 {
		t.Fatalf("page 1: %d events, want 50", rows.Length())
	}
	first := rows.First()
	if first.AttrOr("data-kind", "") != "key" || first.AttrOr("data-name", "") != "ci-bot" ||
		!strings.Contains(first.Text(), "update") || squash(first.Find("td.num").Text()) != "2" {
		t.Errorf("newest event first: %q", squash(first.Text()))
	}
	if first.Find(`a[href="/keys/ci-bot"]`).Length() != 1 {
		t.Error("the event does not link its entity")
	}
	if s := text(d, "audit-status"); !strings.HasPrefix(s, "Events 1–50") {
		t.Errorf("status %q", s)
	}
	if href := d.Find(`[data-testid="next-page"]`).AttrOr("href", ""); href != "/audit?page=2" {
		t.Errorf("next link %q", href)
	}
	_, d = a.get(t, "/audit?page=2", false, 200)
	if got := d.Find(`[data-testid="audit-row"]`).Length(); got != total-50 {
		t.Errorf("page 2: %d events, want %d", got, total-50)
	}
	if d.Find(`[data-testid="next-page"]`).Length() != 0 {
		t.Error("last page has a next link")
	}

	// Filter by kind, with and without htmx.
	_, d = a.get(t, "/audit?kind=key", false, 200)
	kinds := map[string]int{}
	d.Find(`[data-testid="audit-row"]`).Each(func(_ int, s *goquery.Selection) { kinds[s.AttrOr("data-kind", "")]++ })
	if len(kinds) != 1 || kinds["key"] != len(doc.Keys)+1 {
		t.Errorf("kind=key: %v, want %d key events", kinds, len(doc.Keys)+1)
	}
	if d.Find(`select[name=kind] option[value=key][selected]`).Length() != 1 {
		t.Error("kind select does not keep the filter")
	}
	w, d := a.get(t, "/audit?kind=toolset", true, 200)
	if isFullPage(w) || d.Find(`tbody#audit-rows`).Length() != 1 || d.Find(`#audit-status[hx-swap-oob="true"]`).Length() != 1 {
		t.Errorf("htmx answer is not the rows and status: %s", w.Body)
	}
	if got, want := d.Find(`[data-testid="audit-row"]`).Length(), len(doc.Toolsets); got != want {
		t.Errorf("kind=toolset: %d events, want %d", got, want)
	}
	if got := text(d, "audit-status"); got != fmt.Sprintf("%d events on toolsets", len(doc.Toolsets)) {
		t.Errorf("status %q", got)
	}
	if w := a.do(t, "GET", "/audit?kind=nonsense", nil, false); w.Code != 422 || text(parse(t, w), "error-message") != `unknown entity kind "nonsense"` {
		t.Errorf("unknown kind: %d %q", w.Code, w.Body)
	}
}
