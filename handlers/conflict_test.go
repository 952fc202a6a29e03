package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	return &app{h: web.New(web.Deps{Store: st, State: state}), st: st, state: state}
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

// set replaces a field outside the panel (what a person changes in the form).
func (tb *tab) set(name string, values ...string) { tb.outside[name] = values }

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
