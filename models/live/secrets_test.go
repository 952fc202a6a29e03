package live_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// A server whose stored headers cannot be opened (here: another server's sealed value copied
// into its row) gets no headers and is marked unavailable; every other server, and the view,
// stay as they were. The log names the server and never shows a value.
func TestBadHeadersRowFailsClosedForItsServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seed(t, st)
		if err := st.SetServerAuthHeaders(ctx, "github", map[string]string{"Authorization": "Bearer gh-s3cret"}, "test"); err != nil {
			t.Fatal(err)
		}
		if err := st.SetServerAuthHeaders(ctx, "jira", map[string]string{"X-Api-Key": "jira-s3cret"}, "test"); err != nil {
			t.Fatal(err)
		}
		storetest.Exec(t, st, "UPDATE servers SET auth_headers = (SELECT auth_headers FROM servers WHERE name = 'github') WHERE name = 'jira'",
			`UPDATE policy_state SET revision = revision + 1 WHERE id = 1`)
		var logs bytes.Buffer
		s := live.New(st, live.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err := s.Load(ctx); err != nil {
			t.Fatalf("one bad row failed the whole view: %v", err)
		}
		v, err := s.View()
		if err != nil {
			t.Fatal(err)
		}
		if gh := v.Upstreams["github"]; gh.Unavailable != "" || gh.Headers["Authorization"] != "Bearer gh-s3cret" {
			t.Errorf("github %+v", gh)
		}
		jira := v.Upstreams["jira"]
		if jira.Headers != nil || !strings.Contains(jira.Unavailable, `server "jira"`) || jira.URL == "" {
			t.Errorf("jira %+v, want no headers and the reason", jira)
		}
		if h := s.Health(); h.Status() != "ok" {
			t.Errorf("health %+v", h)
		}
		if !strings.Contains(logs.String(), "server=jira") || strings.Contains(logs.String(), "s3cret") {
			t.Errorf("logs:\n%s", logs.String())
		}
	})
}
