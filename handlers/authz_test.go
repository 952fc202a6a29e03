package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

// An org_admin saves their organization's settings, but not another's, and may not block or
// unblock it (the admins' stop switch); a viewer previews and cannot save. The page shows each
// what they may do. Refusals are 403 and write nothing.
func TestOrgSettingsByRole(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st, storetest.MustLoad(t, policy))
	state := live.New(st, live.Options{})
	if err := state.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := web.New(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, Store: st, State: state})
	as := func(cookie *http.Cookie, method, path string, form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	olga := storetest.Session(t, st, "olga", models.RoleOrgAdmin, "acme")
	vera := storetest.Session(t, st, "vera", models.RoleViewer)
	ada := storetest.Admin(t, st)
	rev := func() string { r, _ := st.Revision(context.Background()); return strconv.FormatInt(r, 10) }
	form := func(extra ...string) url.Values {
		f := url.Values{"mode": {"limit"}, "toolsets": {"read-only"}, "loaded_revision": {rev()}, "preview_revision": {rev()}}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return f
	}

	if w := as(vera, "GET", "/orgs/acme/settings", nil); w.Code != 200 || strings.Contains(w.Body.String(), `data-testid="save"`) ||
		!strings.Contains(w.Body.String(), `data-testid="read-only-note"`) || strings.Contains(w.Body.String(), `name="blocked" value="1" data-testid`) {
		t.Errorf("a viewer's settings page offers Save or the blocked box: %d", w.Code)
	}
	if w := as(vera, "POST", "/orgs/acme/settings/preview", form()); w.Code != 200 {
		t.Errorf("a viewer previews: %d", w.Code)
	}
	before := rev()
	if w := as(vera, "POST", "/orgs/acme/settings", form()); w.Code != http.StatusForbidden || rev() != before {
		t.Errorf("a viewer saves: %d, revision %s→%s", w.Code, before, rev())
	}
	if w := as(olga, "POST", "/orgs/globex/settings", form()); w.Code != http.StatusForbidden || rev() != before {
		t.Errorf("acme's org_admin saves globex: %d, revision %s→%s", w.Code, before, rev())
	}
	if w := as(olga, "POST", "/orgs/acme/settings", form("blocked", "1")); w.Code != http.StatusForbidden || rev() != before ||
		!strings.Contains(w.Body.String(), "Only an admin can block") {
		t.Errorf("acme's org_admin blocks acme: %d, revision %s→%s", w.Code, before, rev())
	}
	if w := as(olga, "GET", "/orgs/acme/settings", nil); !strings.Contains(w.Body.String(), `data-testid="save"`) || !strings.Contains(w.Body.String(), `data-testid="blocked-readonly"`) {
		t.Error("acme's org_admin: Save missing, or the blocked box editable")
	}
	if w := as(olga, "POST", "/orgs/acme/settings", form()); w.Code != http.StatusSeeOther || rev() == before {
		t.Fatalf("acme's org_admin saves acme: %d\n%.400s", w.Code, w.Body.String())
	}
	events, _ := st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindOrganization, EntityName: "acme"})
	if len(events) == 0 || events[0].Actor != "olga" {
		t.Errorf("the save's actor: %+v", events)
	}
	before = rev()
	if w := as(ada, "POST", "/orgs/acme/settings", form("blocked", "1")); w.Code != http.StatusSeeOther || rev() == before {
		t.Fatalf("an admin blocks acme: %d", w.Code)
	}
	// Blocked now, acme's org_admin may still edit the rest, and keeps it blocked.
	before = rev()
	if w := as(olga, "POST", "/orgs/acme/settings", form("blocked", "1", "deny_tools", "github/delete_repo")); w.Code != http.StatusSeeOther || rev() == before {
		t.Fatalf("acme's org_admin edits blocked acme: %d\n%.400s", w.Code, w.Body.String())
	}
	if w := as(olga, "POST", "/orgs/acme/settings", form()); w.Code != http.StatusForbidden {
		t.Errorf("acme's org_admin unblocks acme: %d", w.Code)
	}
}

// The audit log shows sign-ins and account changes like any event, and never a way to revert
// them (they are not policy).
func TestAuditEventOfAUser(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	events, _ := a.st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindUser, Limit: 1})
	if len(events) != 1 || events[0].Action != "create_user" {
		t.Fatalf("user events %+v", events)
	}
	w := a.do(t, "GET", "/audit/"+strconv.FormatInt(events[0].ID, 10), nil, false)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "/revert") {
		t.Fatalf("a user's audit event: %d, revert offered %v", w.Code, strings.Contains(w.Body.String(), "/revert"))
	}
	if w := a.do(t, "GET", "/audit/"+strconv.FormatInt(events[0].ID, 10)+"/revert", nil, false); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("reverting a user's event: %d, want 422", w.Code)
	}
}

