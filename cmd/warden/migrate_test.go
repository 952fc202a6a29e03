package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// runCLIEnv is runCLI with environment variables.
func runCLIEnv(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return vars[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

// latestVersion is the newest migration number, read from
// the folder rather than asked of the code under test.
func latestVersion(t *testing.T) int64 {
	t.Helper()
	files, err := filepath.Glob("../../models/store/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files: %v", err)
	}
	// The highest number, not the count: migrations are numbered by those who write them in
	// parallel, so a branch may lack a number another one has.
	var latest int64
	for _, f := range files {
		n, err := strconv.ParseInt(strings.SplitN(filepath.Base(f), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration file %s is not numbered: %v", f, err)
		}
		latest = max(latest, n)
	}
	return latest
}

// dbAt returns a fresh database of kind migrated to version, as an older binary left it (0: an
// empty database; for SQLite an existing, empty file).
func dbAt(t *testing.T, kind string, version int64) string {
	t.Helper()
	dsn := storetest.DSN(t, kind)
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if version > 0 {
		if _, err := st.MigrateTo(context.Background(), version); err != nil {
			t.Fatal(err)
		}
	} else if kind == store.KindSQLite {
		if err := st.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return dsn
}

// schemaState fingerprints a database's schema behind the store's back: every table and column
// (and on SQLite the whole file's bytes), and the versions goose recorded.
func schemaState(t *testing.T, kind, dsn string) string {
	t.Helper()
	driver, q := "pgx", `SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY 1`
	if kind == store.KindSQLite {
		driver, q = "sqlite", "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY 1"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, q := range []string{q, "SELECT CAST(version_id AS TEXT) FROM goose_db_version ORDER BY version_id"} {
		rows, err := db.Query(q)
		if err != nil {
			fmt.Fprintf(&b, "%s: no such table\n", q[:20])
			continue
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		rows.Close()
	}
	if kind == store.KindSQLite {
		data, err := os.ReadFile(dsn)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "file sha256 %x\n", sha256.Sum256(data))
	}
	return b.String()
}

// The commands that only read refuse an empty or outdated schema with a message naming both
// versions and `warden migrate`, and leave it as it was (finding: they used to migrate it).
func TestReadOnlyCommandsRefuseOutdatedSchema(t *testing.T) {
	latest := latestVersion(t)
	after := writeFile(t, doc)
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			for _, at := range []int64{0, latest - 1} {
				for _, args := range [][]string{
					{"export"},
					{"policy", "validate"},
					{"policy", "access"},
					{"policy", "check", "--key", "ci-bot", "--server", "github", "--tool", "list_issues"},
					{"policy", "diff", "--after", after},
					{"plan", "-f", after},
				} {
					name := strings.Join(args[:min(2, len(args))], " ")
					db := dbAt(t, kind, at) // each command its own, so none sees another's leftovers
					args = append(args, "--db", db)
					before := schemaState(t, kind, db)
					code, out, errs := runCLI(t, args...)
					if code != exitFailure || out != "" {
						t.Errorf("%s at version %d: exit %d, stdout %q, want exit 1 and nothing", name, at, code, out)
					}
					for _, want := range []string{
						fmt.Sprintf("version %d", at), fmt.Sprintf("version %d", latest), "`warden migrate`",
					} {
						if !strings.Contains(errs, want) {
							t.Errorf("%s at version %d: stderr lacks %q:\n%s", name, at, want, errs)
						}
					}
					if got := schemaState(t, kind, db); got != before {
						t.Errorf("%s at version %d changed the schema:\nbefore\n%s\nafter\n%s", name, at, before, got)
					}
				}
			}
		})
	}
}

// A SQLite path that does not exist is refused by the commands that only read, and not created.
func TestReadOnlyCommandsCreateNoSQLiteFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "typo.db")
	for _, args := range [][]string{{"export", "--db", db}, {"policy", "access", "--db", db}, {"plan", "-f", writeFile(t, doc), "--db", db}} {
		code, _, errs := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(errs, "does not exist") || !strings.Contains(errs, "warden migrate --db "+db) {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v created %s (%v)", args, db, err)
		}
	}
}

// `warden import` into a new SQLite file creates and migrates it, as before.
func TestImportIntoNewSQLiteFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "new.db")
	if code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, doc)); code != 0 {
		t.Fatalf("import into a new file: exit %d: %s", code, errs)
	}
	if code, out, errs := runCLI(t, "export", "--db", db); code != 0 || !strings.Contains(out, "name: ci-bot") {
		t.Fatalf("export after it: exit %d: %s\n%s", code, errs, out)
	}
	code, out, _ := runCLI(t, "migrate", "--db", db)
	if want := fmt.Sprintf("applied 0 migration(s); sqlite schema is at version %d\n", latestVersion(t)); code != 0 || out != want {
		t.Errorf("migrate after import: exit %d %q, want %q", code, out, want)
	}
}

