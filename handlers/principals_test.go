package handlers_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// formAt loads a page and returns its settings form's fields as the browser would post them.
func formAt(t *testing.T, a *app, path, form string) url.Values {
	t.Helper()
	w := a.do(t, "GET", path, nil, false)
	if w.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	f := fieldsOf(parse(t, w).Find("form#"+form), "")
	if f.Get("loaded_revision") == "" {
		t.Fatalf("GET %s: no loaded_revision in form %s", path, form)
	}
	return f
}

// current is the enforced document after the app's last refresh.
func current(t *testing.T, a *app) *models.Document {
	t.Helper()
	v, err := a.state.View()
	if err != nil {
		t.Fatal(err)
	}
	return v.Doc
}

func teamOf(d *models.Document, name string) *models.TeamDoc {
	for i := range d.Teams {
		if d.Teams[i].Name == name {
			return &d.Teams[i]
		}
	}
	return nil
}

func keyOf(d *models.Document, name string) *models.KeyDoc {
	for i := range d.Keys {
		if d.Keys[i].Name == name {
			return &d.Keys[i]
		}
	}
	return nil
}

func TestPrincipalSettingsPages(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy+"end_users:\n  - {name: alice}\nagents:\n  - {name: bot}\n")
	for _, path := range []string{"/teams/platform/settings", "/keys/deploy/settings", "/end-users/alice/settings", "/agents/bot/settings",
		"/teams/new", "/keys/new", "/end-users/new", "/agents/new", "/end-users", "/agents", "/teams/web/delete", "/keys/deploy"} {
		w := a.do(t, "GET", path, nil, false)
		if w.Code != 200 {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
			continue
		}
		d := parse(t, w)
		if strings.HasSuffix(path, "/settings") || strings.HasSuffix(path, "/new") {
			if d.Find(`form#principal-settings [data-testid="mode-none"]`).Length() != 1 || d.Find(`#preview-panel`).Length() != 1 {
				t.Errorf("%s: no MCP access controls or preview", path)
			}
			if !strings.Contains(d.Text(), "Inherit — this level adds no limit") || !strings.Contains(d.Text(), "Limit to the selection below") {
				t.Errorf("%s: the choices are not named by what they do", path)
			}
		}
	}
	// The choice lines say what the level would get under each.
	d := parse(t, a.do(t, "GET", "/keys/deploy/settings", nil, false))
	if got := text(d, "choice-inherit-now"); !strings.Contains(got, "With Inherit it would get") || !strings.Contains(got, "jira") {
		t.Errorf("inherit line: %q", got)
	}
	if got := text(d, "choice-limit-now"); !strings.Contains(got, "1 server") || !strings.Contains(got, "github") {
		t.Errorf("limit line: %q", got)
	}
	for _, path := range []string{"/teams/nope/settings", "/keys/nope/settings", "/end-users/nope/settings", "/agents/nope/delete"} {
		if w := a.do(t, "GET", path, nil, false); w.Code != 404 || !strings.Contains(w.Body.String(), "nope") {
			t.Errorf("GET %s: %d, want the 404 page naming it", path, w.Code)
		}
	}
}

