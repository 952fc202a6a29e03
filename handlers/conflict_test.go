package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

// demoApp serves the console over the demo policy, where acme reaches slack/post_message.
func demoApp(t *testing.T, kind string) *app {
	t.Helper()
	st := storetest.Open(t, kind)
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustApply(t, st, doc)
	state := live.New(st, live.Options{})
	if err := state.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &app{h: storetest.AsUser(web.New(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, Store: st, State: state}), storetest.Admin(t, st)), st: st, state: state}
}

// tab is one browser tab on acme's settings page: the form's fields as a browser would post
// them, kept up to date the way htmx does when it swaps a preview panel in.
type tab struct {
	t    *testing.T
	a    *app
	org  string
	page *goquery.Document
	// outside holds the form's fields outside the preview panel; panel those inside it.
	outside, panel url.Values
}

func openTab(t *testing.T, a *app, org string) *tab {
	t.Helper()
	w := a.do(t, "GET", "/orgs/"+org+"/settings", nil, false)
	if w.Code != http.StatusOK {
		t.Fatalf("open %s settings: %d %s", org, w.Code, w.Body)
	}
	tb := &tab{t: t, a: a, org: org}
	tb.load(w)
	return tb
}

// load takes a whole page as the tab's new content.
func (tb *tab) load(w *httptest.ResponseRecorder) {
	tb.t.Helper()
	tb.page = parse(tb.t, w)
	form := tb.page.Find("form#org-settings")
	if form.Length() != 1 {
		tb.t.Fatalf("no settings form in the page (%d):\n%.500s", w.Code, w.Body)
	}
	tb.outside = fieldsOf(form, "#preview-panel")
	tb.panel = fieldsOf(form.Find("#preview-panel"), "")
}

// form is what the browser would post now.
func (tb *tab) form() url.Values {
	f := url.Values{}
	for _, part := range []url.Values{tb.outside, tb.panel} {
		for k, v := range part {
			f[k] = append(f[k], v...)
		}
	}
	return f
}

// add selects one more value of a multi-valued field.
func (tb *tab) add(name, value string) { tb.outside[name] = append(tb.outside[name], value) }

// preview is the live preview after a change: htmx posts the form and swaps the panel in.
func (tb *tab) preview() *goquery.Document {
	tb.t.Helper()
	w := tb.a.do(tb.t, "POST", "/orgs/"+tb.org+"/settings/preview", tb.form(), true)
	if w.Code != http.StatusOK {
		tb.t.Fatalf("preview: %d %s", w.Code, w.Body)
	}
	d := parse(tb.t, w)
	tb.panel = fieldsOf(d.Find("#preview-panel"), "")
	return d
}

// submit posts the form to action (a path under the org's settings; "" for Save), as a plain
// form post, and loads the answer when it is a page.
func (tb *tab) submit(action string) *httptest.ResponseRecorder {
	tb.t.Helper()
	path := "/orgs/" + tb.org + "/settings" + action
	w := tb.a.do(tb.t, "POST", path, tb.form(), false)
	if w.Code != http.StatusSeeOther {
		tb.load(w)
	}
	return w
}

// fieldsOf collects the values a browser submits for the controls under s, leaving out those
// under skip and those in a disabled fieldset.
func fieldsOf(s *goquery.Selection, skip string) url.Values {
	f := url.Values{}
	s.Find("input[name], select[name]").Each(func(_ int, c *goquery.Selection) {
		if skip != "" && c.Closest(skip).Length() > 0 {
			return
		}
		if c.Closest("fieldset[disabled]").Length() > 0 {
			return
		}
		name := c.AttrOr("name", "")
		if c.Is("select") {
			c.Find("option[selected]").Each(func(_ int, o *goquery.Selection) {
				f.Add(name, o.AttrOr("value", o.Text()))
			})
			return
		}
		switch c.AttrOr("type", "text") {
		case "checkbox", "radio":
			if _, on := c.Attr("checked"); !on {
				return
			}
			f.Add(name, c.AttrOr("value", "on"))
		case "submit", "button":
		default:
			f.Add(name, c.AttrOr("value", ""))
		}
	})
	return f
}

func storedAcme(t *testing.T, st *store.Store) (models.OrganizationDoc, int64) {
	t.Helper()
	doc, rev, err := st.LoadDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return *doc.Organization("acme"), rev
}

