package handlers_test

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/resolver/gen"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

var update = flag.Bool("update", false, "rewrite golden files")

// policy is a small organization: acme limits to the dev group and denies delete_repo.
const policy = `
version: 1
servers:
  - {name: github, tools: [create_issue, list_issues, delete_repo]}
  - {name: jira, tools: [search, create_ticket]}
  - {name: docs, public: true, tools: [lookup]}
access_groups:
  - {name: dev, servers: [github, jira]}
toolsets:
  - {name: read-only, tools: [github/list_issues, jira/search]}
organizations:
  - name: acme
    mcp: {access_groups: [dev]}
    deny_tools: [github/delete_repo]
  - {name: globex}
teams:
  - {name: platform, organization: acme}
  - {name: web, organization: acme, mcp: {servers: [jira]}}
  - {name: other, organization: globex}
keys:
  - {name: ci-bot, team: platform}
  - {name: deploy, team: platform, mcp: {servers: [github]}}
  - {name: frontend, team: web}
  - {name: billing-svc, organization: acme}
  - {name: globex-key, team: other}
`

type app struct {
	h     http.Handler
	st    *store.Store
	state *live.State
}

func newApp(t *testing.T, kind, yaml string) *app {
	t.Helper()
	return newAppOn(t, storetest.Open(t, kind), yaml)
}

// newAppOn is newApp on the store st.
func newAppOn(t *testing.T, st *store.Store, yaml string) *app {
	t.Helper()
	storetest.MustApply(t, st, storetest.MustLoad(t, yaml))
	state := live.New(st, live.Options{})
	if err := state.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &app{h: storetest.AsUser(web.New(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, Store: st, State: state}), storetest.Admin(t, st)), st: st, state: state}
}

func (a *app) do(t *testing.T, method, path string, form url.Values, hx bool) *httptest.ResponseRecorder {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	return w
}

func parse(t *testing.T, w *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func text(d *goquery.Document, testid string) string {
	return strings.Join(strings.Fields(d.Find(`[data-testid="`+testid+`"]`).First().Text()), " ")
}

// draft is acme's settings form with the dev group swapped for the read-only toolset.
func draft(rev string) url.Values {
	return url.Values{
		"mode": {"limit"}, "toolsets": {"read-only"}, "deny_tools": {"github/delete_repo"},
		"loaded_revision": {rev}, "preview_revision": {rev},
	}
}

func TestSettingsPage(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	w := a.do(t, "GET", "/orgs/acme/settings", nil, false)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	d := parse(t, w)
	if got := d.Find(`select[name=access_groups] option[selected]`).Text(); got != "dev" {
		t.Errorf("selected access groups %q, want dev", got)
	}
	if v, _ := d.Find(`input[name=mode][value=limit]`).Attr("checked"); v == "" && !d.Find(`input[name=mode][value=limit][checked]`).Is("input") {
		t.Error("limit mode not checked")
	}
	if got := d.Find(`select[name=deny_tools] option[selected]`).Text(); got != "github/delete_repo" {
		t.Errorf("denied tools %q", got)
	}
	if got := text(d, "preview-headline"); got != "No change" {
		t.Errorf("headline %q", got)
	}
	for _, f := range []string{"loaded_revision", "preview_revision"} {
		if v, _ := d.Find(`input[name=` + f + `]`).Attr("value"); v != "1" {
			t.Errorf("form %s %q, want 1", f, v)
		}
	}
	if w := a.do(t, "GET", "/orgs/nope/settings", nil, false); w.Code != 404 {
		t.Errorf("unknown org: %d", w.Code)
	}
	w = a.do(t, "GET", "/orgs", nil, false)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `href="/orgs/acme/settings"`) {
		t.Errorf("orgs list: %d", w.Code)
	}
	// acme: the dev group (github, jira) minus delete_repo; 2 teams, 4 keys (3 in teams, 1 teamless).
	var cells []string
	parse(t, w).Find(`[data-testid="org-list"] tbody tr`).First().Find("td").Each(func(_ int, td *goquery.Selection) {
		cells = append(cells, strings.Join(strings.Fields(td.Text()), " "))
	})
	if row := strings.Join(cells, " | "); row != "acme | groups: dev | 1 | 2 | 4 | 2 servers · 4 tools | active" {
		t.Errorf("acme's row: %q", row)
	}
}