func TestTeamMovePreviewAndSave(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	f := formAt(t, a, "/teams/platform/settings", "principal-settings")
	f.Set("organization", "globex")
	// htmx: the panel alone, with the team and its key, and the choice lines out of band.
	w := a.do(t, "POST", "/teams/platform/settings/preview", f, true)
	if w.Code != 200 {
		t.Fatalf("preview: %d %s", w.Code, w.Body)
	}
	d := parse(t, w)
	if d.Find("form").Length() != 0 || d.Find(`[data-testid="impact-row"][data-name="ci-bot"]`).Length() != 1 {
		t.Fatalf("htmx preview is not the panel listing the team's key: %s", w.Body)
	}
	if d.Find(`#choice-inherit-now[hx-swap-oob]`).Length() != 1 {
		t.Errorf("choice lines not swapped out of band")
	}
	// Plain post: the page. JSON: the resolver's diff.
	if w := a.do(t, "POST", "/teams/platform/settings/preview", f, false); w.Code != 200 || parse(t, w).Find("form#principal-settings").Length() != 1 {
		t.Errorf("plain preview: %d", w.Code)
	}
	req := httptest.NewRequest("POST", "/teams/platform/settings/preview", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	jw := httptest.NewRecorder()
	a.h.ServeHTTP(jw, req)
	var js struct {
		Revision   int64             `json:"revision"`
		Principals []json.RawMessage `json:"principals"`
		Summary    struct {
			KeysLosing int `json:"keys_losing"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(jw.Body.Bytes(), &js); err != nil || jw.Code != 200 || js.Revision == 0 || len(js.Principals) == 0 || js.Summary.KeysLosing != 1 {
		t.Fatalf("JSON preview: %d %s", jw.Code, jw.Body)
	}

	// Save: moved, with its audit event.
	w = a.do(t, "POST", "/teams/platform/settings", f, false)
	if w.Code != 303 {
		t.Fatalf("save: %d %s", w.Code, w.Body)
	}
	if tm := teamOf(current(t, a), "platform"); tm == nil || tm.Organization != "globex" {
		t.Fatalf("team after save: %+v", tm)
	}
	events, err := a.st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindTeam, EntityName: "platform"})
	if err != nil || len(events) != 2 || events[0].Action != "update" || !strings.Contains(events[0].Before, `"acme"`) || !strings.Contains(events[0].After, `"globex"`) || events[0].Actor != "root" || events[0].Summary == "" {
		t.Fatalf("audit: %+v %v", events, err)
	}

	// The same form again: its settings changed since it loaded them: 409 with the conflict.
	f.Set("organization", "acme")
	f.Add("deny_tools", "jira/search")
	w = a.do(t, "POST", "/teams/platform/settings", f, false)
	if w.Code != 409 || parse(t, w).Find(`[data-testid="conflict"]`).Length() != 1 {
		t.Fatalf("stale save: %d", w.Code)
	}
	// Apply my edits on top: a draft at the current revision, nothing saved.
	w = a.do(t, "POST", "/teams/platform/settings/rebase", f, false)
	if w.Code != 200 || teamOf(current(t, a), "platform").Organization != "globex" {
		t.Fatalf("rebase: %d", w.Code)
	}
	rf := fieldsOf(parse(t, w).Find("form#principal-settings"), "")
	if rf.Get("organization") != "globex" || rf.Get("deny_tools") != "jira/search" {
		t.Errorf("rebased draft lost the edit: %v", rf)
	}

	// Bad values: 422 with the problem next to its field; nothing saved.
	bad := formAt(t, a, "/teams/platform/settings", "principal-settings")
	bad.Set("organization", "nope")
	w = a.do(t, "POST", "/teams/platform/settings", bad, false)
	if w.Code != 422 || !strings.Contains(text(parse(t, w), "problem-organization"), `unknown organization "nope"`) {
		t.Fatalf("unknown organization: %d %s", w.Code, text(parse(t, w), "problem-organization"))
	}
	bad.Set("organization", "acme")
	bad.Set("mode", "bogus")
	if w := a.do(t, "POST", "/teams/platform/settings/preview", bad, true); w.Code != 422 || !strings.Contains(w.Body.String(), "mode") {
		t.Errorf("bad mode preview: %d", w.Code)
	}
	if teamOf(current(t, a), "platform").Organization != "globex" {
		t.Errorf("a refused save wrote")
	}
}

var secretRe = regexp.MustCompile(`wdn_[a-z2-7]{52}`)

// check asks the decision API about a key secret.
func check(t *testing.T, a *app, secret, server, tool string) bool {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"key": secret, "server": server, "tool": tool})
	req := httptest.NewRequest("POST", "/api/v1/check", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	var r struct {
		Allowed bool `json:"allowed"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("check: %d %s", w.Code, w.Body)
	}
	return r.Allowed
}

func TestKeyCreateRotateRevoke(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	f := formAt(t, a, "/keys/new?team=platform", "principal-settings")
	if f.Get("team") != "platform" {
		t.Fatalf("?team= not prefilled: %v", f)
	}
	f.Set("name", "laptop")
	f.Set("expires_at", "2999-01-01T00:00:00Z")
	w := a.do(t, "POST", "/keys", f, false)
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %q %s", w.Code, w.Header().Get("Cache-Control"), w.Body)
	}
	secrets := secretRe.FindAllString(w.Body.String(), -1)
	if len(secrets) == 0 {
		t.Fatalf("no secret shown: %s", w.Body)
	}
	secret := secrets[0]
	d := parse(t, w)
	if !strings.Contains(text(d, "snippet-claude"), "claude mcp add --transport http warden http://example.com/mcp --header \"Authorization: Bearer "+secret+"\"") ||
		!strings.Contains(text(d, "snippet-claude"), "/mcp/github") || !strings.Contains(text(d, "snippet-cursor"), "mcpServers") ||
		!strings.Contains(text(d, "snippet-vscode"), `"type": "http"`) || !strings.Contains(text(d, "snippet-inspector"), "inspector") {
		t.Errorf("snippets: %s", d.Find(".copy-block").Text())
	}
	if k := keyOf(current(t, a), "laptop"); k == nil || k.Team != "platform" || k.ExpiresAt != "2999-01-01T00:00:00Z" {
		t.Fatalf("key: %+v", k)
	}
	if !check(t, a, secret, "github", "create_issue") {
		t.Fatal("the new secret is refused")
	}
	// Shown once: the key page has no secret, only its prefix and placeholders.
	page := a.do(t, "GET", "/keys/laptop", nil, false).Body.String()
	if strings.Contains(page, secret) || !strings.Contains(page, secret[:10]) || !strings.Contains(page, "$WARDEN_KEY") {
		t.Errorf("key page shows the secret or no prefix")
	}
	// Rotate: the old secret stops at once.
	w = a.do(t, "POST", "/keys/laptop/secret", url.Values{}, false)
	fresh := secretRe.FindString(w.Body.String())
	if w.Code != 200 || fresh == "" || fresh == secret {
		t.Fatalf("rotate: %d", w.Code)
	}
	if check(t, a, secret, "github", "create_issue") || !check(t, a, fresh, "github", "create_issue") {
		t.Fatal("after rotating, the old secret works or the new one does not")
	}
	// Revoke.
	if w := a.do(t, "POST", "/keys/laptop/revoke", url.Values{}, false); w.Code != 303 {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if check(t, a, fresh, "github", "create_issue") {
		t.Fatal("a revoked secret works")
	}
	if w := a.do(t, "POST", "/keys/laptop/revoke", url.Values{}, false); w.Code != 422 {
		t.Errorf("revoking twice: %d", w.Code)
	}
	// A taken name: 422 next to the field.
	f.Set("loaded_revision", f.Get("loaded_revision"))
	w = a.do(t, "POST", "/keys", f, false)
	if w.Code != 422 || !strings.Contains(text(parse(t, w), "problem-name"), "already exists") {
		t.Errorf("duplicate key: %d", w.Code)
	}
	if w := a.do(t, "POST", "/keys/nope/secret", url.Values{}, false); w.Code != 404 {
		t.Errorf("rotate unknown: %d", w.Code)
	}
}

func TestSettingsRemovePrefill(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	w := a.do(t, "GET", "/keys/deploy/settings?remove=github/create_issue&remove=github/list_issues", nil, false)
	d := parse(t, w)
	f := fieldsOf(d.Find("form#principal-settings"), "")
	if w.Code != 200 || len(f["deny_tools"]) != 2 || text(d, "form-notice") == "" {
		t.Fatalf("prefill: %d %v", w.Code, f["deny_tools"])
	}
	if d.Find(`[data-testid="impact-row"][data-name="deploy"]`).Length() != 1 {
		t.Errorf("the prefilled draft is not previewed")
	}
	if k := keyOf(current(t, a), "deploy"); len(k.DenyTools) != 0 {
		t.Errorf("prefill saved: %v", k.DenyTools)
	}
}

func TestDeleteTeamWithKeys(t *testing.T) {
	for _, then := range []string{"move", "delete"} {
		t.Run(then, func(t *testing.T) {
			a := newApp(t, store.KindSQLite, policy)
			w := a.do(t, "GET", "/teams/web/delete", nil, false)
			d := parse(t, w)
			if d.Find(`[data-testid="dependants"]`).Length() != 1 || d.Find(`[data-testid="confirm"]`).Length() != 1 {
				t.Fatalf("delete page: no dependants or no confirmation: %s", w.Body)
			}
			f := fieldsOf(d.Find("form#delete-form"), "")
			f.Set("then", then)
			// htmx preview of the choice.
			if w := a.do(t, "POST", "/teams/web/delete?preview=1", f, true); w.Code != 200 || parse(t, w).Find("#preview-panel").Length() != 1 {
				t.Errorf("delete preview: %d", w.Code)
			}
			f.Set("confirm", "wrong")
			if w := a.do(t, "POST", "/teams/web/delete", f, false); w.Code != 422 || teamOf(current(t, a), "web") == nil {
				t.Fatalf("wrong confirmation: %d", w.Code)
			}
			f.Set("confirm", "web")
			if w := a.do(t, "POST", "/teams/web/delete", f, false); w.Code != 303 {
				t.Fatalf("delete: %d %s", w.Code, w.Body)
			}
			doc := current(t, a)
			k := keyOf(doc, "frontend")
			switch {
			case teamOf(doc, "web") != nil:
				t.Fatal("team still there")
			case then == "move" && (k == nil || k.Team != "" || k.Organization != "acme"):
				t.Fatalf("key not moved to the organization: %+v", k)
			case then == "delete" && k != nil:
				t.Fatalf("key not deleted: %+v", k)
			}
		})
	}
}

func TestEndUsersAndAgents(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	for _, kind := range []string{"end-users", "agents"} {
		w := a.do(t, "GET", "/"+kind, nil, false)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "warden import") {
			t.Errorf("empty %s list: %d", kind, w.Code)
		}
		f := formAt(t, a, "/"+kind+"/new", "principal-settings")
		f.Set("name", "x-1")
		f.Set("mode", "limit")
		f.Set("servers", "jira")
		if w := a.do(t, "POST", "/"+kind, f, false); w.Code != 303 {
			t.Fatalf("create %s: %d %s", kind, w.Code, w.Body)
		}
		w = a.do(t, "GET", "/"+kind+"?q=x-", nil, true)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `data-testid="principal-row" data-name="x-1"`) || strings.Contains(w.Body.String(), "<html") {
			t.Errorf("%s list: %d %s", kind, w.Code, w.Body)
		}
	}
	// Bind a key to the agent: the agent's page lists it, its preview shows the key.
	f := formAt(t, a, "/keys/deploy/settings", "principal-settings")
	f.Set("agent", "x-1")
	if w := a.do(t, "POST", "/keys/deploy/settings", f, false); w.Code != 303 {
		t.Fatalf("bind: %d %s", w.Code, w.Body)
	}
	af := formAt(t, a, "/agents/x-1/settings", "principal-settings")
	af.Set("mode", "none")
	w := a.do(t, "POST", "/agents/x-1/settings/preview", af, true)
	if parse(t, w).Find(`[data-testid="impact-row"][data-name="deploy"]`).Length() != 1 {
		t.Errorf("agent preview does not show the bound key: %s", w.Body)
	}
	if d := parse(t, a.do(t, "GET", "/agents/x-1/settings", nil, false)); !strings.Contains(text(d, "bound-keys"), "deploy") {
		t.Errorf("bound keys not listed")
	}
	// Delete the agent: its bound key is unbound, not left dangling.
	df := fieldsOf(parse(t, a.do(t, "GET", "/agents/x-1/delete", nil, false)).Find("form#delete-form"), "")
	df.Set("confirm", "x-1")
	if w := a.do(t, "POST", "/agents/x-1/delete", df, false); w.Code != 303 {
		t.Fatalf("delete agent: %d %s", w.Code, w.Body)
	}
	if k := keyOf(current(t, a), "deploy"); k == nil || k.Agent != "" {
		t.Fatalf("bound key after deleting the agent: %+v", k)
	}
}

