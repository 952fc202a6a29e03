package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/warden-mcp/warden/models"
)

// collectViolationsJS runs in every document before the page's own scripts (see
// collectViolations) and records each Content-Security-Policy violation the document reports.
const collectViolationsJS = `window.cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(
	e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber + ' ' + (e.sample || '')));`

// collectViolations installs collectViolationsJS for the documents the tab loads from now on,
// so a violation while the page loads (an inline script, a style attribute) is caught too.
func collectViolations() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: collectViolationsJS})
		return err
	})
}

// violations are the CSP violations the document in the tab recorded.
func violations(t *testing.T, ctx context.Context, name string) []string {
	t.Helper()
	return stepValue(t, ctx, name, chromedp.Evaluate[[]string](`window.cspViolations`))
}

// The console works under its Content-Security-Policy: a person opens the organization
// settings, searches a combobox, changes the draft, reads the live preview and opens a Why?,
// and the browser reports no violation of the policy. That the policy is in force is checked
// at the end: a style attribute set by a script is a violation the collector sees.
func TestConsoleUnderCSPInBrowser(t *testing.T) {
	ctx := browser(t)
	st, srv, want := demoConsole(t)
	defer srv.Close()
	signIn(t, ctx, srv, st, "alice", models.RoleAdmin)

	step(t, ctx, "collect violations", collectViolations())
	resp := stepValue(t, ctx, "open the settings page", chromedp.NavigateResponse(srv.URL+"/orgs/acme/settings"))
	if csp, _ := resp.Headers["Content-Security-Policy"].(string); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("the settings page came without the console's CSP: %q", csp)
	}
	step(t, ctx, "wait for the page",
		chromedp.WaitVisible(`#toolsets-input`),
		watchPreview(),
	)
	step(t, ctx, "search the toolsets",
		chromedp.Focus(`#toolsets-input`),
		chromedp.SendKeys(`#toolsets-input`, "rele"),
		chromedp.WaitVisible(`#toolsets-listbox [role=option]`),
	)
	step(t, ctx, "choose release, remove postgres",
		chromedp.KeyEvent(kb.Enter),
		chromedp.KeyEvent(kb.Escape),
		chromedp.Focus(`#servers-input`),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.KeyEvent(kb.Escape),
	)
	waitPreview(t, ctx, "wait for the live preview")
	if got := previewHeadline(t, ctx, "read the headline"); got != want {
		t.Fatalf("headline %q, want %q\n%s", got, want, dumpPage(t, ctx, "read the headline"))
	}
	step(t, ctx, "open Why?",
		chromedp.Click(`#preview-panel details.why summary`),
		chromedp.WaitVisible(`#preview-panel details.why[open] [data-testid=why-after] [data-testid=explain-line]`),
	)
	if v := violations(t, ctx, "read the violations"); len(v) > 0 {
		t.Errorf("%d CSP violations:\n%s", len(v), strings.Join(v, "\n"))
	}

	// The control: with the policy in force, a style attribute is refused and reported.
	step(t, ctx, "violate the policy on purpose",
		chromedp.Evaluate[chromedp.Void](`document.body.setAttribute('style', 'outline: 1px solid red')`))
	stepValue(t, ctx, "see the violation reported",
		chromedp.Poll[bool](`window.cspViolations.some(v => v.startsWith('style-src'))`, chromedp.WithPollingTimeout(0)))
}
