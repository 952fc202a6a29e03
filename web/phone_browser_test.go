package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

// consolePages are the console's pages a person reads, with what each waits for. The settings
// page is opened with its preview and a Why? open, the widest state it has.
var consolePages = []struct{ name, path, ready string }{
	{"orgs", "/orgs", `[data-testid=org-list]`},
	{"org-settings", "/orgs/acme/settings", `#preview-panel`},
	{"teams", "/teams", `[data-testid=team-list]`},
	{"keys", "/keys", `[data-testid=key-list]`},
	{"key", "/keys/data-pipeline", `[data-testid=key-access]`},
	{"servers", "/servers", `[data-testid=server-list]`},
	{"server", "/servers/github", `[data-testid=tool-list]`},
	{"toolsets", "/toolsets", `[data-testid=toolset-list]`},
	{"access-groups", "/access-groups", `[data-testid=group-list]`},
	{"audit", "/audit", `[data-testid=audit-list]`},
	{"guards", "/guards", `[data-testid=guard-list]`},
	{"guard", "/guards/few-executors", `[data-testid=guard-preview-holds]`},
	{"new-guard", "/guards/new", `#guard-preview`},
	{"team-settings", "/teams/platform/settings", `#preview-panel`},
	{"team-new", "/teams/new", `#preview-panel`},
	{"team-delete", "/teams/support/delete", `[data-testid=dependants]`},
	{"key-settings", "/keys/data-pipeline/settings", `#preview-panel`},
	{"key-new", "/keys/new", `#preview-panel`},
	{"end-users", "/end-users", `[data-testid=principal-list]`},
	{"end-user-settings", "/end-users/alice/settings", `#preview-panel`},
	{"agents", "/agents", `[data-testid=principal-list]`},
	{"agent-settings", "/agents/triage-agent/settings", `#preview-panel`},
	{"agent-delete", "/agents/triage-agent/delete", `#preview-panel`},
	{"audit-event", "/audit/1", `[data-testid=audit-event]`},
	{"server-settings", "/servers/github/settings", `#preview-panel`},
	{"server-new", "/servers/new", `#name`},
	{"group-settings", "/access-groups/engineering/settings", `#preview-panel`},
	{"toolset-settings", "/toolsets/read-only/settings", `#preview-panel`},
	{"toolset-new", "/toolsets/new", `#name`},
	{"import", "/import", `[data-testid=import-form]`},
	{"account", "/account", `[data-testid=create-token]`},
	{"users", "/users", `[data-testid=create-user]`},
	{"error", "/nope", `main h1`},
}

// scrollRegionsJS numbers every element of the page that scrolls its content (overflow auto
// or scroll, with content wider or taller than its box) in a data-scroll-region attribute, and
// returns a description of each, by number.
const scrollRegionsJS = `Array.from(document.querySelectorAll('body *')).filter(e => {
	const s = getComputedStyle(e);
	const x = (s.overflowX === 'auto' || s.overflowX === 'scroll') && e.scrollWidth > e.clientWidth;
	const y = (s.overflowY === 'auto' || s.overflowY === 'scroll') && e.scrollHeight > e.clientHeight;
	return (x || y) && e.getClientRects().length > 0;
}).map((e, i) => (e.dataset.scrollRegion = i, e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + '[' + (e.getAttribute('aria-label') || '') + ']'))`

// stickOutJS lists the innermost elements whose right edge is beyond the window's, to say what
// makes a page too wide.
const stickOutJS = `Array.from(document.querySelectorAll('body *')).filter(e =>
	e.getBoundingClientRect().right > window.innerWidth + 0.5 &&
	!Array.from(e.children).some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5)
).slice(0, 10).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ' right=' + Math.round(e.getBoundingClientRect().right))`

// startTabbingJS puts the focus on the page's first link, where a person's first Tab lands.
const startTabbingJS = `document.querySelector('a[href]').focus()`

// focusedJS says where the focus is after a Tab: "region N" on a scroll region, "again" on an
// element it was on before (the Tabs have gone round the page), or "" anywhere else (the body
// too: the focus passes through the browser's own controls at the end of the page).
const focusedJS = `(() => { const e = document.activeElement;
	if (!e || e === document.body) return '';
	if (e.wardenTabbed) return 'again';
	e.wardenTabbed = true;
	return e.dataset.scrollRegion !== undefined ? 'region ' + e.dataset.scrollRegion : '' })()`

