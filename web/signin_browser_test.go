package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-mcp/warden/models"
)

// A person signs in with the keyboard alone — the username field has the focus, Tab to the
// password, Enter — on a phone and on a laptop; the sign-in page fits both and is axe-clean,
// a wrong password says so without saying which field, and Sign out (keyboard again) ends it.
func TestSignInWithTheKeyboardInBrowser(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	ctx := browser(t)
	st, srv, _ := demoConsole(t)
	defer srv.Close()
	pw := newPerson(t, st, "kim", models.RoleOrgAdmin, "acme")

	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"phone", 390, 844}, {"laptop", 1280, 800}} {
		step(t, ctx, "open the settings page signed out on a "+vp.name,
			chromedp.EmulateViewport(vp.width, vp.height),
			chromedp.Navigate(srv.URL+"/orgs/acme/settings"),
			chromedp.WaitVisible(`#username`),
		)
		if over := stepValue(t, ctx, "measure the sign-in page", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); over > 0 {
			t.Errorf("%s: the sign-in page is %d px too wide", vp.name, over)
		}
		if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
			t.Errorf("%s: accessibility violations on the sign-in page:\n%s", vp.name, strings.Join(v, "\n"))
		}
		if f := stepValue(t, ctx, "which field has the focus", chromedp.Evaluate[string](`document.activeElement.id`)); f != "username" {
			t.Errorf("%s: the focus is on %q, want the username", vp.name, f)
		}
		step(t, ctx, "type a wrong password",
			chromedp.KeyEvent("kim"), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("not-the-password"), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(`[data-testid=login-error]`),
		)
		if msg := stepValue(t, ctx, "read the error", chromedp.Text(`[data-testid=login-error]`)); msg != "The username or password is not right." {
			t.Errorf("%s: error %q", vp.name, msg)
		}
		// The name stays; the focus is on the password, typed again.
		step(t, ctx, "type the right password",
			chromedp.KeyEvent(pw), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(`#preview-panel`),
		)
		if loc := stepValue(t, ctx, "where am I", chromedp.Evaluate[string](`location.pathname`)); loc != "/orgs/acme/settings" {
			t.Errorf("%s: signed in at %s, want back at the settings", vp.name, loc)
		}
		if who := stepValue(t, ctx, "read who is signed in", chromedp.Text(`[data-testid=signed-in]`)); !strings.Contains(who, "Signed in as kim") || !strings.Contains(who, "org admin of acme") {
			t.Errorf("%s: header says %q", vp.name, who)
		}
		if over := stepValue(t, ctx, "measure the signed-in header", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); over > 0 {
			t.Errorf("%s: the page with the signed-in header is %d px too wide", vp.name, over)
		}
		step(t, ctx, "sign out with the keyboard",
			chromedp.Focus(`[data-testid=sign-out]`),
			chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(`#username`),
		)
		if flash := stepValue(t, ctx, "read the flash", chromedp.Text(`[data-testid=flash]`)); flash != "You are signed out." {
			t.Errorf("%s: flash %q", vp.name, flash)
		}
	}
}
