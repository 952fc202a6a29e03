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
)

// An admin creates a guard with the keyboard, sees which demo keys break it before saving,
// saves it; then an organization edit that would break a guard shows that at the top of its
// preview, and its Save is refused with nothing written.
func TestGuardsInBrowser(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	ctx := browser(t)
	st, srv, _ := demoConsole(t)
	defer srv.Close()
	signIn(t, ctx, srv, st, "ada", models.RoleAdmin)
	start, _ := st.Revision(context.Background())
	noAxe := func(what string) {
		t.Helper()
		if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
			t.Errorf("accessibility violations %s:\n%s", what, strings.Join(v, "\n"))
		}
	}

	step(t, ctx, "open the guards",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(srv.URL+"/guards"),
		chromedp.WaitVisible(`[data-testid=guard-list]`),
	)
	if n := stepValue(t, ctx, "count the holding guards", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=guard-holds]').length`)); n != 2 {
		t.Fatalf("%d demo guards hold, want 2\n%s", n, dumpPage(t, ctx, "count"))
	}
	resp := navigateBy(t, ctx, "new guard", chromedp.Click(`[data-testid=new-guard]`))
	expectDocument(t, ctx, "new guard", resp, http.StatusOK, "/guards/new")
	step(t, ctx, "type the guard",
		chromedp.Focus(`#guard-name`),
		chromedp.SendKeys(`#guard-name`, "max-executors"),
		// The kind is a radio group: the arrow key moves the choice.
		chromedp.Focus(`#kind-forbid`),
		chromedp.KeyEvent(kb.ArrowRight),
		chromedp.Focus(`#guard-tool`),
		chromedp.SendKeys(`#guard-tool`, "postgres/execute"),
		chromedp.Focus(`#guard-at-most`),
		chromedp.SendKeys(`#guard-at-most`, "3"),
		chromedp.KeyEvent(kb.Tab),
		chromedp.WaitVisible(`[data-testid=guard-preview-broken]`),
	)
	broken := stepValue(t, ctx, "read who breaks it", chromedp.Text(`[data-testid=guard-preview-broken]`))
	if !strings.HasPrefix(broken, "7 keys break it now.") || !strings.Contains(broken, "etl-nightly") {
		t.Errorf("preview of the new guard: %q", broken)
	}
	if rev, _ := st.Revision(context.Background()); rev != start {
		t.Fatalf("typing the guard saved something: revision %d, want %d", rev, start)
	}
	noAxe("on the guard form with its preview")
	if w := stepValue(t, ctx, "measure the form", chromedp.Evaluate[[]int64](`[document.documentElement.scrollWidth, window.innerWidth]`)); w[0] > w[1] {
		t.Errorf("the guard form is %d px wide in a %d px window", w[0], w[1])
	}
	shot := stepValue(t, ctx, "screenshot the form", chromedp.FullScreenshot(100))
	if err := os.WriteFile(artifact(t, "guard-form-phone.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	resp = navigateBy(t, ctx, "save the guard", chromedp.Click(`[data-testid=save-guard]`))
	expectDocument(t, ctx, "save the guard", resp, http.StatusOK, "/guards")
	if flash := stepValue(t, ctx, "read the flash", chromedp.Text(`[data-testid=flash]`)); flash != "Saved guard max-executors — 7 keys break it now; previews show it until that is fixed." {
		t.Errorf("flash %q", flash)
	}
	saved, rev, _ := st.LoadDocument(context.Background())
	if g := saved.Guard("max-executors"); g == nil || g.Tool != "postgres/execute" || g.AtMost == nil || *g.AtMost != 3 {
		t.Fatalf("stored guards: %+v", saved.Guards)
	}

	// globex limits itself to postgres: globex-billing may then run SQL, an eighth executor.
	step(t, ctx, "open globex's settings",
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(srv.URL+"/orgs/globex/settings"),
		chromedp.WaitVisible(`#servers-input`),
		watchPreview(),
		chromedp.Click(`[data-testid=mode-limit]`),
		chromedp.Focus(`#servers-input`),
		chromedp.SendKeys(`#servers-input`, "postgres"),
		chromedp.WaitVisible(`#servers-listbox [role=option]`),
		chromedp.KeyEvent(kb.Enter),
		chromedp.KeyEvent(kb.Escape),
	)
	waitPreview(t, ctx, "wait for the preview")
	added := strings.Join(strings.Fields(stepValue(t, ctx, "read the guards", chromedp.Text(`[data-testid=guards-added]`))), " ")
	if !strings.HasPrefix(added, "Saving is refused: this draft breaks guards few-executors, max-executors.") || !strings.Contains(added, "globex-billing postgres/execute") {
		t.Errorf("guards in the preview: %q", added)
	}
	// The guards come first in the panel.
	if first := stepValue(t, ctx, "find the panel's first section", chromedp.Evaluate[bool](
		`!!(document.querySelector('#preview-panel [data-testid=guards-preview]').compareDocumentPosition(document.querySelector('#preview-panel [data-testid=preview-headline]')) & Node.DOCUMENT_POSITION_FOLLOWING)`)); !first {
		t.Errorf("the guards do not come before the headline")
	}
	noAxe("on a preview refused by guards")
	resp = navigateBy(t, ctx, "save", chromedp.Click(`[data-testid=save]`))
	expectDocument(t, ctx, "save", resp, http.StatusUnprocessableEntity, "/orgs/globex/settings")
	if msg := stepValue(t, ctx, "read the message", chromedp.Text(`[data-testid=form-message]`)); msg != "Nothing was saved: the draft breaks guards few-executors, max-executors." {
		t.Errorf("message %q", msg)
	}
	if now, _ := st.Revision(context.Background()); now != rev {
		t.Errorf("a refused save wrote: revision %d, want %d", now, rev)
	}
	noAxe("on the refused save")
}