func TestPreview(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	// htmx gets the panel alone.
	w := a.do(t, "POST", "/orgs/acme/settings/preview", draft("1"), true)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "<html") || !strings.HasPrefix(strings.TrimSpace(w.Body.String()), `<div id="preview-panel"`) {
		t.Fatalf("htmx preview is not the panel alone:\n%.300s", w.Body)
	}
	if w.Header().Get("Vary") != "HX-Request" {
		t.Error("no Vary: HX-Request")
	}
	d := parse(t, w)
	// With read-only instead of dev: acme, platform and ci-bot/billing-svc lose the github/jira
	// write tools; deploy (github only) loses create_issue; web and frontend (jira) lose
	// create_ticket.
	if got := text(d, "preview-headline"); got != "the organization, 2 teams and 4 keys lose access" {
		t.Errorf("headline %q", got)
	}
	rows := d.Find(`[data-testid="impact-by-tool"] tbody tr`)
	if rows.Length() != 2 {
		t.Fatalf("%d tool rows, want 2", rows.Length())
	}
	var cells []string
	rows.Each(func(_ int, r *goquery.Selection) {
		r.Find("td").Each(func(_ int, td *goquery.Selection) {
			cells = append(cells, strings.Join(strings.Fields(td.Text()), " "))
		})
	})
	// Most losses first.
	if got := strings.Join(cells, " | "); got != "jira / create_ticket | −3 keys −2 teams −organization |  | "+
		"github / create_issue | −3 keys −1 team −organization | " {
		t.Errorf("tool rows %q", got)
	}
	// The store is untouched.
	if rev, _ := a.st.Revision(context.Background()); rev != 1 {
		t.Errorf("preview wrote: revision %d", rev)
	}

	// Without htmx, the whole page with the draft in the form.
	w = a.do(t, "POST", "/orgs/acme/settings/preview", draft("1"), false)
	d = parse(t, w)
	if w.Code != 200 || d.Find("html").Length() != 1 || text(d, "preview-headline") != "the organization, 2 teams and 4 keys lose access" {
		t.Fatalf("full-page preview: %d %q", w.Code, text(d, "preview-headline"))
	}
	if got := d.Find(`select[name=toolsets] option[selected]`).Text(); got != "read-only" {
		t.Errorf("the page does not keep the draft: toolsets %q", got)
	}

	// Filter: only the web team's rows.
	f := draft("1")
	f.Set("filter", "front")
	d = parse(t, a.do(t, "POST", "/orgs/acme/settings/preview", f, true))
	var names []string
	d.Find(`[data-testid="impact-by-principal"] [data-testid="impact-row"]`).Each(func(_ int, s *goquery.Selection) {
		names = append(names, s.AttrOr("data-name", ""))
	})
	if strings.Join(names, ",") != "frontend" {
		t.Errorf("filtered rows %v, want [frontend]", names)
	}
}

func TestPreviewInvalidDraft(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	f := url.Values{"mode": {"limit"}, "servers": {"gitlab"}, "limit_server": {"jira"}, "tool": {"jira/nope"}, "loaded_revision": {"1"}}
	for _, hx := range []bool{true, false} {
		w := a.do(t, "POST", "/orgs/acme/settings/preview", f, hx)
		if w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("hx=%v: status %d, want 422", hx, w.Code)
		}
		got := text(parse(t, w), "preview-problems")
		for _, want := range []string{`mcp.servers[0]: unknown server "gitlab"`, `mcp.tools.jira[0]: unknown tool "nope"`} {
			if !strings.Contains(got, want) {
				t.Errorf("hx=%v: problems %q lack %q", hx, got, want)
			}
		}
	}
}