func TestPrincipalsPostgres(t *testing.T) {
	a := newApp(t, store.KindPostgres, policy)
	f := formAt(t, a, "/teams/platform/settings", "principal-settings")
	f.Add("deny_tools", "jira/search")
	if w := a.do(t, "POST", "/teams/platform/settings", f, false); w.Code != 303 {
		t.Fatalf("save on Postgres: %d %s", w.Code, w.Body)
	}
	if tm := teamOf(current(t, a), "platform"); len(tm.DenyTools) != 1 {
		t.Fatalf("team: %+v", tm)
	}
}

func TestPrincipalPagesEscapeAndEmpty(t *testing.T) {
	a := newApp(t, store.KindSQLite, "version: 1\nservers:\n  - {name: docs, public: true, tools: [lookup]}\n")
	for _, path := range []string{"/teams", "/keys", "/end-users", "/agents"} {
		d := parse(t, a.do(t, "GET", path, nil, false))
		if got := text(d, "empty-start"); !strings.Contains(got, "Create one") || !strings.Contains(got, "warden import") {
			t.Errorf("%s empty state: %q", path, got)
		}
	}
	// A hostile value in the URL renders as text.
	w := a.do(t, "GET", "/keys/new?team=%3Cscript%3Ealert(1)%3C/script%3E%22", nil, false)
	if w.Code != 200 || strings.Contains(w.Body.String(), "<script>alert") || !strings.Contains(w.Body.String(), "&lt;script&gt;alert(1)") {
		t.Errorf("the team parameter is not escaped: %d", w.Code)
	}
	f := formAt(t, a, "/keys/new", "principal-settings")
	f.Set("name", `<script>"x"`)
	w = a.do(t, "POST", "/keys", f, false)
	if w.Code != 422 || strings.Contains(w.Body.String(), `<script>"x"`) || !strings.Contains(text(parse(t, w), "problem-name"), "invalid key name") {
		t.Errorf("a hostile name: %d %s", w.Code, text(parse(t, w), "problem-name"))
	}
}