// --no-migrate (or WARDEN_NO_MIGRATE) makes the commands that write refuse an outdated schema,
// and a missing SQLite file, instead of migrating or creating it; without it they migrate.
func TestNoMigrate(t *testing.T) {
	latest := latestVersion(t)
	policy := writeFile(t, doc)
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := dbAt(t, kind, latest-1)
			before := schemaState(t, kind, db)
			noMigrate := map[string]string{"WARDEN_NO_MIGRATE": "1"}
			for _, c := range []struct {
				vars map[string]string
				args []string
			}{
				{nil, []string{"import", "--no-migrate", "--db", db, "-f", policy}},
				{noMigrate, []string{"import", "--db", db, "-f", policy}},
				{nil, []string{"key", "secret", "ci-bot", "--no-migrate", "--db", db}},
				{nil, []string{"serve", "--no-migrate", "--db", db, "--addr", "127.0.0.1:0", "--no-demo"}},
				{noMigrate, []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--no-demo"}},
			} {
				code, errs := runGuarded(t, c.vars, c.args...)
				if code != exitFailure {
					t.Errorf("%v %v: exit %d, want 1; stderr:\n%s", c.vars, c.args, code, errs)
				}
				for _, want := range []string{
					fmt.Sprintf("version %d", latest-1), fmt.Sprintf("version %d", latest), "`warden migrate`", "--no-migrate",
				} {
					if !strings.Contains(errs, want) {
						t.Errorf("%v %v: stderr lacks %q:\n%s", c.vars, c.args, want, errs)
					}
				}
				if got := schemaState(t, kind, db); got != before {
					t.Errorf("%v %v changed the schema:\nbefore\n%s\nafter\n%s", c.vars, c.args, before, got)
				}
			}
			// WARDEN_NO_MIGRATE=0 and --no-migrate=false migrate, as no setting at all does.
			if code, _, errs := runCLIEnv(t, map[string]string{"WARDEN_NO_MIGRATE": "0"}, "import", "--db", db, "-f", policy); code != 0 {
				t.Fatalf("import with WARDEN_NO_MIGRATE=0: exit %d: %s", code, errs)
			}
			if schemaState(t, kind, db) == before {
				t.Fatal("import without --no-migrate did not migrate")
			}
			// At the current schema --no-migrate writes.
			if code, out, errs := runCLI(t, "key", "secret", "ci-bot", "--no-migrate", "--db", db); code != 0 || !strings.HasPrefix(out, store.SecretPrefix) {
				t.Errorf("key secret --no-migrate at the current schema: exit %d %q %s", code, out, errs)
			}
		})
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	if code, _, errs := runCLI(t, "import", "--no-migrate", "--db", missing, "-f", policy); code != exitUsage || !strings.Contains(errs, "does not exist") {
		t.Errorf("import --no-migrate into a missing file: exit %d %s", code, errs)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("import --no-migrate created %s (%v)", missing, err)
	}
}

// runGuarded runs the binary until it returns. A serve that failed to refuse would listen until
// its context ends; the deadline only turns that hang into a failure (exit 0) of the test.
func runGuarded(t *testing.T, vars map[string]string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, func(k string) string { return vars[k] }, &out, &errb)
	return code, errb.String()
}

// The flags of every subcommand, written out: `warden CMD -h` must list each.
var subcommandFlags = []struct {
	name  string
	flags []string
}{
	{"serve", []string{"addr", "db", "no-migrate", "no-demo", "max-stale", "decision-retention", "rollup-retention", "read-header-timeout",
		"read-timeout", "write-timeout", "idle-timeout", "session-timeout", "session-idle", "session-max", "max-body", "max-sessions-per-key"}},
	{"migrate", []string{"db"}},
	{"import", []string{"db", "no-migrate", "f", "actor"}},
	{"export", []string{"db"}},
	{"plan", []string{"db", "f", "o", "format"}},
	{"apply", []string{"db", "no-migrate", "actor"}},
	{"policy validate", []string{"f", "db"}},
	{"policy access", []string{"f", "db"}},
	{"policy check", []string{"f", "db", "key", "server", "tool", "end-user", "agent", "format", "explain"}},
	{"policy diff", []string{"before", "db", "after", "format"}},
	{"key secret", []string{"db", "no-migrate", "actor"}},
	{"server set-headers", []string{"db", "no-migrate", "actor"}},
	{"user create", []string{"db", "no-migrate", "actor", "username", "role", "org", "password-stdin"}},
	{"user set-password", []string{"db", "no-migrate", "actor", "password-stdin"}},
	{"user list", []string{"db", "no-migrate"}},
	{"user delete", []string{"db", "no-migrate", "actor"}},
}