func TestSave(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a := newApp(t, kind, policy)
			ctx := context.Background()
			before := accessOf(t, a.st)
			// What the preview predicts...
			prev := parse(t, a.do(t, "POST", "/orgs/acme/settings/preview", draft("1"), true))
			headline := text(prev, "preview-headline")

			w := a.do(t, "POST", "/orgs/acme/settings", draft("1"), false)
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/orgs/acme/settings" {
				t.Fatalf("save: %d %s", w.Code, w.Body)
			}
			// ...is what the stored state now gives, as `warden policy access --db` computes it.
			after := accessOf(t, a.st)
			diff := resolver.Diff(resolver.Build(before.doc), resolver.Build(after.doc))
			if diff.Summary.KeysLosing != 4 || diff.Summary.TeamsLosing != 2 || headline != "the organization, 2 teams and 4 keys lose access" {
				t.Errorf("stored change %+v does not match the preview %q", diff.Summary, headline)
			}
			if k, _ := resolver.Build(after.doc).KeyAccess("deploy"); !k.Equal(resolver.Access{"github": {"list_issues"}}) {
				t.Errorf("deploy after save: %v", k)
			}
			// Enforcement sees the save before the response returned.
			if v, err := a.state.View(); err != nil || v.Revision != 2 {
				t.Errorf("live view after save: %v %v", v, err)
			}
			// The flash says what happened, once.
			cookie := w.Result().Cookies()
			req := httptest.NewRequest("GET", "/orgs/acme/settings", nil)
			for _, c := range cookie {
				req.AddCookie(c)
			}
			rw := httptest.NewRecorder()
			a.h.ServeHTTP(rw, req)
			if got := text(parse(t, rw), "flash"); got != "Saved — the organization, 2 teams and 4 keys lost access to 2 tools." {
				t.Errorf("flash %q", got)
			}
			events, _ := a.st.ListAuditEvents(ctx, store.AuditFilter{EntityKind: models.KindOrganization, Limit: 1})
			if len(events) != 1 || !strings.Contains(events[0].Summary, "4 keys lost access") || events[0].Actor != "root" {
				t.Errorf("audit: %+v", events)
			}

			// htmx save: HX-Redirect.
			f := draft("2")
			f.Set("blocked", "1")
			w = a.do(t, "POST", "/orgs/acme/settings", f, true)
			if w.Header().Get("HX-Redirect") != "/orgs/acme/settings" {
				t.Errorf("htmx save: %d %v", w.Code, w.Header())
			}
		})
	}
}

type stateOf struct{ doc *models.Document }

func accessOf(t *testing.T, st *store.Store) stateOf {
	t.Helper()
	doc, _, err := st.LoadDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return stateOf{doc}
}

func TestStaleSave(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	ctx := context.Background()
	// Someone changes a team of acme after the page was loaded at revision 1.
	doc, _, _ := a.st.LoadDocument(ctx)
	for i := range doc.Teams {
		if doc.Teams[i].Name == "web" {
			doc.Teams[i].MCP = nil
		}
	}
	storetest.MustApply(t, a.st, doc)
	before, rev, _ := a.st.LoadDocument(ctx)

	w := a.do(t, "POST", "/orgs/acme/settings", draft("1"), false)
	if w.Code != http.StatusConflict {
		t.Fatalf("stale save: %d, want 409", w.Code)
	}
	d := parse(t, w)
	if msg := text(d, "form-message"); !strings.Contains(msg, "changed since this page was loaded") || !strings.Contains(msg, "team web was updated") {
		t.Errorf("message %q", msg)
	}
	// A fresh preview, at the new revision, with the draft kept and the settings' revision
	// unchanged (nobody changed acme's own settings, so the next save goes through).
	if v, _ := d.Find(`input[name=preview_revision]`).Attr("value"); v != "2" {
		t.Errorf("fresh preview revision %q, want 2", v)
	}
	if v, _ := d.Find(`input[name=loaded_revision]`).Attr("value"); v != "1" {
		t.Errorf("loaded revision %q, want 1", v)
	}
	if d.Find(`[data-testid=conflict]`).Length() != 0 || d.Find(`[data-testid=stale-note]`).Length() != 0 {
		t.Error("a change to a team is shown as a change of acme's settings")
	}
	if text(d, "preview-headline") == "No change" {
		t.Error("the re-rendered page lost the draft's preview")
	}
	after, rev2, _ := a.st.LoadDocument(ctx)
	if rev2 != rev || after.Organization("acme").MCP.AccessGroups[0] != before.Organization("acme").MCP.AccessGroups[0] {
		t.Error("a stale save wrote something")
	}
	// Saved again from the re-rendered page, it goes through.
	f := fieldsOf(d.Find("form#org-settings"), "")
	if w := a.do(t, "POST", "/orgs/acme/settings", f, false); w.Code != http.StatusSeeOther {
		t.Fatalf("save after the fresh preview: %d %s", w.Code, w.Body)
	}
}