// Every console page fits a 390 px phone screen and a 1280 px laptop one: nothing is wider than
// the viewport (a wide table scrolls inside its own region), axe finds no serious or critical
// violation, and every region that scrolls can be reached with Tab, so a keyboard user can
// scroll it too.
func TestConsoleAtPhoneAndLaptopWidthsInBrowser(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	ctx := browser(t)
	st, srv, _ := demoConsole(t)
	defer srv.Close()
	signIn(t, ctx, srv, st, "alice", models.RoleAdmin)

	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"phone", 390, 844}, {"laptop", 1280, 800}} {
		step(t, ctx, "resize to "+vp.name, chromedp.EmulateViewport(vp.width, vp.height))
		for _, pg := range consolePages {
			name := vp.name + " " + pg.name
			step(t, ctx, "open "+name,
				chromedp.Navigate(srv.URL+pg.path),
				chromedp.WaitVisible(pg.ready),
			)
			if pg.name == "org-settings" {
				step(t, ctx, "open a preview on "+name,
					watchPreview(),
					chromedp.Focus(`#servers-input`),
					chromedp.KeyEvent(kb.Backspace),
					chromedp.KeyEvent(kb.Escape),
				)
				waitPreview(t, ctx, "wait for the preview on "+name)
				step(t, ctx, "open Why? on "+name,
					chromedp.Click(`details.why summary`),
					chromedp.WaitVisible(`details.why[open] [data-testid=why-after] [data-testid=explain-line]`),
				)
			}
			checkLayout(t, ctx, axe, name, pg.path, "width-"+vp.name+"-"+pg.name+".png")
		}
	}
}

// checkLayout checks the page the tab shows: nothing wider than the window (a wide table scrolls
// inside its own region), no serious or critical axe violation, every scrolling region reachable
// with Tab; and saves a screenshot as the artifact shot.
func checkLayout(t *testing.T, ctx context.Context, axe []byte, name, path, shot string) {
	t.Helper()
	widths := stepValue(t, ctx, "measure "+name, chromedp.Evaluate[[]int64](
		`[document.documentElement.scrollWidth, window.innerWidth]`))
	if widths[0] > widths[1] {
		wide := stepValue(t, ctx, "find what sticks out on "+name, chromedp.Evaluate[[]string](stickOutJS))
		t.Errorf("%s (%s) is %d px wide in a %d px window: %d px too wide; sticking out:\n%s\n%s",
			name, path, widths[0], widths[1], widths[0]-widths[1], strings.Join(wide, "\n"), dumpPage(t, ctx, "too wide "+name))
	}
	if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
		t.Errorf("accessibility violations on %s (%s):\n%s", name, path, strings.Join(v, "\n"))
	}
	checkScrollRegionsReachable(t, ctx, name)
	png := stepValue(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(artifact(t, shot), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkScrollRegionsReachable tabs through the page from its first link until the focus comes
// round again, and fails for every scrolling region it never lands on.
func checkScrollRegionsReachable(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	regions := stepValue(t, ctx, "find scroll regions on "+name, chromedp.Evaluate[[]string](scrollRegionsJS))
	if len(regions) == 0 {
		return
	}
	reached := make([]bool, len(regions))
	step(t, ctx, "start tabbing on "+name, chromedp.Evaluate[chromedp.Void](startTabbingJS))
	// Far more Tabs than any page has stops: the loop ends when the focus comes round.
	for range 2000 {
		step(t, ctx, "tab on "+name, chromedp.KeyEvent(kb.Tab))
		f := stepValue(t, ctx, "read the focus on "+name, chromedp.Evaluate[string](focusedJS))
		if f == "again" {
			break
		}
		var i int
		if _, err := fmt.Sscanf(f, "region %d", &i); err == nil {
			reached[i] = true
		}
	}
	for i, r := range regions {
		if !reached[i] {
			t.Errorf("%s: the scrolling region %s cannot be reached with Tab", name, r)
		}
	}
}

// mixedScriptPolicy has a server whose catalogue holds "get_file" and a tool that passes for
// it, "get_fіle" with a Cyrillic і (U+0456).
const mixedScriptPolicy = "version: 1\nservers:\n  - name: fs\n    url: https://mcp.example.com/fs\n    tools:\n      - {name: get_file, description: Read a file.}\n      - {name: \"get_f\u0456le\", description: Read a file.}\n"

// The mark on a tool name that mixes scripts is accessible and fits a phone screen.
func TestMixedScriptMarkInBrowser(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	ctx := browser(t)
	st := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st, storetest.MustLoad(t, mixedScriptPolicy))
	state := live.New(st, live.Options{})
	if err := state.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The console answers to loopback names on its listen port only: tell it the port.
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = web.New(web.Deps{Store: st, State: state, ListenAddr: srv.Listener.Addr().String()})
	srv.Start()
	defer srv.Close()
	signIn(t, ctx, srv, st, "alice", models.RoleAdmin)

	step(t, ctx, "open the server page on a phone",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(srv.URL+"/servers/fs"),
		chromedp.WaitVisible(`[data-testid=mixed-script]`),
	)
	marked := stepValue(t, ctx, "read the marks", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[data-testid=mixed-script]'), m => m.closest('tr').dataset.name + ': ' + m.textContent)`))
	if want := "get_f\u0456le: ⚠ mixed scripts: Latin and Cyrillic letters"; len(marked) != 1 || marked[0] != want {
		t.Errorf("marks %q, want [%q]", marked, want)
	}
	if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
		t.Errorf("accessibility violations on a server page with a mixed-script tool:\n%s", strings.Join(v, "\n"))
	}
	if w := stepValue(t, ctx, "measure", chromedp.Evaluate[[]int64](`[document.documentElement.scrollWidth, window.innerWidth]`)); w[0] > w[1] {
		t.Errorf("the page is %d px wide in a %d px window", w[0], w[1])
	}
	shot := stepValue(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(artifact(t, "mixed-script-server-phone.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
