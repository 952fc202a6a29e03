package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// guarded is policy with three guards. Now: acme's keys ci-bot, deploy and billing-svc may call
// github/create_issue (3 keys: few-issuers holds); nobody may call github/delete_repo (acme
// denies it: no-deletes holds); frontend of team web may call jira/create_ticket, which
// no-web-tickets forbids: a violation that exists already.
const guarded = policy + `guards:
  - {name: no-deletes, description: Nobody deletes anything, forbid: ["*/delete_*"]}
  - {name: few-issuers, tool: github/create_issue, at_most: 3}
  - {name: no-web-tickets, forbid: [jira/create_ticket], for: {teams: [web]}}
`

func revisionOf(t *testing.T, st *store.Store) int64 {
	t.Helper()
	_, rev, err := st.LoadDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func rev(n int64) string { return strconv.FormatInt(n, 10) }

// doJSON posts a form asking for JSON.
func (a *app) doJSON(t *testing.T, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	return w
}

// withDeletes is acme's form without its deny_tools: its keys may then delete repositories.
func withDeletes(r string) url.Values {
	return url.Values{"mode": {"limit"}, "access_groups": {"dev"}, "loaded_revision": {r}, "preview_revision": {r}}
}

func TestPreviewGuardsJSON(t *testing.T) {
	a := newApp(t, store.KindSQLite, guarded)
	r := rev(revisionOf(t, a.st))
	req := withDeletes(r)
	w := a.doJSON(t, "/orgs/acme/settings/preview", req)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got struct {
		Guards []struct {
			Name       string `json:"name"`
			Violations []struct {
				Kind  string   `json:"kind"`
				Name  string   `json:"name"`
				Tools []string `json:"tools"`
			} `json:"violations"`
			Added []struct {
				Name string `json:"name"`
			} `json:"added"`
		} `json:"guards"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	summary := []string{}
	for _, g := range got.Guards {
		var vs, added []string
		for _, v := range g.Violations {
			vs = append(vs, v.Kind+" "+v.Name+" "+strings.Join(v.Tools, ","))
		}
		for _, v := range g.Added {
			added = append(added, v.Name)
		}
		summary = append(summary, g.Name+": "+strings.Join(vs, "; ")+" | added: "+strings.Join(added, ","))
	}
	want := []string{
		"few-issuers:  | added: ",
		"no-deletes: key billing-svc github/delete_repo; key ci-bot github/delete_repo; key deploy github/delete_repo | added: billing-svc,ci-bot,deploy",
		"no-web-tickets: key frontend jira/create_ticket | added: ",
	}
	if !reflect.DeepEqual(summary, want) {
		t.Errorf("guards in the preview JSON:\n%s\nwant\n%s\n%s", strings.Join(summary, "\n"), strings.Join(want, "\n"), w.Body)
	}
}

func TestPreviewGuardsPanel(t *testing.T) {
	a := newApp(t, store.KindSQLite, guarded)
	r := rev(revisionOf(t, a.st))
	d := parse(t, a.do(t, "POST", "/orgs/acme/settings/preview", withDeletes(r), true))
	if got := text(d, "guards-added"); !strings.HasPrefix(got, "Saving is refused: this draft breaks guard no-deletes.") ||
		!strings.Contains(got, "key billing-svc github/delete_repo") || !strings.Contains(got, "forbids */delete_* for every key") {
		t.Errorf("added violations: %q", got)
	}
	if got := text(d, "guards-existing"); !strings.Contains(got, "no-web-tickets") || !strings.Contains(got, "key frontend jira/create_ticket") {
		t.Errorf("existing violations: %q", got)
	}
	// The guards come first in the panel, before the impact.
	html, _ := d.Find(`[data-testid="preview-panel"]`).Html()
	if i, j := strings.Index(html, "guards-preview"), strings.Index(html, "preview-headline"); i < 0 || j < 0 || i > j {
		t.Errorf("guards at %d, headline at %d: the guards should come first", i, j)
	}
	// A draft that keeps every guard says so; this one (read-only) also ends frontend's violation.
	d = parse(t, a.do(t, "POST", "/orgs/acme/settings/preview", draft(r), true))
	if got := text(d, "guards-ok"); got != "This draft breaks no guard (3 checked)." || d.Find(`[data-testid="guards-existing"]`).Length() != 0 {
		t.Errorf("a draft keeping every guard: %q", text(d, "guards-preview"))
	}
	// One keeping frontend's violation warns about it without blocking.
	d = parse(t, a.do(t, "POST", "/orgs/acme/settings/preview", unrelated(r), true))
	if got := text(d, "guards-ok"); got != "This draft breaks no guard (3 checked) that is not broken already." ||
		d.Find(`[data-testid="guard-existing"]`).Length() != 1 || d.Find(`[data-testid="guards-added"]`).Length() != 0 {
		t.Errorf("a draft keeping an existing violation: %q", text(d, "guards-preview"))
	}
}

// unrelated denies jira/search to acme besides delete_repo: frontend keeps jira/create_ticket.
func unrelated(r string) url.Values {
	return url.Values{"mode": {"limit"}, "access_groups": {"dev"}, "deny_tools": {"github/delete_repo", "jira/search"},
		"loaded_revision": {r}, "preview_revision": {r}}
}

// TestSaveRefusedByGuard: a save adding a violation is 422 naming the guard and writes nothing;
// one that only keeps an existing violation saves.
func TestSaveRefusedByGuard(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a := newApp(t, kind, guarded)
			before := revisionOf(t, a.st)
			w := a.do(t, "POST", "/orgs/acme/settings", withDeletes(rev(before)), false)
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("save adding a violation: %d", w.Code)
			}
			d := parse(t, w)
			if got := text(d, "form-message"); got != "Nothing was saved: the draft breaks guard no-deletes." {
				t.Errorf("message %q", got)
			}
			if d.Find(`[data-testid="guard-added"][data-guard="no-deletes"]`).Length() != 1 {
				t.Errorf("the refused page does not show the violation")
			}
			doc, after, _ := a.st.LoadDocument(context.Background())
			if after != before || len(doc.Organization("acme").DenyTools) != 1 {
				t.Fatalf("a refused save wrote: revision %d→%d, %+v", before, after, doc.Organization("acme"))
			}
			// An unrelated edit (deny jira/search too) keeps frontend's existing violation and saves.
			if w := a.do(t, "POST", "/orgs/acme/settings", unrelated(rev(before)), false); w.Code != http.StatusSeeOther {
				t.Fatalf("an edit keeping an existing violation: %d %s", w.Code, w.Body)
			}
			if got := revisionOf(t, a.st); got != before+1 {
				t.Errorf("revision %d, want %d", got, before+1)
			}
		})
	}
}

// TestSaveGuardAddedAfterPreview: the guards are checked against the state at save time. A
// guard created after the preview (which showed nothing) still refuses the save; the view the
// console holds is refreshed for the check.
func TestSaveGuardAddedAfterPreview(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a := newApp(t, kind, policy)
			ctx := context.Background()
			r := revisionOf(t, a.st)
			// acme adds the public docs server: ci-bot and billing-svc may then call docs/lookup.
			form := url.Values{"mode": {"limit"}, "access_groups": {"dev"}, "servers": {"docs"}, "deny_tools": {"github/delete_repo"},
				"loaded_revision": {rev(r)}, "preview_revision": {rev(r)}}
			d := parse(t, a.do(t, "POST", "/orgs/acme/settings/preview", form, true))
			if d.Find(`[data-testid="guards-preview"]`).Length() != 0 {
				t.Fatalf("no guards yet, but the preview shows %q", text(d, "guards-preview"))
			}
			g := models.GuardDoc{Name: "no-docs", Forbid: []string{"docs/*"}, For: &models.GuardScope{Organizations: []string{"acme"}}}
			if _, err := a.st.SaveGuard(ctx, store.GuardSave{Guard: &g, Since: r, Actor: "sec"}); err != nil {
				t.Fatal(err)
			}
			w := a.do(t, "POST", "/orgs/acme/settings", form, false)
			if w.Code != http.StatusUnprocessableEntity || text(parse(t, w), "form-message") != "Nothing was saved: the draft breaks guard no-docs." {
				t.Fatalf("save after a guard appeared: %d %q", w.Code, text(parse(t, w), "form-message"))
			}
			doc, _, _ := a.st.LoadDocument(ctx)
			if len(doc.Organization("acme").MCP.Servers) != 0 {
				t.Fatalf("the refused save wrote acme: %+v", doc.Organization("acme").MCP)
			}
		})
	}
}

// A guard holds whatever level the draft edits: giving one more key github (create_issue, and
// delete_repo, which globex does not deny) through the key's own settings breaks few-issuers
// and no-deletes, as an organization's change would. The preview
// shows it, the save is refused with 422 and nothing is written.
func TestKeySaveRefusedByGuard(t *testing.T) {
	a := newApp(t, store.KindSQLite, guarded)
	before := revisionOf(t, a.st)
	form := url.Values{"team": {"other"}, "mode": {"limit"}, "servers": {"github"},
		"loaded_revision": {rev(before)}, "preview_revision": {rev(before)}}
	w := a.do(t, "POST", "/keys/globex-key/settings/preview", form, true)
	if !strings.Contains(w.Body.String(), `data-guard="few-issuers"`) {
		t.Fatalf("the key's preview does not show the violation: %d\n%.600s", w.Code, w.Body.String())
	}
	w = a.do(t, "POST", "/keys/globex-key/settings", form, false)
	d := parse(t, w)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(text(d, "form-message"), "Nothing was saved: the draft breaks guards few-issuers, no-deletes") {
		t.Fatalf("a key save adding a violation: %d %q", w.Code, text(d, "form-message"))
	}
	if after := revisionOf(t, a.st); after != before {
		t.Fatalf("a refused key save wrote: revision %d→%d", before, after)
	}
}

// A catalogue save is held to the guards too: making github public gives delete_repo to every
// key no level limits (globex's), which no-deletes forbids; 422, nothing written.
func TestServerSaveRefusedByGuard(t *testing.T) {
	a := newApp(t, store.KindSQLite, guarded)
	before := revisionOf(t, a.st)
	form := url.Values{"public": {"1"}, "loaded_revision": {rev(before)}, "preview_revision": {rev(before)}}
	w := a.do(t, "POST", "/servers/github/settings", form, false)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "no-deletes") {
		t.Fatalf("a server save adding a violation: %d\n%.800s", w.Code, w.Body.String())
	}
	if after := revisionOf(t, a.st); after != before {
		t.Fatalf("a refused server save wrote: revision %d→%d", before, after)
	}
}