func has(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// Finding 4: admin B's page was loaded before admin A's save; B's live preview must not make
// B's Save overwrite A's change, and nothing B does short of re-basing may revert it.
func TestSaveAfterAnotherAdminsSave(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a := demoApp(t, kind)
			A, B := openTab(t, a, "acme"), openTab(t, a, "acme")

			A.add("deny_tools", "slack/post_message")
			if w := A.submit(""); w.Code != http.StatusSeeOther {
				t.Fatalf("A's save: %d %s", w.Code, w.Body)
			}
			afterA, revA := storedAcme(t, a.st)
			if !has(afterA.DenyTools, "slack/post_message") {
				t.Fatalf("A's deny was not stored: %v", afterA.DenyTools)
			}

			// B adds a toolset; the live preview runs, and swaps its panel in.
			B.add("toolsets", "release")
			B.preview()
			w := B.submit("")
			if w.Code != http.StatusConflict {
				t.Fatalf("B's save over A's: %d, want 409", w.Code)
			}
			if got, rev := storedAcme(t, a.st); rev != revA || !has(got.DenyTools, "slack/post_message") {
				t.Fatalf("B's stale save wrote (revision %d, was %d): deny %v", rev, revA, got.DenyTools)
			}

			// Save again, from the page the 409 showed and with the very same stale form: still
			// refused, A's deny still stored.
			for i := 0; i < 2; i++ {
				if w := B.submit(""); w.Code != http.StatusConflict {
					t.Fatalf("save again (%d): %d, want 409", i+1, w.Code)
				}
			}
			if got, rev := storedAcme(t, a.st); rev != revA || !has(got.DenyTools, "slack/post_message") {
				t.Fatalf("save again reverted A's change (revision %d): deny %v", rev, got.DenyTools)
			}
		})
	}
}

// After a 409 for a change of acme's settings, the page says who changed what and when, beside
// the draft; "Apply my edits on top" re-applies B's edits onto the current settings without
// saving, and only the next Save stores both changes.
func TestApplyMyEditsOnTop(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a := demoApp(t, kind)
			A, B := openTab(t, a, "acme"), openTab(t, a, "acme")
			A.add("deny_tools", "slack/post_message")
			if w := A.submit(""); w.Code != http.StatusSeeOther {
				t.Fatalf("A's save: %d %s", w.Code, w.Body)
			}
			_, revA := storedAcme(t, a.st)

			// B's live preview says the page is older than the stored settings, before B saves.
			B.add("toolsets", "release")
			prev := B.preview()
			if got := text(prev, "stale-note"); !strings.Contains(got, "acme was changed by root at ") || !strings.Contains(got, " UTC after you opened this page") {
				t.Errorf("stale note %q", got)
			}
			if w := B.submit(""); w.Code != http.StatusConflict {
				t.Fatalf("B's save: %d, want 409", w.Code)
			}
			d := B.page
			if got := text(d, "change-actor"); got != "root" {
				t.Errorf("who changed acme: %q", got)
			}
			if got := text(d, "change-delta"); got != "denied tools: + slack/post_message" {
				t.Errorf("what A changed: %q", got)
			}
			if got := d.Find(`[data-testid=conflict-change] time`).AttrOr("datetime", ""); got == "" {
				t.Error("no time on A's change")
			}
			if got := text(d, "mine-delta"); got != "toolsets: + release" {
				t.Errorf("B's edits: %q", got)
			}
			if d.Find(`[data-testid=conflict] a[data-testid=start-over][href="/orgs/acme/settings"]`).Length() != 1 {
				t.Error("no Start from the current settings")
			}
			apply := d.Find(`[data-testid=conflict] [data-testid=apply-mine]`)
			if apply.AttrOr("formaction", "") != "/orgs/acme/settings/rebase" || apply.AttrOr("form", "") != "org-settings" {
				t.Fatalf("Apply my edits on top: %v", apply.Nodes)
			}

			// Apply my edits on top: nothing saved, the form now holds both changes at the
			// current revision, with a fresh preview of B's edit alone.
			if w := B.submit("/rebase"); w.Code != http.StatusOK {
				t.Fatalf("apply my edits: %d %s", w.Code, w.Body)
			}
			if _, rev := storedAcme(t, a.st); rev != revA {
				t.Fatalf("applying the edits wrote: revision %d", rev)
			}
			f := B.form()
			if !has(f["deny_tools"], "slack/post_message") || !has(f["deny_tools"], "github/delete_repo") || !has(f["toolsets"], "release") || !has(f["toolsets"], "read-only") {
				t.Errorf("re-applied form: %v", f)
			}
			if f.Get("loaded_revision") != itoa64(revA) || f.Get("preview_revision") != itoa64(revA) {
				t.Errorf("re-applied form at revisions %s/%s, want %d", f.Get("loaded_revision"), f.Get("preview_revision"), revA)
			}
			// The conflict page's preview compared B's stale draft with the current settings:
			// saving it would have given slack/post_message back. The new one does not: release
			// adds nothing acme's groups do not already grant.
			if strings.Contains(d.Find(`[data-testid=preview-panel]`).Text(), "+ slack/post_message") == false {
				t.Error("the conflict page's preview does not show that the stale draft undoes A's deny")
			}
			if h := text(B.page, "preview-headline"); h != "No change" || strings.Contains(B.page.Find(`[data-testid=preview-panel]`).Text(), "slack/post_message") {
				t.Errorf("the new preview is not of B's toolset alone: %q", h)
			}
			if B.page.Find(`[data-testid=stale-note]`).Length() != 0 || B.page.Find(`[data-testid=conflict]`).Length() != 0 {
				t.Error("the re-applied form still says it is out of date")
			}
			if w := B.submit(""); w.Code != http.StatusSeeOther {
				t.Fatalf("save after applying: %d %s", w.Code, w.Body)
			}
			got, _ := storedAcme(t, a.st)
			if !has(got.DenyTools, "slack/post_message") || !has(got.MCP.Toolsets, "release") {
				t.Errorf("stored acme lacks a change: deny %v toolsets %v", got.DenyTools, got.MCP.Toolsets)
			}
		})
	}
}

