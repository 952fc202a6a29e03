package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// revOf is the live revision as the forms post it.
func revOf(t *testing.T, a *app) string {
	t.Helper()
	v, err := a.state.View()
	if err != nil {
		t.Fatal(err)
	}
	return itoa64(v.Revision)
}

func jsonNum(n int64) string { return itoa64(n) }

func jsonReq(method, path string, form url.Values) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return req
}

func serve(a *app, req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	return w
}

// upload posts a policy document to /import as the page's form does.
func upload(t *testing.T, a *app, doc string) *httptest.ResponseRecorder {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("document", "policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(doc))
	mw.Close()
	req := httptest.NewRequest("POST", "/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return serve(a, req)
}

func TestAccessGroupSettings(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a := newApp(t, kind, policy)
			// The page shows the stored membership, selected in the picker.
			w := a.do(t, "GET", "/access-groups/dev/settings", nil, false)
			if w.Code != http.StatusOK {
				t.Fatalf("settings: %d %s", w.Code, w.Body)
			}
			d := parse(t, w)
			if got := d.Find(`select[name="servers"] option[selected]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") }); strings.Join(got, ",") != "github,jira" {
				t.Errorf("selected servers %v", got)
			}
			if w := a.do(t, "GET", "/access-groups/nope/settings", nil, false); w.Code != http.StatusNotFound {
				t.Errorf("unknown group: %d", w.Code)
			}

			// Dropping jira from dev: acme's keys that reach jira only through dev lose it.
			form := url.Values{"servers": {"github"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}
			w = a.do(t, "POST", "/access-groups/dev/settings/preview", form, true)
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "<html") {
				t.Fatalf("htmx preview: %d %.300s", w.Code, w.Body)
			}
			d = parse(t, w)
			if got := text(d, "preview-headline"); got != "the organization, 2 teams and 3 keys lose access" {
				t.Errorf("headline %q", got)
			}
			if d.Find(`[data-testid="org-impact"][data-org="acme"]`).Length() != 1 {
				t.Errorf("no acme section: %s", w.Body)
			}
			// The plain post gets the page; a script gets the resolver's diff.
			if w := a.do(t, "POST", "/access-groups/dev/settings/preview", form, false); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<html") {
				t.Errorf("plain preview: %d", w.Code)
			}
			req := jsonReq("POST", "/access-groups/dev/settings/preview", form)
			jw := serve(a, req)
			var js struct {
				Revision   int64                    `json:"revision"`
				Principals []resolver.PrincipalDiff `json:"principals"`
				Summary    resolver.DiffSummary     `json:"summary"`
			}
			if err := json.Unmarshal(jw.Body.Bytes(), &js); err != nil || js.Revision != 1 || js.Summary.KeysLosing != 3 {
				t.Errorf("json preview %d %s", jw.Code, jw.Body)
			}

			// Save: stored, one audit event carrying the summary, enforcement refreshed.
			w = a.do(t, "POST", "/access-groups/dev/settings", form, false)
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/access-groups/dev/settings" {
				t.Fatalf("save: %d %s", w.Code, w.Body)
			}
			doc, rev, _ := a.st.LoadDocument(context.Background())
			if g := doc.AccessGroup("dev"); rev != 2 || len(g.Servers) != 1 || g.Servers[0] != "github" {
				t.Errorf("stored %+v at %d", g, rev)
			}
			ev, _ := a.st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindAccessGroup, Limit: 1})
			if len(ev) != 1 || !strings.Contains(ev[0].Summary, "3 keys lost access") || ev[0].Actor != "root" {
				t.Errorf("audit %+v", ev)
			}
			if r := revOf(t, a); r != "2" {
				t.Errorf("live revision %s", r)
			}

			// The same form again is stale: its group changed since revision 1 (409, nothing written).
			form.Set("servers", "jira")
			if w := a.do(t, "POST", "/access-groups/dev/settings", form, false); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "was changed by root") {
				t.Errorf("stale save: %d %.400s", w.Code, w.Body)
			}
			// An unknown server is a problem next to the field (422).
			form = url.Values{"servers": {"nosuch"}, "loaded_revision": {"2"}, "preview_revision": {"2"}}
			w = a.do(t, "POST", "/access-groups/dev/settings", form, false)
			if w.Code != http.StatusUnprocessableEntity || !strings.Contains(text(parse(t, w), "error-servers"), `unknown server "nosuch"`) {
				t.Errorf("bad server: %d %.500s", w.Code, w.Body)
			}
			if _, r, _ := a.st.LoadDocument(context.Background()); r != 2 {
				t.Errorf("a refused save wrote revision %d", r)
			}
			// htmx 422: the panel with the problem.
			w = a.do(t, "POST", "/access-groups/dev/settings/preview", form, true)
			if w.Code != http.StatusUnprocessableEntity || text(parse(t, w), "preview-problems") == "" {
				t.Errorf("htmx bad preview: %d %s", w.Code, w.Body)
			}
		})
	}
}

func TestCreateToolsetAndGroup(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	if w := a.do(t, "GET", "/toolsets/new", nil, false); w.Code != http.StatusOK || parse(t, w).Find(`select[name="tools"] option[value="jira/search"]`).Length() != 1 {
		t.Fatalf("new toolset page: %d", w.Code)
	}
	w := a.do(t, "POST", "/toolsets", url.Values{"name": {"triage"}, "tools": {"jira/search", "github/create_issue"}, "loaded_revision": {"1"}}, false)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/toolsets/triage/settings" {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	doc, _, _ := a.st.LoadDocument(context.Background())
	if ts := doc.Toolset("triage"); ts == nil || len(ts.Tools) != 2 {
		t.Fatalf("stored %+v", ts)
	}
	// A name taken, an empty one, an unknown tool: 422 next to the field, nothing written.
	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"name": {"triage"}, "loaded_revision": {"2"}}, "error-name"},
		{url.Values{"name": {""}, "loaded_revision": {"2"}}, "error-name"},
		{url.Values{"name": {"x"}, "tools": {"jira/nosuch"}, "loaded_revision": {"2"}}, "error-tools"},
	} {
		w := a.do(t, "POST", "/toolsets", c.form, false)
		if w.Code != http.StatusUnprocessableEntity || text(parse(t, w), c.field) == "" {
			t.Errorf("%v: %d %.400s", c.form, w.Code, w.Body)
		}
	}
	// A name with markup renders as text.
	w = a.do(t, "POST", "/access-groups", url.Values{"name": {`<script>x</script>`}, "loaded_revision": {"2"}}, false)
	if w.Code != http.StatusUnprocessableEntity || strings.Contains(w.Body.String(), "<script>x") {
		t.Errorf("markup name: %d", w.Code)
	}
	if _, r, _ := a.st.LoadDocument(context.Background()); r != 2 {
		t.Errorf("revision %d after refused creates", r)
	}
}

func TestDeleteServer(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a := newApp(t, kind, policy)
			// The first post previews: references, who loses what, a name to type.
			w := a.do(t, "POST", "/servers/github/delete", url.Values{}, false)
			d := parse(t, w)
			if w.Code != http.StatusOK || d.Find(`[data-testid="confirm-name"]`).Length() != 1 {
				t.Fatalf("delete preview: %d %.500s", w.Code, w.Body)
			}
			refs := text(d, "delete-references")
			for _, want := range []string{"access group dev: server removed", "toolset read-only: 1 tool removed", "organization acme: 1 tool removed from deny_tools", "key deploy: server removed from its MCP access"} {
				if !strings.Contains(refs, want) {
					t.Errorf("references %q lack %q", refs, want)
				}
			}
			// A wrong name deletes nothing.
			form := url.Values{"confirm": {"1"}, "confirm_name": {"gitlab"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}
			w = a.do(t, "POST", "/servers/github/delete", form, false)
			if w.Code != http.StatusUnprocessableEntity || text(parse(t, w), "error-confirm_name") == "" {
				t.Errorf("wrong name: %d", w.Code)
			}
			if doc, _, _ := a.st.LoadDocument(context.Background()); doc.Server("github") == nil {
				t.Fatal("deleted with a wrong name")
			}
			form.Set("confirm_name", "github")
			w = a.do(t, "POST", "/servers/github/delete", form, false)
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/servers" {
				t.Fatalf("delete: %d %s", w.Code, w.Body)
			}
			doc, rev, _ := a.st.LoadDocument(context.Background())
			if doc.Server("github") != nil || rev != 2 || len(doc.AccessGroup("dev").Servers) != 1 || len(doc.Organization("acme").DenyTools) != 0 {
				t.Errorf("after delete at %d: %+v %+v", rev, doc.AccessGroup("dev"), doc.Organization("acme"))
			}
			if probs := doc.Validate(); len(probs) > 0 {
				t.Errorf("dangling references: %v", probs)
			}
			// One revision, one audit event for each entity changed.
			ev, _ := a.st.ListAuditEvents(context.Background(), store.AuditFilter{Limit: 20})
			n := 0
			for _, e := range ev {
				if e.Revision == 2 {
					n++
				}
			}
			if n < 4 {
				t.Errorf("%d audit events in the delete's revision", n)
			}
		})
	}
}

func TestDeleteWithoutLossNeedsNoName(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy+"\n")
	storetest.MustApply(t, a.st, storetest.MustLoad(t, strings.Replace(policy, "toolsets:\n", "toolsets:\n  - {name: unused, tools: [jira/search]}\n", 1)))
	if err := a.state.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := a.do(t, "POST", "/toolsets/unused/delete", url.Values{}, false)
	if w.Code != http.StatusOK || parse(t, w).Find(`[data-testid="confirm-name"]`).Length() != 0 {
		t.Fatalf("no-loss delete asks for the name: %d", w.Code)
	}
	w = a.do(t, "POST", "/toolsets/unused/delete", url.Values{"confirm": {"1"}, "loaded_revision": {"2"}, "preview_revision": {"2"}}, true)
	if w.Header().Get("HX-Redirect") != "/toolsets" {
		t.Errorf("htmx delete: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestServerSettings(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	w := a.do(t, "GET", "/servers/github/settings", nil, false)
	d := parse(t, w)
	if w.Code != http.StatusOK || d.Find(`select[name="disabled_tools"] option`).Length() != 3 || d.Find(`[data-testid="no-headers"]`).Length() != 1 {
		t.Fatalf("settings: %d %.300s", w.Code, w.Body)
	}
	// Disabling create_issue: platform's and the others' keys that have it lose it.
	form := url.Values{"url": {"https://github.example/mcp"}, "disabled_tools": {"create_issue"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}
	if got := text(parse(t, a.do(t, "POST", "/servers/github/settings/preview", form, true)), "preview-headline"); !strings.Contains(got, "lose access") {
		t.Errorf("headline %q", got)
	}
	if w := a.do(t, "POST", "/servers/github/settings", form, false); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	doc, _, _ := a.st.LoadDocument(context.Background())
	if s := doc.Server("github"); s.URL != "https://github.example/mcp" || len(s.DisabledTools) != 1 || len(s.Tools) != 3 {
		t.Errorf("stored %+v", s)
	}
	// Headers: stored sealed, the page shows their names and never their values.
	w = a.do(t, "POST", "/servers/github/headers", url.Values{"headers": {"Authorization: Bearer sekrit-value\nX-Team: a"}}, false)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("headers: %d %.400s", w.Code, w.Body)
	}
	page := a.do(t, "GET", "/servers/github/settings", nil, false).Body.String()
	if !strings.Contains(page, ">Authorization<") || strings.Contains(page, "sekrit") {
		t.Errorf("header names not shown, or a value shown")
	}
	if raw := storetest.QueryString(t, a.st, "SELECT auth_headers FROM servers WHERE name = 'github'"); strings.Contains(raw, "sekrit") {
		t.Errorf("header value stored in the clear: %s", raw)
	}
	// A line that is no header is refused next to the box.
	w = a.do(t, "POST", "/servers/github/headers", url.Values{"headers": {"no colon here"}}, false)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "line 1 is not Name: value") {
		t.Errorf("bad header line: %d", w.Code)
	}
}

func TestExportImport(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	w := a.do(t, "GET", "/export", nil, false)
	if w.Code != http.StatusOK || w.Header().Get("Content-Disposition") != `attachment; filename="warden-policy-1.yaml"` {
		t.Fatalf("export: %d %v", w.Code, w.Header())
	}
	exported := w.Body.String()
	if _, err := models.LoadDocument([]byte(exported)); err != nil {
		t.Fatalf("export does not load: %v", err)
	}
	if w := a.do(t, "GET", "/import", nil, false); w.Code != http.StatusOK {
		t.Fatalf("import page %d", w.Code)
	}
	// A document blocking globex: the preview says who loses, grouped by organization.
	changed := strings.Replace(exported, "- {name: globex}", "- {name: globex, blocked: true}", 1)
	if changed == exported {
		t.Fatalf("cannot edit the export:\n%s", exported)
	}
	w = upload(t, a, changed)
	d := parse(t, w)
	if w.Code != http.StatusOK || d.Find(`[data-testid="org-impact"][data-org="globex"]`).Length() != 1 {
		t.Fatalf("import preview: %d %.800s", w.Code, w.Body)
	}
	hash := d.Find(`input[name="document_hash"]`).AttrOr("value", "")
	// A document with problems: every problem with its path, nothing to apply.
	w = upload(t, a, "version: 1\nteams:\n  - {name: t, organization: nosuch}\n")
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(text(parse(t, w), "import-problems"), "teams[0].organization") {
		t.Errorf("bad document: %d %.500s", w.Code, w.Body)
	}
	// Applying another document than the one previewed is refused.
	w = a.do(t, "POST", "/import/apply", url.Values{"document": {exported}, "document_hash": {hash}, "base_revision": {"1"}}, false)
	if w.Code != http.StatusUnprocessableEntity {
		t.Errorf("tampered apply: %d", w.Code)
	}
	// The previewed one applies.
	w = a.do(t, "POST", "/import/apply", url.Values{"document": {changed}, "document_hash": {hash}, "base_revision": {"1"}}, false)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("apply: %d %s", w.Code, w.Body)
	}
	doc, rev, _ := a.st.LoadDocument(context.Background())
	if !doc.Organization("globex").Blocked || rev != 2 {
		t.Errorf("after import at %d: %+v", rev, doc.Organization("globex"))
	}
	// The same form again is stale: the policy moved since its preview (409, nothing written).
	w = a.do(t, "POST", "/import/apply", url.Values{"document": {exported}, "document_hash": {hashOf(t, exported)}, "base_revision": {"1"}}, false)
	if w.Code != http.StatusConflict {
		t.Errorf("stale apply: %d", w.Code)
	}
	if _, r, _ := a.st.LoadDocument(context.Background()); r != 2 {
		t.Errorf("stale apply wrote revision %d", r)
	}
}

func hashOf(t *testing.T, yaml string) string {
	doc, err := models.LoadDocument([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	_, sum, err := models.CanonicalDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestAuditFiltersEventAndRevert(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	// Revision 2: dev loses jira.
	if w := a.do(t, "POST", "/access-groups/dev/settings", url.Values{"servers": {"github"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}, false); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", w.Code)
	}
	ev, _ := a.st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindAccessGroup, Limit: 1})
	id := jsonNum(ev[0].ID)

	for q, want := range map[string]int{
		"kind=access_group": 2, "name=DE": 3, "name=nosuch": 0, "actor=root": -1, "actor=bob": 0,
		"from=2000-01-01": -1, "to=2000-01-01": 0,
	} {
		w := a.do(t, "GET", "/audit?"+q, nil, false)
		n := parse(t, w).Find(`[data-testid="audit-row"]`).Length()
		if w.Code != http.StatusOK || (want >= 0 && n != want) || (want < 0 && n == 0) {
			t.Errorf("audit?%s: %d rows (%d)", q, n, w.Code)
		}
	}
	if w := a.do(t, "GET", "/audit?from=yesterday", nil, false); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("bad date: %d", w.Code)
	}

	// The event: before, after, and the access change of its revision.
	w := a.do(t, "GET", "/audit/"+id, nil, false)
	d := parse(t, w)
	if w.Code != http.StatusOK || !strings.Contains(text(d, "event-diff"), `- "jira"`) || text(d, "preview-headline") != "the organization, 2 teams and 3 keys lose access" {
		t.Fatalf("event page: %d %s / %s", w.Code, text(d, "event-diff"), text(d, "preview-headline"))
	}
	if w := a.do(t, "GET", "/audit/999", nil, false); w.Code != http.StatusNotFound {
		t.Errorf("unknown event: %d", w.Code)
	}
	// Revert: the group's page with the before state drafted and previewed, nothing saved.
	w = a.do(t, "GET", "/audit/"+id+"/revert", nil, false)
	d = parse(t, w)
	if w.Code != http.StatusOK || d.Find(`select[name="servers"] option[value="jira"][selected]`).Length() != 1 || text(d, "preview-headline") != "the organization, 2 teams and 3 keys gain access" {
		t.Fatalf("revert: %d %s", w.Code, text(d, "preview-headline"))
	}
	if _, r, _ := a.st.LoadDocument(context.Background()); r != 2 {
		t.Errorf("revert wrote: revision %d", r)
	}
	// Saving the draft restores the group.
	form := url.Values{"servers": {"github", "jira"}, "loaded_revision": {"2"}, "preview_revision": {"2"}}
	if w := a.do(t, "POST", "/access-groups/dev/settings", form, false); w.Code != http.StatusSeeOther {
		t.Fatalf("save revert: %d", w.Code)
	}
	// An organization's update reverts in its settings page.
	if w := a.do(t, "POST", "/orgs/acme/settings", draft("3"), false); w.Code != http.StatusSeeOther {
		t.Fatalf("org save: %d", w.Code)
	}
	ev, _ = a.st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindOrganization, Limit: 1})
	w = a.do(t, "GET", "/audit/"+jsonNum(ev[0].ID)+"/revert", nil, false)
	d = parse(t, w)
	if w.Code != http.StatusOK || d.Find(`#access-groups option[value="dev"][selected]`).Length() != 1 || !strings.Contains(text(d, "form-notice"), "restores organization acme") {
		t.Errorf("org revert: %d %s", w.Code, text(d, "form-notice"))
	}
	// A team's update reverts in the team's settings page: the draft has the tool the change
	// denied back, and its preview says who regains it; nothing is written.
	rev, _ := a.st.Revision(context.Background())
	if _, err := a.st.ChangePrincipals(context.Background(), store.PrincipalChange{Kind: models.KindTeam, Name: "platform",
		Put:              models.Document{Teams: []models.TeamDoc{{Name: "platform", Organization: "acme", DenyTools: []string{"github/list_issues"}}}},
		SettingsRevision: rev, BaseRevision: rev, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := a.state.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := parse(t, a.do(t, "GET", "/teams/platform/settings", nil, false)); d.Find(`#deny-tools option[value="github/list_issues"][selected]`).Length() != 1 {
		t.Fatal("the team's settings do not show the denied tool")
	}
	ev, _ = a.st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindTeam, EntityName: "platform", Limit: 1})
	before, _ := a.st.Revision(context.Background())
	w = a.do(t, "GET", "/audit/"+jsonNum(ev[0].ID)+"/revert", nil, false)
	d = parse(t, w)
	if w.Code != http.StatusOK || !strings.Contains(text(d, "form-notice"), "restores team platform") ||
		d.Find(`#deny-tools option[value="github/list_issues"][selected]`).Length() != 0 || !strings.Contains(text(d, "preview-headline"), "gain access") {
		t.Errorf("team revert: %d notice %q headline %q", w.Code, text(d, "form-notice"), text(d, "preview-headline"))
	}
	if now, _ := a.st.Revision(context.Background()); now != before {
		t.Error("the team's revert wrote")
	}
}

func TestCatalogueListsFilterAndPage(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	for _, c := range []struct{ path, row, want string }{
		{"/servers?q=JI", "server-row", "jira"},
		{"/servers?q=nosuch", "server-row", ""},
		{"/access-groups?q=jira", "group-row", "dev"},
		{"/toolsets?q=list_issues", "toolset-row", "read-only"},
	} {
		for _, hx := range []bool{false, true} {
			w := a.do(t, "GET", c.path, nil, hx)
			body := w.Body.String()
			if hx {
				// The fragment is the table body and the status line, as the filter swaps them.
				if strings.Contains(body, "<html") || !strings.Contains(body, `hx-swap-oob="true"`) {
					t.Errorf("%s fragment: %.300s", c.path, body)
				}
				body = "<table>" + body + "</table>"
			}
			d, _ := goquery.NewDocumentFromReader(strings.NewReader(body))
			got := strings.Join(d.Find(`[data-testid="`+c.row+`"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-name", "") }), ",")
			if w.Code != http.StatusOK || got != c.want {
				t.Errorf("%s (htmx %v): %d rows %q, want %q", c.path, hx, w.Code, got, c.want)
			}
		}
	}
	// An empty list says what to do next.
	if w := a.do(t, "GET", "/servers?q=nosuch", nil, false); !strings.Contains(w.Body.String(), `No servers matching “nosuch”`) {
		t.Errorf("empty filtered list: %.2000s", w.Body)
	}
}

func TestCatalogueStaleNoteAndRevertOfADeletion(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	// Someone else changes dev after this form loaded it: the preview says so.
	if w := a.do(t, "POST", "/access-groups/dev/settings", url.Values{"servers": {"github"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}, false); w.Code != http.StatusSeeOther {
		t.Fatal(w.Code)
	}
	w := a.do(t, "POST", "/access-groups/dev/settings/preview", url.Values{"servers": {"jira"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}, true)
	if note := text(parse(t, w), "stale-note"); !strings.Contains(note, "dev was changed by root") {
		t.Errorf("stale note %q", note)
	}
	// Deleting read-only, then reverting it: the creation page comes back filled in.
	if w := a.do(t, "POST", "/toolsets/read-only/delete", url.Values{"confirm": {"1"}, "confirm_name": {"read-only"}, "loaded_revision": {"2"}, "preview_revision": {"2"}}, false); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	ev, _ := a.st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindToolset, EntityName: "read-only", Limit: 1})
	w = a.do(t, "GET", "/audit/"+jsonNum(ev[0].ID)+"/revert", nil, false)
	d := parse(t, w)
	if w.Code != http.StatusOK || d.Find(`#name`).AttrOr("value", "") != "read-only" || d.Find(`#tools option[selected]`).Length() != 2 {
		t.Fatalf("revert of a deletion: %d %s", w.Code, text(d, "form-notice"))
	}
	if w := a.do(t, "POST", "/toolsets", url.Values{"name": {"read-only"}, "tools": {"github/list_issues", "jira/search"}, "loaded_revision": {"3"}}, false); w.Code != http.StatusSeeOther {
		t.Fatalf("re-create: %d %s", w.Code, w.Body)
	}
	// Reverting the re-creation is deleting it again: the delete page.
	ev, _ = a.st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindToolset, EntityName: "read-only", Limit: 1})
	if w := a.do(t, "GET", "/audit/"+jsonNum(ev[0].ID)+"/revert", nil, false); w.Code != http.StatusOK || parse(t, w).Find(`[data-testid="delete-form"]`).Length() != 1 {
		t.Errorf("revert of a creation: %d", w.Code)
	}
	// A secret's or a header's event has no revert.
	if err := a.st.SetServerAuthHeaders(context.Background(), "jira", map[string]string{"X-A": "b"}, "t"); err != nil {
		t.Fatal(err)
	}
	ev, _ = a.st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindServer, EntityName: "jira", Limit: 1})
	if w := a.do(t, "GET", "/audit/"+jsonNum(ev[0].ID)+"/revert", nil, false); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("revert of set_auth_headers: %d", w.Code)
	}
	if w := a.do(t, "GET", "/audit/"+jsonNum(ev[0].ID), nil, false); w.Code != http.StatusOK || strings.Contains(w.Body.String(), `data-testid="revert"`) {
		t.Errorf("header event page: %d", w.Code)
	}
}

