package web_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// A person signs in with single sign-on in Chromium, keyboard only: a console page sends them to
// the sign-in page, its "Sign in with …" goes through the provider and back to the page they
// asked for, signed in with the role their groups give. Someone whose groups give no role gets
// the error page saying so. Both pages are axe-clean and fit a phone.
func TestOIDCSignInInBrowser(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	ctx := browser(t)
	st := storetest.Open(t, store.KindSQLite)
	p := startIDP(t)
	w := newSSOConsole(t, st, p, nil)

	checkPage := func(name string) {
		t.Helper()
		if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
			t.Errorf("accessibility violations on %s:\n%s", name, strings.Join(v, "\n"))
		}
		step(t, ctx, name+" on a phone", chromedp.EmulateViewport(390, 844))
		if wd := stepValue(t, ctx, "measure "+name, chromedp.Evaluate[[]int64](`[document.documentElement.scrollWidth, window.innerWidth]`)); wd[0] > 390 {
			t.Errorf("%s is %d px wide in a %d px window", name, wd[0], wd[1])
		}
		step(t, ctx, name+" on a desktop", chromedp.EmulateViewport(1280, 900))
	}

	resp := navigateBy(t, ctx, "open the keys page", chromedp.Navigate(w.srv.URL+"/keys"))
	expectDocument(t, ctx, "open the keys page", resp, http.StatusOK, "/login")
	checkPage("the sign-in page")
	if label := stepValue(t, ctx, "read the button", chromedp.Text(`[data-testid=sso]`)); label != "Sign in with Corp SSO" {
		t.Errorf("button %q", label)
	}

	p.m.QueueUser(jane("acme-admins", "everyone"))
	resp = navigateBy(t, ctx, "sign in with Corp SSO",
		chromedp.Focus(`[data-testid=sso]`),
		chromedp.KeyEvent(kb.Enter),
	)
	expectDocument(t, ctx, "sign in with Corp SSO", resp, http.StatusOK, "/keys")
	if who := stepValue(t, ctx, "read who is signed in", chromedp.Text(`[data-testid=signed-in-user]`)); who != "jane.doe" {
		t.Errorf("signed in as %q", who)
	}
	if u := userNamed(t, st, "jane.doe"); u.Role != models.RoleOrgAdmin || len(u.Orgs) != 1 || u.Orgs[0] != "acme" {
		t.Errorf("user: %s of %v", u.Role, u.Orgs)
	}

	// Signed out, then back with groups that no longer map to a role.
	resp = navigateBy(t, ctx, "sign out",
		chromedp.Focus(`form[action="/logout"] button`),
		chromedp.KeyEvent(kb.Enter),
	)
	expectDocument(t, ctx, "sign out", resp, http.StatusOK, "/login")
	p.m.QueueUser(jane("contractors"))
	resp = navigateBy(t, ctx, "sign in again",
		chromedp.Focus(`[data-testid=sso]`),
		chromedp.KeyEvent(kb.Enter),
	)
	expectDocument(t, ctx, "sign in again", resp, http.StatusForbidden, "/auth/oidc/callback")
	msg := stepValue(t, ctx, "read the refusal", chromedp.Text(`[data-testid=error-message]`))
	if !strings.Contains(msg, "Your groups at Corp SSO (contractors) give you no role in Warden") {
		t.Errorf("refusal %q", msg)
	}
	checkPage("the refusal page")
	shot := stepValue(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(artifact(t, "oidc-refused.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountUsers(context.Background()); err != nil || n != 1 {
		t.Errorf("users: %d, %v", n, err)
	}
}
