package main

import (
	"context"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/password"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// warden user create/set-password/list/delete, on SQLite and Postgres: passwords from standard
// input only, stored hashed; bad input exits 2 naming the problem, writing nothing.
func TestUserCommands(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := storetest.DSN(t, kind)
			if code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, "version: 1\norganizations:\n  - {name: acme}\n  - {name: globex}\n")); code != 0 {
				t.Fatalf("import: %s", errs)
			}
			const pw = "correct-horse-battery"
			if code, _, errs := runCLIStdin(t, pw+"\n", nil, "user", "create", "--username", "ann", "--role", "org_admin", "--org", "acme", "--org", "globex", "--password-stdin", "--db", db); code != 0 {
				t.Fatalf("create: %d %s", code, errs)
			}
			for _, bad := range []struct {
				stdin string
				args  []string
				want  string
			}{
				{"", []string{"--username", "bo", "--role", "org_admin", "--password-stdin"}, "needs at least one organization"},
				{"", []string{"--username", "bo", "--role", "root"}, `unknown role "root"`},
				{"short\n", []string{"--username", "bo", "--role", "viewer", "--password-stdin"}, "at least 12 characters"},
				{pw + "\n", []string{"--username", "Bo", "--role", "viewer", "--password-stdin"}, `username "Bo"`},
				{"", []string{"--role", "viewer"}, "--username and --role are required"},
				{pw + "\n", []string{"--username", "bo", "--role", "org_admin", "--org", "initech", "--password-stdin"}, "--org: unknown organization initech"},
			} {
				code, _, errs := runCLIStdin(t, bad.stdin, nil, append(append([]string{"user", "create"}, bad.args...), "--db", db)...)
				if code != 2 || !strings.Contains(errs, bad.want) {
					t.Errorf("create %v: exit %d, stderr %q; want 2 and %q", bad.args, code, errs, bad.want)
				}
			}
			if code, _, errs := runCLIStdin(t, pw+"\n", nil, "user", "create", "--username", "ann", "--role", "viewer", "--password-stdin", "--db", db); code != 1 || !strings.Contains(errs, `user "ann" already exists`) {
				t.Errorf("a second ann: exit %d, %s", code, errs)
			}
			code, out, _ := runCLI(t, "user", "list", "--db", db)
			if code != 0 || !strings.Contains(out, "ann") || !strings.Contains(out, "org_admin") || !strings.Contains(out, "acme,globex") || strings.Contains(out, "bo ") {
				t.Fatalf("list: %d\n%s", code, out)
			}
			st, err := store.Open(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			u, err := st.UserByName(context.Background(), "ann")
			if err != nil || strings.Contains(u.PasswordHash, pw) || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
				t.Fatalf("stored hash %q, %v", u.PasswordHash, err)
			}
			if ok, _ := password.Verify(context.Background(), pw, u.PasswordHash); !ok {
				t.Fatal("the stored hash does not verify the password")
			}
			cookie := storetest.Session(t, st, "ann", models.RoleOrgAdmin)
			if code, _, errs := runCLI(t, "user", "set-password", "ann", "--db", db); code != 2 || !strings.Contains(errs, "--password-stdin is required") {
				t.Errorf("set-password without stdin: %d %s", code, errs)
			}
			if code, _, errs := runCLIStdin(t, "another-long-password\n", nil, "user", "set-password", "ann", "--password-stdin", "--db", db); code != 0 {
				t.Fatalf("set-password: %d %s", code, errs)
			}
			if _, _, err := st.SessionUser(context.Background(), models.HashSecret(cookie.Value), 0); models.ErrorCode(err) != models.ENotFound {
				t.Errorf("ann's session survived set-password: %v", err)
			}
			if code, _, errs := runCLIStdin(t, "a-long-enough-password\n", nil, "user", "set-password", "nobody", "--password-stdin", "--db", db); code == 0 || !strings.Contains(errs, `unknown user "nobody"`) {
				t.Errorf("set-password nobody: %d %s", code, errs)
			}
			if code, _, errs := runCLI(t, "user", "delete", "ann", "--db", db); code != 0 {
				t.Fatalf("delete: %d %s", code, errs)
			}
			if code, out, _ := runCLI(t, "user", "list", "--db", db); code != 0 || strings.Contains(out, "ann") {
				t.Errorf("ann listed after delete:\n%s", out)
			}
		})
	}
}
