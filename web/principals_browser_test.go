package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
)

var secretPattern = regexp.MustCompile(`^wdn_[a-z2-7]{52}$`)

// checkAllowed asks the decision API whether the secret may call server/tool.
func checkAllowed(t *testing.T, base, secret, server, tool string) bool {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"key": secret, "server": server, "tool": tool})
	resp, err := http.Post(base+"/api/v1/check", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("check: %d %v", resp.StatusCode, err)
	}
	return r.Allowed
}

// A person creates a key in the support team, copies its secret from the one page that shows
// it, and the decision API lets that secret call the team's tools; the key's page never shows
// the secret again. Rotating it stops the old one at once.
func TestCreateKeyInBrowser(t *testing.T) {
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		need(t, "axe-core", "run npm ci in web/testdata/axe")
	}
	ctx := browser(t)
	st, srv, _ := demoConsole(t)
	defer srv.Close()
	signIn(t, ctx, srv, st, "alice", models.RoleAdmin)

	step(t, ctx, "open the new key page",
		chromedp.Navigate(srv.URL+"/keys/new"),
		chromedp.WaitVisible(`[data-testid=field-name]`),
	)
	step(t, ctx, "fill in the key",
		chromedp.SendKeys(`[data-testid=field-name]`, "laptop"),
		chromedp.SetValue(`[data-testid=field-team]`, "support"),
	)
	resp := navigateBy(t, ctx, "create", chromedp.Click(`[data-testid=save]`))
	expectDocument(t, ctx, "create", resp, 200, "/keys")
	secret := strings.TrimSpace(stepValue(t, ctx, "read the secret", chromedp.Text(`#key-secret`)))
	if !secretPattern.MatchString(secret) {
		t.Fatalf("secret %q is not wdn_ and 32 random bytes", secret)
	}
	claude := stepValue(t, ctx, "read the Claude Code snippet", chromedp.Text(`#claude`))
	if !strings.Contains(claude, "claude mcp add --transport http warden "+srv.URL+"/mcp --header \"Authorization: Bearer "+secret+"\"") {
		t.Errorf("Claude Code snippet: %s", claude)
	}
	if v := axeSerious(t, ctx, string(axe)); len(v) > 0 {
		t.Errorf("accessibility violations on the secret page:\n%s", strings.Join(v, "\n"))
	}
	step(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	if w := stepValue(t, ctx, "measure", chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("the secret page is %d px wide at 390 px", w)
	}
	shot := stepValue(t, ctx, "screenshot", chromedp.FullScreenshot(90))
	_ = os.WriteFile(artifact(t, "key-secret-390.png"), shot, 0o644)
	step(t, ctx, "laptop width", chromedp.EmulateViewport(1280, 800))

	// support's toolsets include read-only; ask the resolver-backed API about a tool of it.
	if !checkAllowed(t, srv.URL, secret, "github", "get_file_contents") && !checkAllowed(t, srv.URL, secret, "docs", "search_docs") {
		t.Errorf("the new secret is refused for the support team's tools")
	}
	if checkAllowed(t, srv.URL, secret, "github", "delete_repo") {
		t.Errorf("the new key may delete repositories, which acme denies")
	}

	// Shown once: the key's page does not have it.
	resp = navigateBy(t, ctx, "open the key", chromedp.Click(`[data-testid=done]`))
	expectDocument(t, ctx, "open the key", resp, 200, "/keys/laptop")
	page := stepValue(t, ctx, "read the key page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if strings.Contains(page, secret) || !strings.Contains(page, secret[:10]) {
		t.Errorf("the key page shows the secret, or not its prefix")
	}
	// Rotate: a new secret, and the old one no longer works.
	navigateBy(t, ctx, "rotate", chromedp.Click(`[data-testid=rotate]`))
	fresh := strings.TrimSpace(stepValue(t, ctx, "read the new secret", chromedp.Text(`#key-secret`)))
	if !secretPattern.MatchString(fresh) || fresh == secret {
		t.Fatalf("rotated secret %q", fresh)
	}
	if checkAllowed(t, srv.URL, secret, "github", "get_file_contents") || checkAllowed(t, srv.URL, secret, "docs", "search_docs") {
		t.Errorf("the old secret still works after rotating")
	}
}

