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
	"github.com/warden-mcp/warden/models/store"
)

// Finding 4 through the UI, with two admins in two browser contexts (separate sessions): both
// open acme's settings; A denies slack/post_message and saves; B adds the release toolset, is
// told by the live preview that acme changed after the page was opened, saves anyway and is
// refused with A's change shown; B applies the edits on top, sees the new preview and saves.
// Both changes are stored.
func TestConflictTwoAdminsInBrowser(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	st, srv, _ := demoConsole(t)
	defer srv.Close()

	a := browser(t)
	signIn(t, a, srv, st, "alice", models.RoleAdmin)
	if err := chromedp.Do(a, chromedp.Navigate(srv.URL+"/orgs/acme/settings"), chromedp.WaitVisible(`#deny-tools-input`)); err != nil {
		t.Fatalf("A opens acme: %v", err)
	}
	// B: a second browser context of the same browser, so no cookie or cache is shared.
	b, cancelB := chromedp.NewContext(a, chromedp.WithNewBrowserContext())
	defer cancelB()
	// Open B's tab on its own context first: the first run on a context ties the tab's life
	// to that run's context (see browser).
	if err := chromedp.Do(b); err != nil {
		t.Fatalf("open B: %v", err)
	}
	signIn(t, b, srv, st, "bob", models.RoleAdmin)
	if err := chromedp.Do(b, chromedp.Navigate(srv.URL+"/orgs/acme/settings"), chromedp.WaitVisible(`#toolsets-input`)); err != nil {
		t.Fatalf("B opens acme: %v", err)
	}

	// A denies slack/post_message and saves.
	if err := chromedp.Do(a,
		chromedp.Focus(`#deny-tools-input`),
		chromedp.SendKeys(`#deny-tools-input`, "slack/post_message"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.KeyEvent(kb.Escape),
		chromedp.Click(`[data-testid=save]`),
		chromedp.WaitVisible(`[data-testid=flash]`),
	); err != nil {
		t.Fatalf("A denies slack/post_message and saves: %v", err)
	}
	afterA, revA := conflictStored(t, st)
	if !contains(afterA.DenyTools, "slack/post_message") {
		t.Fatalf("A's deny was not stored: %v", afterA.DenyTools)
	}

	// B adds the release toolset; the live preview says acme changed after B opened the page.
	if err := chromedp.Do(b,
		chromedp.Focus(`#toolsets-input`),
		chromedp.SendKeys(`#toolsets-input`, "release"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.KeyEvent(kb.Escape),
	); err != nil {
		t.Fatalf("B adds the release toolset: %v", err)
	}
	note := conflictWaitText(t, b, `[data-testid=stale-note]`, "acme was changed by alice at ")
	if !strings.Contains(note, " UTC after you opened this page") {
		t.Errorf("stale note %q", note)
	}

	// B saves anyway: refused, with A's change, who made it and when, beside B's edit.
	if err := chromedp.Do(b, chromedp.Click(`#org-settings [data-testid=save]`), chromedp.WaitVisible(`[data-testid=conflict]`)); err != nil {
		t.Fatalf("B saves: %v", err)
	}
	if got, rev := conflictStored(t, st); rev != revA || !contains(got.DenyTools, "slack/post_message") {
		t.Fatalf("B's save wrote over A's (revision %d, was %d): deny %v", rev, revA, got.DenyTools)
	}
	changes := conflictText(t, b, `[data-testid=conflict-changes]`)
	if !strings.Contains(changes, "alice") || !strings.Contains(changes, "denied tools: + slack/post_message") || !strings.Contains(changes, " UTC") {
		t.Errorf("the conflict does not show A's change: %q", changes)
	}
	if mine := conflictText(t, b, `[data-testid=mine-delta]`); mine != "toolsets: + release" {
		t.Errorf("B's edits shown as %q", mine)
	}
	// The preview beside it is of B's draft as it stands against the current settings: it would
	// give slack/post_message back (B's form still denies only github/delete_repo). Read off the
	// demo fixture: acme, and its teams platform (toolset release), support (toolset support)
	// and data-eng (no mcp block) gain it, and seven keys: ci-bot, helpdesk-bot, etl-nightly and
	// metrics-exporter (inheriting), deploy-bot and support-triage (their agents' toolsets) and
	// zendesk-sync (toolset support). The other acme keys never reach slack.
	const wantB = "the organization, 3 teams and 7 keys gain access"
	if got := conflictText(t, b, `[data-testid=preview-headline]`); got != wantB {
		t.Errorf("conflict page headline %q, want %q", got, wantB)
	}
	if v := axeSerious(t, b, string(axe)); len(v) > 0 {
		t.Errorf("accessibility violations on the conflict page:\n%s", strings.Join(v, "\n"))
	}
	shot, err := chromedp.Run(b, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(artifact(t, "org-settings-conflict.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	// At phone width nothing runs off the side.
	if err := chromedp.Do(b, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(b, chromedp.Poll[int](`(() => { const w = document.documentElement.scrollWidth;
			return window.innerWidth === 390 && w; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("narrow viewport: %v", err)
	}
	if width > 390 {
		wide, _ := chromedp.Run(b, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('body *'))
			.filter(e => e.getBoundingClientRect().right > 390.5).slice(0, 8)
			.map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`))
		t.Errorf("the conflict page is %d px wide at 390 px: %v", width, wide)
	}
	// The first screen, as a phone shows it.
	shot, err = chromedp.Run(b, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(artifact(t, "org-settings-conflict-390.png"), shot, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b, chromedp.ResetViewport()); err != nil {
		t.Fatal(err)
	}

	// Apply my edits on top: a new preview, nothing saved.
	if err := chromedp.Do(b,
		chromedp.Click(`[data-testid=conflict] [data-testid=apply-mine]`),
		chromedp.WaitVisible(`[data-testid=form-notice]`),
	); err != nil {
		t.Fatalf("B applies the edits on top: %v", err)
	}
	if _, rev := conflictStored(t, st); rev != revA {
		t.Fatalf("applying the edits saved: revision %d", rev)
	}
	// B's edit on top of A's: release adds github tools acme's access group engineering already
	// grants, and slack/post_message, which A's deny now takes away again.
	if got, want := conflictText(t, b, `[data-testid=preview-headline]`), "No change"; got != want {
		t.Errorf("headline after applying the edits %q, want %q", got, want)
	}
	if n, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=conflict], [data-testid=stale-note]').length`)); err != nil || n != 0 {
		t.Errorf("the re-applied page still says it is out of date (%d, %v)", n, err)
	}
	if err := chromedp.Do(b, chromedp.Click(`#org-settings [data-testid=save]`), chromedp.WaitVisible(`[data-testid=flash]`)); err != nil {
		t.Fatalf("B saves the re-applied edits: %v", err)
	}
	got, _ := conflictStored(t, st)
	if !contains(got.DenyTools, "slack/post_message") || !contains(got.MCP.Toolsets, "release") {
		t.Errorf("stored acme lacks a change: deny %v, toolsets %v", got.DenyTools, got.MCP.Toolsets)
	}
}

// conflictStored is acme as stored, and the revision.
func conflictStored(t *testing.T, st *store.Store) (models.OrganizationDoc, int64) {
	t.Helper()
	doc, rev, err := st.LoadDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return *doc.Organization("acme"), rev
}

// conflictText is an element's text with its white space collapsed.
func conflictText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// conflictWaitText waits until the element sel exists and its text contains want, and returns
// the text.
func conflictWaitText(t *testing.T, ctx context.Context, sel, want string) string {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const e = document.querySelector(`+jsString(sel)+`);
			const s = e && e.textContent.replace(/\s+/g, ' ').trim();
			return s && s.includes(`+jsString(want)+`) && s; })()`, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		now, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 2000)`))
		t.Fatalf("waiting for %s to say %q: %v\npage:\n%s", sel, want, err, now)
	}
	return got
}
