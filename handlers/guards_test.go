package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func TestGuardsList(t *testing.T) {
	a := newApp(t, store.KindSQLite, guarded)
	d := parse(t, a.do(t, "GET", "/guards", nil, false))
	if n := d.Find(`[data-testid="guard"]`).Length(); n != 3 {
		t.Fatalf("%d guards listed, want 3", n)
	}
	web := d.Find(`[data-testid="guard"][data-name="no-web-tickets"]`)
	if got := strings.Join(strings.Fields(web.Find(`[data-testid="guard-broken"] li`).Text()), " "); got != "key frontend jira/create_ticket" ||
		web.Find(`[data-testid="guard-broken"] strong`).First().Text() != "Broken now by 1 key" {
		t.Errorf("no-web-tickets: %q", got)
	}
	if got := strings.Join(strings.Fields(d.Find(`[data-name="few-issuers"] p`).First().Text()), " "); got != "at most 3 keys may call github/create_issue for every key" {
		t.Errorf("few-issuers rule: %q", got)
	}
	if d.Find(`[data-name="no-deletes"] [data-testid="guard-holds"]`).Length() != 1 || d.Find(`[data-testid="edit-guard"]`).Length() != 3 {
		t.Errorf("holding guard or admin controls missing")
	}
	req := httptest.NewRequest("GET", "/guards", nil)
	req.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	var got struct {
		Guards []struct {
			Guard      models.GuardDoc `json:"guard"`
			Violations []struct{ Name string }
		} `json:"guards"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got.Guards) != 3 || got.Guards[2].Guard.Name != "no-web-tickets" ||
		len(got.Guards[2].Violations) != 1 || got.Guards[2].Violations[0].Name != "frontend" {
		t.Errorf("JSON: %s", w.Body)
	}
}

func guardPost(since string, kv ...string) url.Values {
	f := url.Values{"since": {since}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// TestGuardsEdit: create, preview, edit, conflict and delete through the router, on both
// databases; each write reaches the store and the enforced view.
func TestGuardsEdit(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a := newApp(t, kind, policy)
			ctx := context.Background()
			r := rev(revisionOf(t, a.st))
			// The preview names who would break it now, and writes nothing.
			f := guardPost(r, "name", "few-issuers", "kind", "at_most", "tool", "github/create_issue", "at_most", "1", "teams", "platform web")
			d := parse(t, a.do(t, "POST", "/guards/preview", f, true))
			if got := text(d, "guard-preview-broken"); !strings.HasPrefix(got, "2 keys break it now.") || !strings.Contains(got, "key ci-bot github/create_issue") || !strings.Contains(got, "key deploy github/create_issue") {
				t.Errorf("preview: %q", got)
			}
			if got := rev(revisionOf(t, a.st)); got != r {
				t.Fatalf("a preview wrote: revision %s", got)
			}
			// Bad input: every problem with its field, 422, nothing written.
			bad := guardPost(r, "name", "Few", "kind", "at_most", "tool", "github/nope", "at_most", "-1", "keys", "ghost")
			w := a.do(t, "POST", "/guards/new", bad, false)
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("bad guard: %d", w.Code)
			}
			probs := parse(t, w).Find(`[data-testid="guard-problems"] li`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
			want := []string{
				`name: invalid guard name "Few": use lowercase letters, digits, - and _, starting with a letter or digit`,
				`tool: unknown tool "github/nope": not in the catalogue of server "github"`,
				"at_most: must be ≥ 0, got -1",
				`for.keys[0]: unknown key "ghost"`,
			}
			if strings.Join(probs, "\n") != strings.Join(want, "\n") {
				t.Errorf("problems:\n%s\nwant\n%s", strings.Join(probs, "\n"), strings.Join(want, "\n"))
			}
			if w := a.do(t, "POST", "/guards/new", guardPost(r, "name", "x", "kind", "at_most", "tool", "github/list_issues", "at_most", "two"), false); w.Code != 422 ||
				!strings.Contains(text(parse(t, w), "guard-problems"), `at_most: "two" is not a whole number`) {
				t.Errorf("at_most not a number: %d %s", w.Code, text(parse(t, w), "guard-problems"))
			}
			// Create: saved although broken, the flash says by how many.
			w = a.do(t, "POST", "/guards/new", f, false)
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/guards" {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
			v, _ := a.state.View()
			if g := v.Doc.Guard("few-issuers"); g == nil || *g.AtMost != 1 || len(g.For.Teams) != 2 {
				t.Fatalf("the enforced view after create: %+v", v.Doc.Guards)
			}
			created := rev(v.Revision)
			// The org preview now warns about the existing violation.
			pd := parse(t, a.do(t, "POST", "/orgs/acme/settings/preview", unrelated(created), true))
			if pd.Find(`[data-testid="guard-existing"][data-guard="few-issuers"]`).Length() != 1 {
				t.Errorf("org preview after the guard: %q", text(pd, "guards-preview"))
			}
			// Edit from the page's revision: rename and raise the limit.
			e := guardPost(created, "name", "max-issuers", "kind", "at_most", "tool", "github/create_issue", "at_most", "3", "original", "few-issuers")
			if w := a.do(t, "POST", "/guards/few-issuers", e, false); w.Code != http.StatusSeeOther {
				t.Fatalf("edit: %d %s", w.Code, w.Body)
			}
			doc, edited, _ := a.st.LoadDocument(ctx)
			if len(doc.Guards) != 1 || doc.Guards[0].Name != "max-issuers" || doc.Guards[0].For != nil {
				t.Fatalf("after edit: %+v", doc.Guards)
			}
			// A second edit made from the older page is refused (409), naming who changed it.
			stale := guardPost(created, "name", "max-issuers", "kind", "forbid", "forbid", "*/delete_*", "original", "max-issuers")
			w = a.do(t, "POST", "/guards/max-issuers", stale, false)
			if w.Code != http.StatusConflict || !strings.Contains(text(parse(t, w), "form-message"), "was changed by root at revision "+rev(edited)) {
				t.Errorf("stale edit: %d %q", w.Code, text(parse(t, w), "form-message"))
			}
			if w := a.do(t, "POST", "/guards/ghost", e, false); w.Code != http.StatusNotFound {
				t.Errorf("edit of an unknown guard: %d", w.Code)
			}
			// Delete.
			if w := a.do(t, "POST", "/guards/max-issuers/delete", url.Values{"since": {rev(edited)}}, false); w.Code != http.StatusSeeOther {
				t.Fatalf("delete: %d %s", w.Code, w.Body)
			}
			if doc, _, _ := a.st.LoadDocument(ctx); len(doc.Guards) != 0 {
				t.Fatalf("after delete: %+v", doc.Guards)
			}
		})
	}
}

// TestGuardsAdminOnly: a viewer may read and preview, and every write is 403 with nothing
// written.
func TestGuardsAdminOnly(t *testing.T) {
	a := newApp(t, store.KindSQLite, guarded)
	h := &handlers.Guards{Store: a.st, State: a.state}
	r := gin.New()
	r.Use(func(c *gin.Context) {
		handlers.SetIdentity(c, &models.Identity{Username: "val", Role: models.RoleViewer})
	})
	r.GET("/guards", h.List)
	r.POST("/guards/preview", h.Preview)
	r.POST("/guards/new", h.Create)
	r.POST("/guards/:guard", h.Update)
	r.POST("/guards/:guard/delete", h.Delete)
	before := revisionOf(t, a.st)
	form := guardPost(rev(before), "name", "x", "kind", "forbid", "forbid", "*/delete_*")
	serve := func(method, path string, f url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	if w := serve("GET", "/guards", nil); w.Code != 200 || strings.Contains(w.Body.String(), `data-testid="edit-guard"`) {
		t.Errorf("viewer list: %d, edit controls shown: %v", w.Code, strings.Contains(w.Body.String(), "edit-guard"))
	}
	if w := serve("POST", "/guards/preview", form); w.Code != 200 {
		t.Errorf("viewer preview: %d", w.Code)
	}
	for _, path := range []string{"/guards/new", "/guards/no-deletes", "/guards/no-deletes/delete"} {
		if w := serve("POST", path, form); w.Code != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", path, w.Code)
		}
	}
	if got := revisionOf(t, a.st); got != before {
		t.Errorf("a refused write wrote: revision %d→%d", before, got)
	}
}
