package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// Remote mode against a real `warden serve` process: export, import and the policy commands
// with --server and a personal API token give what they give with --db; the server applies the
// token's role (a viewer's token reads, an admin's imports); without a token or over plain http
// to another machine nothing is sent.
func TestRemoteMode(t *testing.T) {
	db := storetest.DSN(t, store.KindSQLite)
	if code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, loadDoc("delete_repo"))); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	token := func(username string, role models.Role) string {
		u, err := st.CreateUser(context.Background(), store.NewUser{Username: username, Role: role}, "test")
		if err != nil {
			t.Fatal(err)
		}
		tok := handlers.TokenPrefix + strings.Repeat(username[:1], 43)
		if err := st.CreateAPIToken(context.Background(), &models.APIToken{UserID: u.ID, Name: "ci", TokenHash: models.HashSecret(tok), Prefix: tok[:10]}, username); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	viewer, admin := token("vera", models.RoleViewer), token("ada", models.RoleAdmin)
	// Recorded traffic for the replay: delete_repo, which the document denies, called by the key.
	now := time.Now().UTC()
	storetest.RecordDecisions(t, st,
		models.Decision{At: now.Add(-time.Hour), Kind: models.DecisionCall, KeyName: "load", Server: "github", Tool: "create_issue", Allowed: true, Revision: 1},
		models.Decision{At: now.Add(-time.Hour), Kind: models.DecisionCall, KeyName: "load", Server: "github", Tool: "list_issues", Allowed: true, Revision: 1})
	st.Close()
	base := startServe(t, db)

	_, local, _ := runCLI(t, "export", "--db", db)
	code, remote, errs := runCLI(t, "export", "--server", base, "--token", viewer)
	if code != 0 || remote != local {
		t.Fatalf("remote export: exit %d %s\n%s\nwant\n%s", code, errs, remote, local)
	}
	_, localAccess, _ := runCLI(t, "policy", "access", "--db", db)
	if code, out, errs := runCLIEnv(t, map[string]string{"WARDEN_SERVER": base, "WARDEN_TOKEN": viewer}, "policy", "access"); code != 0 || out != localAccess {
		t.Errorf("remote policy access (from the environment): exit %d %s\n%s", code, errs, out)
	}
	_, localCheck, _ := runCLI(t, "policy", "check", "--db", db, "--key", "load", "--server", "github", "--tool", "delete_repo")
	if code, out, errs := runCLI(t, "policy", "check", "--warden", base, "--token", viewer, "--key", "load", "--server", "github", "--tool", "delete_repo"); code != 1 || out != localCheck {
		t.Errorf("remote policy check: exit %d %s\n%s", code, errs, out)
	}
	after := writeFile(t, loadDoc("create_issue"))
	_, localDiff, _ := runCLI(t, "policy", "diff", "--db", db, "--after", after)
	if code, out, errs := runCLI(t, "policy", "diff", "--server", base, "--token", viewer, "--after", after); code != 0 || out != localDiff {
		t.Errorf("remote policy diff: exit %d %s\n%s", code, errs, out)
	}
	// The replay is the server's, of its own decision log: what --db gives here.
	_, localReplay, _ := runCLI(t, "policy", "replay", "--db", db, "--after", after)
	code, remoteReplay, errs := runCLI(t, "policy", "replay", "--server", base, "--token", viewer, "--after", after)
	var lr, rr resolver.ReplayResult
	if code != 0 || json.Unmarshal([]byte(localReplay), &lr) != nil || json.Unmarshal([]byte(remoteReplay), &rr) != nil ||
		lr.Calls != 2 || rr.Calls != lr.Calls || rr.NewlyDenied.Calls != 1 || rr.NewlyDenied.Calls != lr.NewlyDenied.Calls ||
		len(rr.NewlyDenied.ByTool) != 1 || rr.NewlyDenied.ByTool[0].Tool != "create_issue" {
		t.Errorf("remote policy replay: exit %d %s\n%s\nlocal:\n%s", code, errs, remoteReplay, localReplay)
	}
	if code, out, _ := runCLI(t, "policy", "replay", "--server", base, "--token", viewer, "--after", after, "--format", "text"); code != 0 ||
		!strings.Contains(out, "− 1 call by 1 key to 1 tool would now be denied") {
		t.Errorf("remote policy replay --format text: %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "import", "--server", base, "--token", viewer, "-f", after); code != 1 || !strings.Contains(errs, "Only an admin") {
		t.Errorf("a viewer's remote import: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "import", "--server", base, "--token", "wdt_"+strings.Repeat("x", 43), "-f", after); code != 1 || !strings.Contains(errs, "refused the token") {
		t.Errorf("an unknown token: exit %d %s", code, errs)
	}
	// A plan made remotely applies remotely while the policy stays; once it moved, it is stale
	// (exit 3, with who changed it), and nothing is written.
	planPath := t.TempDir() + "/plan.json"
	if code, _, errs := runCLI(t, "plan", "--server", base, "--token", viewer, "-f", after, "-o", planPath); code != 0 {
		t.Fatalf("remote plan: %d %s", code, errs)
	}
	stalePath := t.TempDir() + "/stale.json"
	if code, _, errs := runCLI(t, "plan", "--server", base, "--token", viewer, "-f", writeFile(t, loadDoc("list_issues")), "-o", stalePath); code != 0 {
		t.Fatalf("remote plan: %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "apply", planPath, "--server", base, "--token", viewer); code != 1 || !strings.Contains(errs, "Only an admin") {
		t.Errorf("a viewer's remote apply: exit %d %s", code, errs)
	}
	if code, out, errs := runCLI(t, "apply", planPath, "--server", base, "--token", admin); code != 0 || !strings.Contains(out, "revision: 2") {
		t.Fatalf("remote apply: exit %d %s\n%s", code, errs, out)
	}
	if code, _, errs := runCLI(t, "apply", stalePath, "--server", base, "--token", admin); code != exitConflict || !strings.Contains(errs, "changed since the plan") || !strings.Contains(errs, "ada (token ci)") {
		t.Errorf("a stale remote apply: exit %d %s", code, errs)
	}
	if _, out, _ := runCLI(t, "export", "--db", db); strings.Contains(out, "github/list_issues") {
		t.Error("the stale plan was written")
	}
	if code, out, errs := runCLI(t, "import", "--server", base, "--token", admin, "-f", writeFile(t, loadDoc("delete_repo"))); code != 0 || !strings.Contains(out, "revision: 3") {
		t.Fatalf("an admin's remote import: exit %d %s\n%s", code, errs, out)
	}
	if _, out, _ := runCLI(t, "export", "--db", db); !strings.Contains(out, "github/delete_repo") {
		t.Errorf("the remote import did not reach the database:\n%s", out)
	}
	if code, _, errs := runCLI(t, "export", "--server", base); code != 2 || !strings.Contains(errs, "--server needs --token") {
		t.Errorf("no token: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "export", "--server", "http://warden.example.com", "--token", admin); code != 2 || !strings.Contains(errs, "only over https") {
		t.Errorf("plain http elsewhere: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "import", "--server", base, "--token", admin, "--db", db, "-f", after); code != 2 || !strings.Contains(errs, "not both") {
		t.Errorf("--db and --server: exit %d %s", code, errs)
	}
}
