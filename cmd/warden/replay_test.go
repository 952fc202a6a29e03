package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// `warden policy replay` replays the database's recorded calls against a whole document. The
// expected counts are worked out from the traffic below on doc (acme: github only, delete_repo
// denied; billing-svc: no access): the new document also denies create_issue, and gives
// billing-svc github.
func TestPolicyReplay(t *testing.T) {
	after := strings.Replace(strings.Replace(doc, "deny_tools: [github/delete_repo]", "deny_tools: [github/delete_repo, github/create_issue]", 1),
		"organization: acme, mcp: {}}", "organization: acme, mcp: {servers: [github]}}", 1)
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := storetest.DSN(t, kind)
			if code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, doc)); code != 0 {
				t.Fatalf("import exit %d: %s", code, errs)
			}
			ctx := context.Background()
			st, err := store.Open(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Now().Add(-3 * time.Hour)
			var rows []models.Decision
			for _, c := range []struct {
				n         int
				key, tool string
				allowed   bool
			}{{4, "ci-bot", "create_issue", true}, {2, "ci-bot", "list_issues", true}, {3, "billing-svc", "list_issues", false}, {1, "ci-bot", "delete_repo", false}} {
				for range c.n {
					rows = append(rows, models.Decision{At: at, Kind: "call", KeyName: c.key, Server: "github", Tool: c.tool, Allowed: c.allowed, Revision: 1})
				}
			}
			storetest.RecordDecisions(t, st, rows...)
			st.Close()

			afterFile := writeFile(t, after)
			code, out, errs := runCLI(t, "policy", "replay", "--db", db, "--after", afterFile)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			since, err := time.Parse(time.RFC3339, got["since"].(string))
			// The rollup counts by the hour: the window begins at the start of an hour.
			if start := time.Now().Add(-168 * time.Hour); err != nil || since.After(start) || start.Sub(since) >= time.Hour || since.Minute() != 0 {
				t.Errorf("since %v (%v)", got["since"], err)
			}
			delete(got, "since")
			for _, dir := range []string{"newly_denied", "newly_allowed"} {
				c := got[dir].(map[string]any)
				for _, list := range []string{"by_tool", "by_key"} {
					for _, row := range c[list].([]any) {
						ls, err := time.Parse(time.RFC3339, row.(map[string]any)["last_seen"].(string))
						if err != nil || ls.Sub(at).Abs() > time.Second {
							t.Errorf("%s %s last_seen %v (%v), want %s", dir, list, row.(map[string]any)["last_seen"], err, at)
						}
						delete(row.(map[string]any), "last_seen")
					}
				}
			}
			b, _ := json.Marshal(got)
			want := `{"calls":10,"keys":2,` +
				`"newly_allowed":{"by_key":[{"calls":3,"key":"billing-svc"}],"by_tool":[{"calls":3,"keys":1,"server":"github","tool":"list_issues"}],"calls":3,"keys":1},` +
				`"newly_denied":{"by_key":[{"calls":4,"key":"ci-bot"}],"by_tool":[{"calls":4,"keys":1,"server":"github","tool":"create_issue"}],"calls":4,"keys":1}}`
			if string(b) != want {
				t.Errorf("replay\n got %s\nwant %s", b, want)
			}

			// A window that ends before the calls replays none of them.
			code, out, _ = runCLI(t, "policy", "replay", "--db", db, "--after", afterFile, "--since", "1h")
			if code != 0 || !strings.Contains(out, `"calls": 0`) || strings.Contains(out, "ci-bot") {
				t.Errorf("--since 1h: exit %d\n%s", code, out)
			}
			for _, bad := range [][]string{
				{"--db", db},
				{"--after", afterFile},
				{"--db", db, "--after", afterFile, "--since", "-1h"},
				{"--db", db, "--after", afterFile, "--since", "soon"},
				{"--db", db, "--after", writeFile(t, strings.Replace(after, "team: platform}", "team: plat}", 1))},
			} {
				if code, _, errs := runCLI(t, append([]string{"policy", "replay"}, bad...)...); code != 2 || errs == "" {
					t.Errorf("%v: exit %d, stderr %q; want 2 with a message", bad, code, errs)
				}
			}
		})
	}
}
