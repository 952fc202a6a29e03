package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/views"
	"github.com/warden-mcp/warden/web"
)

// need fails under CI and skips elsewhere when a browser-test prerequisite is missing.
func need(t *testing.T, what, hint string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing but CI is set: %s", what, hint)
	}
	t.Skipf("SKIPPING browser test: %s is missing (%s)", what, hint)
}

func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("WARDEN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := exec.LookPath(p); err == nil {
				return p
			}
		}
	}
	need(t, "Chromium", "run .ci/install-browser")
	return ""
}

// artifact returns where a test artifact goes: $WARDEN_ARTIFACTS or ./artifacts at the root.
func artifact(t *testing.T, name string) string {
	dir := os.Getenv("WARDEN_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, _ := filepath.Abs(filepath.Join(dir, name))
	return p
}

func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1400, 1000),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// axeSerious injects axe-core and returns every serious or critical violation on the page.
func axeSerious(t *testing.T, ctx context.Context, axe string) []string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatalf("inject axe: %v", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
			.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => v.impact + " " + v.id + ": " + v.help + " — " + v.nodes.map(n => n.target.join(" ")).join(", ")))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	return out
}

// A person opens the demo organization, adds a toolset and removes a server with the keyboard
// alone, waits for the preview to show what the resolver predicts, and saves.
func TestOrgSettingsInBrowser(t *testing.T) {
	axePath := filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js")
	axe, err := os.ReadFile(axePath)
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	ctx := browser(t)

	st, srv, want := demoConsole(t)
	defer srv.Close()

	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/orgs/acme/settings"),
		chromedp.WaitVisible(`#toolsets-input`),
		// Add the release toolset: type to search, Enter picks the first match.
		chromedp.Focus(`#toolsets-input`),
		chromedp.SendKeys(`#toolsets-input`, "rele"),
	)
	if err != nil {
		t.Fatalf("keyboard steps: %v", err)
	}
	// The open combobox is accessible too.
	if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
		t.Errorf("accessibility violations with a combobox open:\n%s", strings.Join(v, "\n"))
	}
	err = chromedp.Do(ctx,
		chromedp.KeyEvent(kb.Enter),
		chromedp.KeyEvent(kb.Escape),
		// Remove the postgres server: Backspace in an empty search removes the last chip.
		chromedp.Focus(`#servers-input`),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.KeyEvent(kb.Escape),
	)
	if err != nil {
		t.Fatalf("keyboard steps: %v", err)
	}
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const h = document.querySelector('[data-testid=preview-headline]');
			return h && h.textContent.trim().replace(/\s+/g, ' ') === `+jsString(want)+` })()`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid=preview-headline]`))
		t.Fatalf("waiting for the headline %q (page shows %q): %v", want, got, err)
	}
	// Choosing with the keyboard never submitted the form: nothing is saved yet.
	if rev, _ := st.Revision(context.Background()); rev != 1 {
		t.Fatalf("the keyboard steps saved something: revision %d", rev)
	}
	// Open one "Why?" so the screenshot shows an explanation.
	// Open the first "Why?": its explanation is fetched from the server.
	if err := chromedp.Do(ctx,
		chromedp.Click(`details.why summary`),
		chromedp.WaitVisible(`details.why [data-testid=why-after] [data-testid=explain-line]`),
	); err != nil {
		t.Fatalf("open Why?: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := artifact(t, "org-settings-preview.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the settings page with the preview open: %s", path)
	if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
		t.Errorf("accessibility violations on the settings page with the preview open:\n%s", strings.Join(v, "\n"))
	}

	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=save]`), chromedp.WaitVisible(`[data-testid=flash]`)); err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=flash]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(flash, "Saved — ") || !strings.Contains(flash, "lost access") {
		t.Errorf("flash %q", flash)
	}
	checkSaved(t, st)
	if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
		t.Errorf("accessibility violations after saving:\n%s", strings.Join(v, "\n"))
	}
}

// demoConsole serves the console over the demo policy, and returns the headline the preview
// must show for the scripted change to acme (drop the postgres server, add the release
// toolset), as the resolver computes it.
func demoConsole(t *testing.T) (*store.Store, *httptest.Server, string) {
	t.Helper()
	st := storetest.Open(t, store.KindSQLite)
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustApply(t, st, doc)
	state := live.New(st, live.Options{})
	if err := state.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Deps{Store: st, State: state}))
	acme := *doc.Clone().Organization("acme")
	if len(acme.MCP.Servers) != 1 || acme.MCP.Servers[0] != "postgres" {
		t.Fatalf("the demo's acme should select exactly the postgres server, has %v", acme.MCP.Servers)
	}
	acme.MCP.Servers = nil
	acme.MCP.Toolsets = append(acme.MCP.Toolsets, "release")
	before := resolver.Build(doc)
	sum := resolver.Diff(before, before.WithOrganization(acme)).Summary
	want := views.Headline(
		views.ImpactCount{Org: sum.OrganizationsLosing > 0, Teams: sum.TeamsLosing, Keys: sum.KeysLosing},
		views.ImpactCount{Org: sum.OrganizationsGaining > 0, Teams: sum.TeamsGaining, Keys: sum.KeysGaining})
	if want == "No change" {
		t.Fatal("the scripted change should change access in the demo")
	}
	return st, srv, want
}

// checkSaved checks the stored acme after the scripted change was saved.
func checkSaved(t *testing.T, st *store.Store) {
	t.Helper()
	saved, _, err := st.LoadDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := saved.Organization("acme").MCP
	if len(got.Servers) != 0 || !contains(got.Toolsets, "release") || !contains(got.AccessGroups, "engineering") {
		t.Errorf("stored acme: %+v", got)
	}
}

// Without JavaScript the page is a plain form: native multiple selects, a Preview button that
// renders the whole page with the preview, and Save.
func TestOrgSettingsWithoutJavaScript(t *testing.T) {
	ctx := browser(t)
	st, srv, want := demoConsole(t)
	defer srv.Close()
	noScript := chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	err := chromedp.Do(ctx,
		noScript,
		chromedp.Navigate(srv.URL+"/orgs/acme/settings"),
		chromedp.WaitVisible(`select#toolsets`),
		chromedp.SetAttributeValue(`#toolsets option[value="release"]`, "selected", "selected"),
		chromedp.RemoveAttribute(`#servers option[value="postgres"]`, "selected"),
		chromedp.Click(`[data-testid=preview-button]`),
		chromedp.WaitVisible(`[data-testid=preview-headline]`),
	)
	if err != nil {
		t.Fatalf("no-JavaScript preview: %v", err)
	}
	headline, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=preview-headline]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(headline), " "); got != want {
		t.Fatalf("headline %q, want %q", got, want)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=save]`), chromedp.WaitVisible(`[data-testid=flash]`)); err != nil {
		t.Fatalf("no-JavaScript save: %v", err)
	}
	flash, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid=flash]`))
	if !strings.HasPrefix(flash, "Saved — ") {
		t.Errorf("flash %q", flash)
	}
	checkSaved(t, st)
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
