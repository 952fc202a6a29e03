package main

import (
	"context"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/models"
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