// The organization page names its choices by what they do, and Why? marks the lines that change.
func TestOrgPageSaysWhatSettingsDo(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	d := parse(t, a.do(t, "GET", "/orgs/acme/settings", nil, false))
	if !strings.Contains(d.Text(), "Inherit — this level adds no limit") || !strings.Contains(text(d, "choice-inherit-now"), "docs") {
		t.Errorf("org choices: %q", text(d, "choice-inherit-now"))
	}
	f := draft("1")
	f.Set("kind", "key")
	f.Set("name", "deploy")
	w := a.do(t, "POST", "/orgs/acme/settings/why", f, true)
	wd := parse(t, w)
	if wd.Find(`[data-testid="why-after"] .line.changed.added`).Length() == 0 || wd.Find(`[data-testid="why-before"] .line.changed.removed`).Length() == 0 {
		t.Errorf("Why? marks no changed line: %s", w.Body)
	}
	// Unchanged lines are not marked.
	if wd.Find(`[data-testid="why-after"] .line:not(.changed)`).Length() == 0 {
		t.Errorf("every line is marked changed")
	}
}

// An org_admin writes the teams and keys of their organization, and not a move out of it, nor
// what belongs to no organization; a refused write writes nothing.
func TestPrincipalsAuthorization(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	olga := storetest.Session(t, a.st, "olga", models.RoleOrgAdmin, "acme")
	as := func(method, path string, f url.Values) int {
		req := httptest.NewRequest(method, path, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(olga)
		w := httptest.NewRecorder()
		a.h.ServeHTTP(w, req)
		return w.Code
	}
	f := formAt(t, a, "/teams/platform/settings", "principal-settings")
	f.Add("deny_tools", "jira/search")
	if code := as("POST", "/teams/platform/settings", f); code != 303 {
		t.Fatalf("org_admin of acme saving an acme team: %d", code)
	}
	rev, _ := a.st.Revision(context.Background())
	f = formAt(t, a, "/teams/platform/settings", "principal-settings")
	f.Set("organization", "globex")
	if code := as("POST", "/teams/platform/settings", f); code != 403 {
		t.Errorf("org_admin of acme moving a team to globex: %d", code)
	}
	if code := as("POST", "/teams/other/settings", formAt(t, a, "/teams/other/settings", "principal-settings")); code != 403 {
		t.Errorf("org_admin of acme saving a globex team: %d", code)
	}
	nf := formAt(t, a, "/teams/new", "principal-settings")
	nf.Set("name", "loose")
	if code := as("POST", "/teams", nf); code != 403 {
		t.Errorf("org_admin creating a team in no organization: %d", code)
	}
	if code := as("POST", "/keys/globex-key/secret", url.Values{}); code != 403 {
		t.Errorf("org_admin of acme rotating a globex key: %d", code)
	}
	if now, _ := a.st.Revision(context.Background()); now != rev {
		t.Errorf("refused writes wrote: revision %d → %d", rev, now)
	}
}