func TestCrossSitePostRefused(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	req := httptest.NewRequest("POST", "/orgs/acme/settings", strings.NewReader(draft("1").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d, want 403", w.Code)
	}
	if rev, _ := a.st.Revision(context.Background()); rev != 1 {
		t.Error("a cross-site POST wrote")
	}
}

// The preview panel for a fixed state and draft, byte for byte (go test -update rewrites it).
func TestPreviewGolden(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	w := a.do(t, "POST", "/orgs/acme/settings/preview", draft("1"), true)
	golden := filepath.Join("testdata", "preview.golden.html")
	if *update {
		if err := os.WriteFile(golden, w.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./handlers -run TestPreviewGolden -update)", err)
	}
	if w.Body.String() != string(want) {
		t.Errorf("preview panel differs from %s; if intended, rerun with -update\n--- got\n%s", golden, w.Body)
	}
}

func TestWhy(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	f := draft("1")
	f.Set("kind", "key")
	f.Set("name", "deploy")
	w := a.do(t, "POST", "/orgs/acme/settings/why", f, true)
	if w.Code != 200 {
		t.Fatalf("why: %d %s", w.Code, w.Body)
	}
	d := parse(t, w)
	before, afterSel := d.Find(`[data-testid="why-before"]`), d.Find(`[data-testid="why-after"]`)
	if before.Length() != 1 || afterSel.Length() != 1 {
		t.Fatalf("why columns: %d %d", before.Length(), afterSel.Length())
	}
	now, after := before.Text(), afterSel.Text()
	if !strings.Contains(now, "create_issue") || !strings.Contains(now, "access group dev") {
		t.Errorf("explanation now lacks the dev group's grant: %s", now)
	}
	if first := afterSel.Find(`[data-testid="explain-line"]`).First().Text(); !strings.Contains(after, "toolset read-only") || first != `key "deploy" (organization "acme", team "platform"): github: list_issues` {
		t.Errorf("explanation after: %s", after)
	}
	f.Set("name", "nobody")
	if w := a.do(t, "POST", "/orgs/acme/settings/why", f, true); w.Code != 404 {
		t.Errorf("unknown key: %d", w.Code)
	}
	f.Set("kind", "server")
	if w := a.do(t, "POST", "/orgs/acme/settings/why", f, true); w.Code != 422 {
		t.Errorf("bad kind: %d", w.Code)
	}
}

func TestToolLimitFragment(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	w := a.do(t, "GET", "/orgs/acme/settings/tool-limit/jira", nil, true)
	d := parse(t, w)
	if w.Code != 200 || d.Find(`input[name=limit_server][value=jira]`).Length() != 1 || d.Find(`input[name=tool]`).Length() != 2 {
		t.Fatalf("tool limit block: %d %s", w.Code, w.Body)
	}
	if w := a.do(t, "GET", "/orgs/acme/settings/tool-limit/gitlab", nil, true); w.Code != 404 {
		t.Errorf("unknown server: %d", w.Code)
	}
}

// A large organization's preview is paged: the first teams with counts and "show more", never
// a response that grows with the organization.
func TestPreviewPaged(t *testing.T) {
	cfg := gen.Small()
	cfg.Teams = 200 // 40 of them in the big organization
	doc := gen.Generate(cfg)
	st := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st, doc)
	state := live.New(st, live.Options{})
	if err := state.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := &app{h: storetest.AsUser(web.New(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, Store: st, State: state}), storetest.Admin(t, st)), st: st, state: state}
	big := doc.Organization(gen.OrgName(0))
	// Limit the organization to nothing: everyone under it loses everything.
	f := url.Values{"mode": {"limit"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}
	w := a.do(t, "POST", "/orgs/"+big.Name+"/settings/preview", f, true)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if w.Body.Len() > 256<<10 {
		t.Errorf("preview of %d keys is %d KiB", len(doc.Keys), w.Body.Len()>>10)
	}
	d := parse(t, w)
	if d.Find(`[data-testid="empty-limit"]`).Length() != 1 {
		t.Error("no warning that an empty selection means no MCP access")
	}
	groups := d.Find(`[data-testid="impact-by-principal"] > li`).Length()
	more := d.Find(`[data-testid="show-more"]`)
	if groups != 20 || more.Length() != 1 {
		t.Fatalf("first page: %d groups, show-more %d", groups, more.Length())
	}
	vals := more.AttrOr("hx-vals", "")
	if !strings.Contains(vals, `"page": "2"`) {
		t.Errorf("show more asks for %s", vals)
	}
	f.Set("page", "2")
	d = parse(t, a.do(t, "POST", "/orgs/"+big.Name+"/settings/preview", f, true))
	if n := d.Find(`[data-testid="impact-by-principal"] > li`).Length(); n <= groups {
		t.Errorf("page 2 shows %d groups, want more than %d", n, groups)
	}
}

// With no policy view to trust, the console fails closed like enforcement: 503, not a 500.
func TestConsoleWithoutView(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	h := storetest.AsUser(web.New(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, Store: st, State: live.New(st, live.Options{})}), storetest.Admin(t, st)) // never loaded
	for _, path := range []string{"/orgs", "/orgs/acme/settings", "/keys"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "cannot show the policy") {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
}
