package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// reviewPages are the access review pages, with what each waits for.
var reviewPages = []struct{ name, path, ready string }{
	{"who-can-call-picker", "/access/tools?server=github", `[data-testid=server-tool-links]`},
	{"who-can-call", "/access/tools?server=github&tool=list_issues", `[data-testid=holder-keys]`},
	{"unused", "/access/unused", `[data-testid=unused-list]`},
	{"unused-teams", "/access/unused?show=teams", `[data-testid=unused-list]`},
	{"decisions", "/decisions", `[data-testid=decision-list]`},
}

// The access review pages fit a phone and a laptop screen, pass axe, keep every scrolling
// region reachable by Tab, and work by keyboard: pick a tool and see who can call it, filter
// its keys as one types, and filter and page the decision log.
func TestAccessReviewInBrowser(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	ctx := browser(t)
	st, srv, _ := demoConsole(t)
	defer srv.Close()
	// 130 calls by ci-bot, every fifth refused by its organization: three pages of the log.
	base := time.Now().UTC().Add(-3 * time.Hour)
	var ds []models.Decision
	for i := range 130 {
		d := models.Decision{At: base.Add(time.Duration(i) * time.Minute), Kind: models.DecisionCall, KeyName: "ci-bot",
			Server: "github", Tool: "list_issues", Allowed: true, Revision: 1}
		if i%5 == 0 {
			d.Tool, d.Allowed, d.DecidedBy = "delete_repo", false, "organization"
		}
		ds = append(ds, d)
	}
	// As the decision log's writer records them: raw rows and the hourly rollup.
	storetest.RecordDecisions(t, st, ds...)
	// Reading the review needs no more than a viewer's role.
	signIn(t, ctx, srv, st, "vera", models.RoleViewer)

	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"phone", 390, 844}, {"laptop", 1280, 800}} {
		step(t, ctx, "resize to "+vp.name, chromedp.EmulateViewport(vp.width, vp.height))
		for _, pg := range reviewPages {
			name := vp.name + " " + pg.name
			step(t, ctx, "open "+name, chromedp.Navigate(srv.URL+pg.path), chromedp.WaitVisible(pg.ready))
			checkLayout(t, ctx, axe, name, pg.path, "review-"+vp.name+"-"+pg.name+".png")
		}
	}

	// Keyboard only: choose the server in the select by typing, Tab to the tool, type it, Enter.
	step(t, ctx, "open the picker", chromedp.Navigate(srv.URL+"/access/tools"), chromedp.WaitVisible(`#pick-server`))
	step(t, ctx, "choose github", chromedp.Focus(`#pick-server`), chromedp.KeyEvent("github"), chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent("list_issues"))
	resp := navigateBy(t, ctx, "submit the picker", chromedp.KeyEvent(kb.Enter))
	expectDocument(t, ctx, "submit the picker", resp, 200, "/access/tools")
	step(t, ctx, "see who can call it", chromedp.WaitVisible(`[data-testid=holder-key][data-name=ci-bot]`))
	if got := stepValue(t, ctx, "read the headline", chromedp.Evaluate[string](`document.querySelector('[data-testid=holders-headline]').textContent`)); !strings.Contains(got, "can call github/list_issues") {
		t.Errorf("headline %q", got)
	}
	last := stepValue(t, ctx, "read ci-bot's last call", chromedp.Evaluate[string](
		`document.querySelector('[data-testid=holder-key][data-name=ci-bot] [data-testid=last-call]').getAttribute('datetime')`))
	if want := base.Add(129 * time.Minute).Truncate(time.Second).Format(time.RFC3339); last != want {
		t.Errorf("ci-bot last call %q, want %q", last, want)
	}
	// The filter narrows the keys in place (htmx) as one types.
	step(t, ctx, "filter the keys", chromedp.Focus(`#holder-rows-q`), chromedp.KeyEvent("ci-"))
	waitFor(t, ctx, "open the picker (wait)", `Array.from(document.querySelectorAll('[data-testid=holder-key]')).every(r => r.dataset.name.includes('ci-'))`)

	// The decision log: outcome chosen by keyboard swaps in the denied rows; Older pages on.
	step(t, ctx, "open the decisions", chromedp.Navigate(srv.URL+"/decisions"), chromedp.WaitVisible(`[data-testid=decision-row]`))
	if n := stepValue(t, ctx, "count rows", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=decision-row]').length`)); n != 50 {
		t.Errorf("%d rows on the first page, want 50", n)
	}
	step(t, ctx, "choose denied", chromedp.Focus(`#f-outcome`), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	waitFor(t, ctx, "open the decisions (wait)", `document.querySelectorAll('[data-testid=decision-row]').length === 26 &&
			Array.from(document.querySelectorAll('[data-testid=decision-outcome]')).every(c => c.textContent.includes('denied'))`)
	if u := stepValue(t, ctx, "read the address", chromedp.Evaluate[string](`location.search`)); !strings.Contains(u, "outcome=denied") {
		t.Errorf("the filtered log's address %q does not keep the filter", u)
	}
	step(t, ctx, "clear the outcome", chromedp.Focus(`#f-outcome`), chromedp.KeyEvent(kb.Home))
	waitFor(t, ctx, "clear the outcome (wait)", `document.querySelectorAll('[data-testid=decision-row]').length === 50`)
	first := stepValue(t, ctx, "read the first id", chromedp.Evaluate[string](`document.querySelector('[data-testid=decision-row]').dataset.id`))
	step(t, ctx, "page older", chromedp.Focus(`[data-testid=older-page]`), chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "page older (wait)", `document.querySelector('[data-testid=decision-row]').dataset.id !== `+jsString(first)+
		` && document.querySelector('[data-testid=newer-page]') !== null`)

	// From the unused list, the draft link opens ci-bot's settings with its unused tools named.
	step(t, ctx, "open unused access", chromedp.Navigate(srv.URL+"/access/unused"), chromedp.WaitVisible(`[data-testid=unused-row][data-name=ci-bot]`))
	href := stepValue(t, ctx, "read the draft link", chromedp.Evaluate[string](
		`document.querySelector('[data-testid=unused-row][data-name=ci-bot] [data-testid=draft-link]').getAttribute('href')`))
	if !strings.HasPrefix(href, "/keys/ci-bot/settings?remove=") || strings.Contains(href, "github%2Flist_issues") {
		t.Errorf("draft link %q: want ci-bot's settings without the tool it used", href)
	}
}

// waitFor polls a JavaScript condition until it holds, under the step deadline.
func waitFor(t *testing.T, ctx context.Context, name, js string) {
	t.Helper()
	stepValue(t, ctx, name, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(0)))
}