// An empty console says where organizations come from.
func TestOrgsEmptyState(t *testing.T) {
	a := newApp(t, store.KindSQLite, "version: 1\n")
	w := a.do(t, "GET", "/orgs", nil, false)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `data-testid="orgs-empty"`) || !strings.Contains(w.Body.String(), `href="/import"`) {
		t.Fatalf("empty /orgs: %d\n%.600s", w.Code, w.Body.String())
	}
}

// The users page adds a user with a role; an org_admin of an organization that does not exist,
// a short password or a doubled field is refused next to the form, writing nothing.
func TestUsersPage(t *testing.T) {
	a := newApp(t, store.KindSQLite, policy)
	create := func(form url.Values) *httptest.ResponseRecorder { return a.do(t, "POST", "/users", form, false) }
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"username": {"olga"}, "role": {"org_admin"}, "organizations": {"acme, initech"}, "password": {"a-long-password-1"}}, "organizations: unknown organization initech"},
		{url.Values{"username": {"olga"}, "role": {"org_admin"}, "organizations": {"acme"}, "password": {"short"}}, "password: the password must have at least 12 characters"},
		{url.Values{"username": {"olga"}, "role": {"org_admin", "admin"}, "organizations": {"acme"}, "password": {"a-long-password-1"}}, "role: given 2 times"},
		{url.Values{"username": {"olga"}, "role": {"root"}, "password": {"a-long-password-1"}}, `role: unknown role "root"`},
	} {
		w := create(tc.form)
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(text(parse(t, w), "form-message"), tc.want) {
			t.Errorf("%v: %d %q, want 422 %q", tc.form, w.Code, text(parse(t, w), "form-message"), tc.want)
		}
	}
	if _, err := a.st.UserByName(context.Background(), "olga"); models.ErrorCode(err) != models.ENotFound {
		t.Fatalf("a refused form created the user: %v", err)
	}
	if w := create(url.Values{"username": {"olga"}, "role": {"org_admin"}, "organizations": {"acme"}, "password": {"a-long-password-1"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", w.Code, text(parse(t, w), "form-message"))
	}
	u, err := a.st.UserByName(context.Background(), "olga")
	if err != nil || u.Role != models.RoleOrgAdmin || len(u.Orgs) != 1 || u.Orgs[0] != "acme" || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("created %+v %v", u, err)
	}
	if w := a.do(t, "POST", "/users/root/delete", nil, false); w.Code != http.StatusForbidden {
		t.Errorf("an admin deleting themselves: %d", w.Code)
	}
	if w := a.do(t, "POST", "/users/olga/delete", nil, false); w.Code != http.StatusSeeOther {
		t.Errorf("delete: %d", w.Code)
	}
}

// A principal's settings page offers Save and Delete to those who may write it, and to others
// the preview with a note: the same rule the writes are held to.
func TestPrincipalPagesByRole(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st, storetest.MustLoad(t, policy+"agents:\n  - {name: helper}\n"))
	state := live.New(st, live.Options{})
	if err := state.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := web.New(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, Store: st, State: state})
	page := func(cookie *http.Cookie, path string) string {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, w.Code)
		}
		return w.Body.String()
	}
	olga := storetest.Session(t, st, "olga", models.RoleOrgAdmin, "acme")
	gus := storetest.Session(t, st, "gus", models.RoleOrgAdmin, "globex")
	vera := storetest.Session(t, st, "vera", models.RoleViewer)
	for _, tc := range []struct {
		who    string
		cookie *http.Cookie
		path   string
		save   bool
	}{
		{"acme's org_admin", olga, "/teams/platform/settings", true},
		{"acme's org_admin", olga, "/keys/ci-bot/settings", true},
		{"globex's org_admin", gus, "/teams/platform/settings", false},
		{"a viewer", vera, "/keys/ci-bot/settings", false},
		{"acme's org_admin", olga, "/agents/helper/settings", false},
	} {
		if tc.path == "/keys/ci-bot/settings" {
			// The key's own page: rotating, revoking and deleting it follow the same rule.
			if got := strings.Contains(page(tc.cookie, "/keys/ci-bot"), `data-testid="rotate"`); got != tc.save {
				t.Errorf("%s on /keys/ci-bot: Rotate offered %v, want %v", tc.who, got, tc.save)
			}
		}
		body := page(tc.cookie, tc.path)
		if got := strings.Contains(body, `data-testid="save"`); got != tc.save || strings.Contains(body, `data-testid="delete-link"`) != tc.save ||
			strings.Contains(body, `data-testid="read-only-note"`) == tc.save {
			t.Errorf("%s on %s: Save offered %v, want %v", tc.who, tc.path, got, tc.save)
		}
	}
}
