package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

// The body budget of web.Limits reaches the gateway and the decision API, and a check request is
// bounded by its own 64 KiB (the README's figure), not by the gateway's --max-body.
func TestBodyBudgetWired(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustApply(t, st, doc)
	ctx := context.Background()
	secret, err := st.IssueKeySecret(ctx, "storybook-bot", "test")
	if err != nil {
		t.Fatal(err)
	}
	state := live.New(st, live.Options{})
	if err := state.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// A budget smaller than the bodies sent: every one of them is refused (serve refuses such
	// flags; web.Limits takes them as given).
	srv := httptest.NewServer(storetest.AsUser(web.New(web.Deps{Store: st, State: state,
		Limits: web.Limits{MaxBodyInflightPerKey: 1 << 10, MaxBodyInflight: 1 << 10}}), storetest.Admin(t, st)))
	t.Cleanup(srv.Close)
	post := func(path, auth, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}` + strings.Repeat(" ", 2<<10)
	if status, body := post("/mcp/github", secret, call); status != 429 || !strings.Contains(body, `"code":-32037`) {
		t.Errorf("gateway, a body over the key's budget: %d %s", status, body)
	}
	check := `{"key":"` + secret + `","server":"github","tool":"list_issues"}`
	if status, body := post("/api/v1/check", "", check+strings.Repeat(" ", 2<<10)); status != 429 {
		t.Errorf("decision API, a body over its budget: %d %s", status, body)
	}
	if status, body := post("/api/v1/check", "", check+strings.Repeat(" ", 64<<10)); status != 413 || !strings.Contains(body, "larger than 65536 bytes") {
		t.Errorf("decision API, a body over 64 KiB: %d %s", status, body)
	}
}