// `warden --help`, `-h` and `help` list every subcommand, one line each with what it does.
func TestHelpListsEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || errs != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errs)
		}
		_, list, ok := strings.Cut(out, "commands:\n")
		list, _, _ = strings.Cut(list, "\n\n")
		if !ok {
			t.Fatalf("%v: no command list:\n%s", args, out)
		}
		var names []string
		for line := range strings.SplitSeq(list, "\n") {
			for _, c := range subcommandFlags {
				if rest, ok := strings.CutPrefix(line, "  "+c.name+" "); ok && strings.TrimSpace(rest) != "" {
					names = append(names, c.name)
				}
			}
			if rest, ok := strings.CutPrefix(line, "  help "); ok && strings.TrimSpace(rest) != "" {
				names = append(names, "help")
			}
		}
		want := "serve migrate import export plan apply policy validate policy access policy check policy diff key secret server set-headers user create user set-password user list user delete help"
		if got := strings.Join(names, " "); got != want || strings.Count(list, "\n")+1 != 17 {
			t.Errorf("%v lists\n%s\nwant one line with a summary for each of: %s", args, list, want)
		}
	}
}

// Every subcommand answers -h (and `warden help CMD`) with its usage and flags on standard
// output, exit 0.
func TestEverySubcommandAnswersHelp(t *testing.T) {
	for _, c := range subcommandFlags {
		args := append(strings.Fields(c.name), "-h")
		code, out, errs := runCLI(t, args...)
		if code != 0 || errs != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		if !strings.HasPrefix(out, "usage: warden "+c.name+" ") {
			t.Errorf("%v: usage line %q", args, strings.SplitN(out, "\n", 2)[0])
		}
		for _, f := range c.flags {
			if !strings.Contains(out, "\n  -"+f+" ") && !strings.Contains(out, "\n  -"+f+"\n") {
				t.Errorf("%v does not list -%s:\n%s", args, f, out)
			}
		}
		if code2, out2, _ := runCLI(t, append([]string{"help"}, strings.Fields(c.name)...)...); code2 != 0 || out2 != out {
			t.Errorf("warden help %s differs from %v", c.name, args)
		}
	}
	// Commands that only read offer no --no-migrate: they never migrate.
	for _, name := range []string{"export", "policy access", "migrate"} {
		if _, out, _ := runCLI(t, append(strings.Fields(name), "-h")...); strings.Contains(out, "no-migrate") {
			t.Errorf("%s -h offers --no-migrate", name)
		}
	}
	// The groups list their subcommands.
	for _, args := range [][]string{{"policy", "-h"}, {"policy", "help"}, {"key", "-h"}, {"key", "--help"}, {"server", "-h"}, {"server", "help"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || errs != "" || !strings.Contains(out, "usage: warden "+args[0]) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	// A wrong flag: exit 2, the error and a pointer to -h on stderr, nothing on stdout.
	code, out, errs := runCLI(t, "import", "--colour", "red")
	if code != exitUsage || out != "" || !strings.Contains(errs, "-colour") || !strings.Contains(errs, "warden import -h") {
		t.Errorf("bad flag: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "help", "nosuch"); code != exitUsage || !strings.Contains(errs, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: exit %d %s", code, errs)
	}
}

// A SQLite file an older binary left in rollback-journal mode, at the current schema: `export`
// reads it without switching its journal to WAL (which would rewrite the file's header).
func TestExportLeavesARollbackJournalFileAsItWas(t *testing.T) {
	db := dbAt(t, store.KindSQLite, latestVersion(t))
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode=DELETE").Scan(&mode); err != nil || mode != "delete" {
		t.Fatalf("journal_mode=DELETE: %q, %v", mode, err)
	}
	raw.Close()
	before := schemaState(t, store.KindSQLite, db)
	if code, _, errs := runCLI(t, "export", "--db", db); code != exitOK {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	if got := schemaState(t, store.KindSQLite, db); got != before {
		t.Errorf("export changed the file:\nbefore\n%s\nafter\n%s", before, got)
	}
	if _, err := os.Stat(db + "-wal"); err == nil {
		t.Errorf("export left %s-wal behind", db)
	}
}
