package web_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/warden-mcp/warden/models"
)

// What previewFaults does to the preview's requests, before the console sees them.
const (
	passPreview int32 = iota
	dropPreview       // the connection closes without an answer: a network failure
	proxyDown         // a 502 from something in between, not from Warden
)

// previewFaults sits in front of the console as a proxy would, failing the preview's requests
// on demand in ways Warden itself cannot: no answer at all, or another server's error page.
type previewFaults struct {
	h    http.Handler
	mode atomic.Int32
}

func (p *previewFaults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/settings/preview") {
		switch p.mode.Load() {
		case dropPreview:
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
				return
			}
		case proxyDown:
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
	}
	p.h.ServeHTTP(w, r)
}

// pageErrors records the tab's console errors and uncaught exceptions.
type pageErrors struct {
	mu         sync.Mutex
	console    []string
	exceptions []string
}

func watchErrors(t *testing.T, ctx context.Context) *pageErrors {
	t.Helper()
	pe := &pageErrors{}
	err := chromedp.Listen(ctx, func(ev any) {
		pe.mu.Lock()
		defer pe.mu.Unlock()
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				pe.console = append(pe.console, ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				pe.console = append(pe.console, "console.error")
			}
		case *runtime.EventExceptionThrown:
			pe.exceptions = append(pe.exceptions, ev.ExceptionDetails.Text)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return pe
}

func (pe *pageErrors) take() (console, exceptions []string) {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	console, exceptions = pe.console, pe.exceptions
	pe.console, pe.exceptions = nil, nil
	return console, exceptions
}

// previewError waits for a note in the preview panel's status line whose text contains want,
// and returns its text.
func previewError(t *testing.T, ctx context.Context, name, want string) string {
	t.Helper()
	return stepValue(t, ctx, name, chromedp.Poll[string](`(() => {
			const n = document.querySelector('#preview-panel #preview-status [data-testid=error-partial][role=alert]');
			return n && n.offsetParent !== null && n.innerText.includes(`+jsString(want)+`) ? n.innerText : '';
		})()`, chromedp.WithPollingTimeout(0)))
}

// loggedWith reports whether the server logged the line of a request with the id and status.
func loggedWith(logs *syncBuffer, id, status string) bool {
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, " msg=http ") && strings.Contains(l, "request_id="+id+" ") && strings.Contains(l, " status="+status+" ") {
			return true
		}
	}
	return false
}

// A preview that fails says so in the panel — Warden's 500 and 503 with the request id its
// log line has, a network failure, another server's 502 — and the next preview that succeeds
// replaces the note. The first page loads without a console error (its icon included).
func TestPreviewErrorsInBrowser(t *testing.T) {
	ctx := browser(t)
	srv := httptest.NewUnstartedServer(nil)
	h, fs, logs, st := errorConsoleAt(t, srv.Listener.Addr().String())
	faults := &previewFaults{h: h}
	srv.Config.Handler = faults
	srv.Start()
	defer srv.Close()
	signIn(t, ctx, srv, st, "alice", models.RoleAdmin)
	pe := watchErrors(t, ctx)

	step(t, ctx, "open the settings page",
		chromedp.Navigate(srv.URL+"/orgs/acme/settings"),
		chromedp.WaitVisible(`#servers-input`),
		watchPreview(),
	)
	icon := stepValue(t, ctx, "fetch the icon", chromedp.Evaluate[string](`fetch(document.querySelector('link[rel=icon]').href)
		.then(r => r.status + ' ' + r.headers.get('Content-Type'))`, chromedp.EvalAwaitPromise))
	if icon != "200 image/svg+xml" {
		t.Errorf("the page's icon: %s", icon)
	}
	if console, exceptions := pe.take(); len(console)+len(exceptions) > 0 {
		t.Errorf("the first page logged errors: %q %q", console, exceptions)
	}

	// Warden answers 500: its note, with the request id of the failure's log line.
	fs.mode.Store(viewBroken)
	step(t, ctx, "remove postgres", chromedp.Focus(`#servers-input`), chromedp.KeyEvent(kb.Backspace))
	note := previewError(t, ctx, "wait for the 500 in the panel", "Internal error (500).")
	if !strings.Contains(note, "This preview is not of your latest edits.") {
		t.Errorf("the 500 note does not say the preview is out of date: %q", note)
	}
	id := stepValue(t, ctx, "read the request id", chromedp.Text(`#preview-status [data-testid=request-id]`))
	if len(id) != 12 || !loggedWith(logs, id, "500") {
		t.Errorf("request id %q is not that of a logged 500", id)
	}

	// Warden answers 503.
	fs.mode.Store(viewUnavailable)
	step(t, ctx, "block acme", chromedp.Click(`[data-testid=blocked]`))
	note = previewError(t, ctx, "wait for the 503 in the panel", "Warden cannot show the policy now")
	if !strings.Contains(note, "Policy unavailable (503).") {
		t.Errorf("503 note %q", note)
	}
	id = stepValue(t, ctx, "read the request id", chromedp.Text(`#preview-status [data-testid=request-id]`))
	if !loggedWith(logs, id, "503") {
		t.Errorf("request id %q is not that of a logged 503", id)
	}

	// No answer at all, then another server's error page: the panel says so too.
	fs.mode.Store(viewOK)
	faults.mode.Store(dropPreview)
	step(t, ctx, "unblock acme", chromedp.Click(`[data-testid=blocked]`))
	previewError(t, ctx, "wait for the network failure in the panel", "The preview failed: Warden could not be reached")
	faults.mode.Store(proxyDown)
	step(t, ctx, "block acme again", chromedp.Click(`[data-testid=blocked]`))
	previewError(t, ctx, "wait for the 502 in the panel", "The preview failed: the server answered 502")

	// Working again: the next preview replaces the panel, note and all.
	faults.mode.Store(passPreview)
	step(t, ctx, "unblock acme again", chromedp.Click(`[data-testid=blocked]`))
	waitPreview(t, ctx, "wait for the preview of the draft")
	if n := stepValue(t, ctx, "count notes", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=error-partial]').length`)); n != 0 {
		t.Errorf("%d error notes left after a preview that worked", n)
	}
	if _, exceptions := pe.take(); len(exceptions) > 0 {
		t.Errorf("uncaught exceptions: %q", exceptions)
	}
}