// A form whose revisions are missing, malformed, duplicated or ahead of the store writes nothing.
func TestSaveRefusesBadRevisions(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a := demoApp(t, kind)
			for _, tc := range []struct {
				name  string
				edit  func(url.Values)
				field string
			}{
				{"forged future revision", func(f url.Values) {
					f.Set("loaded_revision", "9000000000000000000")
					f.Set("preview_revision", "9000000000000000000")
				}, "loaded_revision"},
				{"forged future preview", func(f url.Values) { f.Set("preview_revision", "9000000000000000000") }, "preview_revision"},
				{"no loaded revision", func(f url.Values) { f.Del("loaded_revision") }, "loaded_revision"},
				{"no preview revision", func(f url.Values) { f.Del("preview_revision") }, "preview_revision"},
				{"the old single revision", func(f url.Values) {
					f.Set("revision", f.Get("loaded_revision"))
					f.Del("loaded_revision")
					f.Del("preview_revision")
				}, "loaded_revision"},
				{"not a number", func(f url.Values) { f.Set("loaded_revision", "1e3") }, "loaded_revision"},
				{"negative", func(f url.Values) { f.Set("loaded_revision", "-1") }, "loaded_revision"},
				{"plus sign", func(f url.Values) { f.Set("loaded_revision", "+1") }, "loaded_revision"},
				{"overflow", func(f url.Values) { f.Set("loaded_revision", "99999999999999999999") }, "loaded_revision"},
				{"twice", func(f url.Values) { f.Add("loaded_revision", "1") }, "loaded_revision"},
				{"preview before the load", func(f url.Values) { f.Set("loaded_revision", "1"); f.Set("preview_revision", "0") }, "preview_revision"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					B := openTab(t, a, "acme")
					B.add("deny_tools", "slack/post_message")
					f := B.form()
					tc.edit(f)
					_, before := storedAcme(t, a.st)
					w := a.do(t, "POST", "/orgs/acme/settings", f, false)
					if w.Code != http.StatusUnprocessableEntity {
						t.Fatalf("status %d, want 422", w.Code)
					}
					if got := text(parse(t, w), "preview-problems"); !strings.Contains(got, tc.field) {
						t.Errorf("problems %q do not name %s", got, tc.field)
					}
					if got, rev := storedAcme(t, a.st); rev != before || has(got.DenyTools, "slack/post_message") {
						t.Errorf("a refused save wrote: revision %d, was %d", rev, before)
					}
				})
			}
		})
	}
}

// Every value is one the form sends, or the save is refused naming the field.
func TestSaveRefusesBadValues(t *testing.T) {
	a := demoApp(t, store.KindSQLite)
	for _, tc := range []struct {
		name, want string
		edit       func(url.Values)
	}{
		{"mode bogus", `mode: must be "none" or "limit", not "bogus"`, func(f url.Values) { f.Set("mode", "bogus") }},
		{"mode missing", "mode: missing", func(f url.Values) { f.Del("mode") }},
		{"mode twice", "mode: given 2 times", func(f url.Values) { f.Add("mode", "none") }},
		{"blocked yes", `blocked: must be "1" (or absent), not "yes"`, func(f url.Values) { f.Set("blocked", "yes") }},
		{"blocked empty", `blocked: must be "1" (or absent), not ""`, func(f url.Values) { f.Set("blocked", "") }},
		{"page zero", "page: must be a positive whole number", func(f url.Values) { f.Set("page", "0") }},
		{"page word", "page: must be a positive whole number", func(f url.Values) { f.Set("page", "two") }},
		{"tool without server", `tool[0]: "post_message" is not server/tool`, func(f url.Values) { f.Add("tool", "post_message") }},
		{"unknown denied tool", `deny_tools[1]: unknown tool`, func(f url.Values) { f.Add("deny_tools", "slack/nope") }},
		{"unknown server", `mcp.servers[1]: unknown server "gitlab"`, func(f url.Values) { f.Add("servers", "gitlab") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			B := openTab(t, a, "acme")
			f := B.form()
			tc.edit(f)
			_, before := storedAcme(t, a.st)
			w := a.do(t, "POST", "/orgs/acme/settings", f, false)
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", w.Code)
			}
			if got := text(parse(t, w), "preview-problems"); !strings.Contains(got, tc.want) {
				t.Errorf("problems %q lack %q", got, tc.want)
			}
			if _, rev := storedAcme(t, a.st); rev != before {
				t.Errorf("a refused save wrote: revision %d, was %d", rev, before)
			}
			// The live preview refuses the same values.
			if w := a.do(t, "POST", "/orgs/acme/settings/preview", f, true); w.Code != http.StatusUnprocessableEntity {
				t.Errorf("preview: %d, want 422", w.Code)
			}
		})
	}
	// mode=bogus was once saved as "No limit".
	if got, _ := storedAcme(t, a.st); got.MCP == nil {
		t.Error("acme lost its limit")
	}
}