// A person edits a team: choosing Inherit shows in the preview what its keys gain and lose,
// with the line under each choice saying what the team would get; Save stores it. (Team web of
// globex: Inherit there breaks none of the demo's guards; support's keys would gain
// postgres/execute, which few-executors refuses.)
func TestEditTeamInBrowser(t *testing.T) {
	ctx := browser(t)
	st, srv, _ := demoConsole(t)
	defer srv.Close()
	signIn(t, ctx, srv, st, "alice", models.RoleAdmin)
	before := dialogs.Load()

	step(t, ctx, "open the team",
		chromedp.Navigate(srv.URL+"/teams/web/settings"),
		chromedp.WaitVisible(`#preview-panel`),
		watchPreview(),
	)
	limitLine := stepValue(t, ctx, "read the limit line", chromedp.Text(`#choice-limit-now`))
	step(t, ctx, "choose Inherit", chromedp.Click(`[data-testid=mode-none]`))
	waitPreview(t, ctx, "wait for the preview")
	headline := strings.Join(strings.Fields(stepValue(t, ctx, "read the headline", chromedp.Text(`[data-testid=preview-headline]`))), " ")
	if headline == "No change" || !strings.Contains(headline, "key") {
		t.Fatalf("headline %q", headline)
	}
	rows := stepValue(t, ctx, "count the team's keys in the preview", chromedp.Evaluate[int64](`document.querySelectorAll('#preview-panel [data-testid=impact-row]').length`))
	if rows < 1 {
		t.Errorf("the preview lists %d of the team's keys", rows)
	}
	// Why? highlights what changes.
	step(t, ctx, "open Why?",
		chromedp.Click(`details.why summary`),
		chromedp.WaitVisible(`details.why[open] [data-testid=why-after] .line.changed`),
	)
	if got := stepValue(t, ctx, "read the limit line again", chromedp.Text(`#choice-limit-now`)); got != limitLine {
		t.Errorf("the limit line changed with the choice alone: %q, was %q", got, limitLine)
	}
	resp := navigateBy(t, ctx, "save", chromedp.Click(`[data-testid=save]`))
	expectDocument(t, ctx, "save", resp, 200, "/teams/web/settings")
	if flash := stepValue(t, ctx, "read the flash", chromedp.Text(`[data-testid=flash]`)); !strings.HasPrefix(flash, "Saved") {
		t.Errorf("flash %q", flash)
	}
	if dialogs.Load() != before {
		t.Errorf("saving asked about unsaved changes")
	}
	doc, _, err := st.LoadDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range doc.Teams {
		if tm.Name == "web" && tm.MCP != nil {
			t.Fatalf("web still limits: %+v", tm.MCP)
		}
	}
	// An edit, then leaving: the page asks first.
	step(t, ctx, "edit again", chromedp.Click(`[data-testid=mode-limit]`))
	step(t, ctx, "leave", chromedp.Navigate(srv.URL+"/teams"), chromedp.WaitVisible(`[data-testid=team-list]`))
	if dialogs.Load() == before {
		t.Errorf("leaving with an unsaved edit did not ask")
	}
}

// Deleting a team with keys: the page says what becomes of them, the preview what is lost, and
// the name must be typed; a wrong name deletes nothing.
func TestDeleteTeamInBrowser(t *testing.T) {
	ctx := browser(t)
	st, srv, _ := demoConsole(t)
	defer srv.Close()
	signIn(t, ctx, srv, st, "alice", models.RoleAdmin)

	step(t, ctx, "open the deletion",
		chromedp.Navigate(srv.URL+"/teams/support/delete"),
		chromedp.WaitVisible(`[data-testid=confirm]`),
	)
	step(t, ctx, "delete the keys too", chromedp.Click(`[data-testid=then-delete]`),
		chromedp.WaitVisible(`#preview-panel [data-testid=impact-row][data-name=helpdesk-bot]`))
	step(t, ctx, "type a wrong name", chromedp.SendKeys(`[data-testid=confirm]`, "suport"))
	resp := navigateBy(t, ctx, "delete with the wrong name", chromedp.Click(`[data-testid=delete]`))
	if resp.Status != 422 {
		t.Fatalf("wrong name: %d", resp.Status)
	}
	// The refusing page keeps the choice and asks again, with an empty box.
	step(t, ctx, "type the name", chromedp.WaitVisible(`[data-testid=then-delete]:checked`), chromedp.SendKeys(`[data-testid=confirm]`, "support"))
	resp = navigateBy(t, ctx, "delete", chromedp.Click(`[data-testid=delete]`))
	expectDocument(t, ctx, "delete", resp, 200, "/teams")
	if flash := stepValue(t, ctx, "read the flash", chromedp.Text(`[data-testid=flash]`)); !strings.HasPrefix(flash, "Deleted team support") {
		t.Errorf("flash %q", flash)
	}
	doc, _, _ := st.LoadDocument(context.Background())
	for _, k := range doc.Keys {
		if k.Team == "support" || k.Name == "helpdesk-bot" {
			t.Fatalf("key %s left behind", k.Name)
		}
	}
	events, _ := st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindKey, EntityName: "helpdesk-bot"})
	if len(events) == 0 || events[0].Action != "delete" {
		t.Errorf("no audit event of the deleted key: %+v", events)
	}
}