// The error page and the page's floating error note are accessible, and fit a 390 px wide
// phone without scrolling sideways.
func TestErrorPageInBrowser(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	ctx := browser(t)
	srv := httptest.NewUnstartedServer(nil)
	h, fs, _, st := errorConsoleAt(t, srv.Listener.Addr().String())
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()
	signIn(t, ctx, srv, st, "alice", models.RoleAdmin)
	fits := func(name string) {
		t.Helper()
		if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
			t.Errorf("%s: accessibility violations:\n%s", name, strings.Join(v, "\n"))
		}
		if over := stepValue(t, ctx, name+": measure", chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`)); over > 0 {
			t.Errorf("%s: %d px wider than the 390 px viewport\n%s", name, over, dumpPage(t, ctx, name))
		}
	}
	step(t, ctx, "narrow the viewport", chromedp.EmulateViewport(390, 844))

	resp := navigateBy(t, ctx, "open an unknown organization", chromedp.Navigate(srv.URL+"/orgs/no-such-organization-with-a-rather-long-name-that-must-wrap/settings"))
	if resp.Status != http.StatusNotFound {
		t.Errorf("unknown organization: %d", resp.Status)
	}
	if msg := stepValue(t, ctx, "read the message", chromedp.Text(`[data-testid=error-message]`)); !strings.Contains(msg, "unknown organization") {
		t.Errorf("404 message %q", msg)
	}
	fits("404 page")

	fs.mode.Store(viewUnavailable)
	resp = navigateBy(t, ctx, "open the keys with no view", chromedp.Navigate(srv.URL+"/keys"))
	if resp.Status != http.StatusServiceUnavailable {
		t.Errorf("keys with no view: %d", resp.Status)
	}
	fits("503 page")

	// A list filter that fails: the note floats over the page, in the page's error region.
	fs.mode.Store(viewOK)
	step(t, ctx, "open the keys", chromedp.Navigate(srv.URL+"/keys"), chromedp.WaitVisible(`[data-testid=filter]`))
	fs.mode.Store(viewBroken)
	step(t, ctx, "filter the keys",
		chromedp.SendKeys(`[data-testid=filter]`, "ci"),
		chromedp.WaitVisible(`#console-error [data-testid=error-partial][data-status="500"]`),
	)
	// The keys table scrolls sideways at 390 px (a page of its own); the note must not.
	if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
		t.Errorf("keys page with an error note: accessibility violations:\n%s", strings.Join(v, "\n"))
	}
	if out := stepValue(t, ctx, "measure the note", chromedp.Evaluate[bool](`(() => {
			const r = document.querySelector('#console-error').getBoundingClientRect();
			return r.left < 0 || r.right > window.innerWidth || r.bottom > window.innerHeight; })()`)); out {
		t.Errorf("the error note does not fit the 390 px viewport\n%s", dumpPage(t, ctx, "measure the note"))
	}
	step(t, ctx, "dismiss the note",
		chromedp.Click(`#console-error .dismiss`),
		chromedp.WaitNotPresent(`#console-error [data-testid=error-partial]`),
	)
}