func TestToolsetListPaged(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nservers:\n  - {name: s, tools: [t]}\ntoolsets:\n")
	for i := range 60 {
		b.WriteString("  - {name: set-" + jsonNum(int64(100+i)) + ", tools: [s/t]}\n")
	}
	a := newApp(t, store.KindSQLite, b.String())
	d := parse(t, a.do(t, "GET", "/toolsets", nil, false))
	if n := d.Find(`[data-testid="toolset-row"]`).Length(); n != 50 || !strings.Contains(text(d, "toolset-status"), "Toolsets 1–50 of 60") {
		t.Errorf("page 1: %d rows, %q", n, text(d, "toolset-status"))
	}
	d = parse(t, a.do(t, "GET", "/toolsets?page=2", nil, false))
	if n := d.Find(`[data-testid="toolset-row"]`).Length(); n != 10 || d.Find(`[data-testid="toolset-row"]`).First().AttrOr("data-name", "") != "set-150" {
		t.Errorf("page 2: %d rows", n)
	}
}

// A viewer previews the catalogue's changes but is offered no Save, Delete, Sync or headers.
func TestViewerSeesNoWriteControls(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	// The viewer's cookie comes first, so the admin one a.h adds to cookie-less requests is not added.
	viewer := &app{h: storetest.AsUser(a.h, storetest.Session(t, a.st, "vera", models.RoleViewer)), st: a.st, state: a.state}
	for _, path := range []string{"/servers/github/settings", "/access-groups/dev/settings", "/toolsets/read-only/settings", "/servers/github", "/servers"} {
		w := viewer.do(t, "GET", path, nil, false)
		d := parse(t, w)
		for _, id := range []string{"save", "delete", "sync", "headers", "new-server"} {
			if w.Code != http.StatusOK || d.Find(`[data-testid="`+id+`"]`).Length() != 0 {
				t.Errorf("%s as a viewer: %d, offers %s", path, w.Code, id)
			}
		}
	}
	w := viewer.do(t, "POST", "/access-groups/dev/settings/preview", url.Values{"servers": {"github"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}, true)
	if w.Code != http.StatusOK || text(parse(t, w), "preview-headline") == "" {
		t.Errorf("viewer preview: %d", w.Code)
	}
	if w := viewer.do(t, "POST", "/access-groups/dev/settings", url.Values{"servers": {"github"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}, false); w.Code != http.StatusForbidden {
		t.Errorf("viewer save: %d", w.Code)
	}
}

// A delete confirmed on a page older than the policy is refused (409) and shown again at the
// current revision, where confirming deletes.
func TestStaleDelete(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	if w := a.do(t, "POST", "/toolsets/read-only/settings", url.Values{"tools": {"jira/search"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}, false); w.Code != http.StatusSeeOther {
		t.Fatal(w.Code)
	}
	form := url.Values{"confirm": {"1"}, "confirm_name": {"read-only"}, "loaded_revision": {"1"}, "preview_revision": {"1"}}
	w := a.do(t, "POST", "/toolsets/read-only/delete", form, false)
	d := parse(t, w)
	if w.Code != http.StatusConflict || d.Find(`input[name="loaded_revision"]`).AttrOr("value", "") != "2" {
		t.Fatalf("stale delete: %d, form at %q", w.Code, d.Find(`input[name="loaded_revision"]`).AttrOr("value", ""))
	}
	form.Set("loaded_revision", "2")
	form.Set("preview_revision", "2")
	if w := a.do(t, "POST", "/toolsets/read-only/delete", form, false); w.Code != http.StatusSeeOther {
		t.Errorf("delete at the current revision: %d", w.Code)
	}
}
