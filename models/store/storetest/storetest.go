// Package storetest opens real databases for tests: a SQLite file in the test's temporary
// folder, or a fresh Postgres database created for the test and dropped after it, so test
// packages can run in parallel without sharing state.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for creating and dropping databases

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/seal"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/testenv"
)

// EnvURL names the variable holding the Postgres server tests may create databases on.
const EnvURL = "WARDEN_TEST_DATABASE_URL"

// Kinds are the database kinds every store test runs against.
var Kinds = []string{store.KindSQLite, store.KindPostgres}

// SecretKey is the WARDEN_SECRET_KEY of the stores Open returns (random bytes, for tests only).
const SecretKey = "q0Pp1Yb0l3oQm0c8Rr2gN6Xo9k3WfGJ4a7tLcHhZs5E="

// Key is SecretKey parsed.
func Key(t testing.TB) *seal.Key {
	t.Helper()
	k, err := seal.ParseKey(SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Each runs fn as a subtest against a fresh, migrated store of every kind.
func Each(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			fn(t, Open(t, kind))
		})
	}
}

// Open returns a fresh, migrated store of the given kind, with SecretKey (opts may replace it),
// closed (and for Postgres dropped) when the test ends. Without WARDEN_TEST_DATABASE_URL a Postgres test is skipped with a
// visible message, except under CI, where it fails.
func Open(t testing.TB, kind string, opts ...store.Option) *store.Store {
	t.Helper()
	ctx := context.Background()
	dsn := DSN(t, kind)
	st, err := store.Open(ctx, dsn, append([]store.Option{store.WithSecretKey(Key(t))}, opts...)...)
	if err != nil {
		t.Fatalf("open %s store: %v", kind, err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s store: %v", kind, err)
	}
	return st
}

// DSN returns a database setting for a fresh, empty database of the given kind.
func DSN(t testing.TB, kind string) string {
	t.Helper()
	if kind == store.KindSQLite {
		return filepath.Join(t.TempDir(), "warden.db")
	}
	base := os.Getenv(EnvURL)
	if base == "" {
		testenv.Require(t, "Postgres test: set %s (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run it", EnvURL)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvURL, err)
	}
	defer admin.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "warden_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// MustApply imports doc into st or fails the test.
func MustApply(t testing.TB, st *store.Store, doc *models.Document) *store.ImportSummary {
	t.Helper()
	sum, err := st.ApplyDocument(context.Background(), doc, "test")
	if err != nil {
		t.Fatalf("apply document: %v", err)
	}
	return sum
}

// MustLoad parses and validates YAML or fails the test.
func MustLoad(t testing.TB, yaml string) *models.Document {
	t.Helper()
	doc, err := models.LoadDocument([]byte(yaml))
	if err != nil {
		t.Fatalf("load document: %v", err)
	}
	return doc
}

// Exec runs SQL on st's database through a connection of its own, behind the store's back (to
// corrupt rows, or write history, the store itself would never write).
func Exec(t testing.TB, st *store.Store, stmts ...string) {
	t.Helper()
	db := rawDB(t, st)
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// RecordDecisions writes rows to st's decision log as its writer does: the raw decisions, and
// the calls among them into the rollup.
func RecordDecisions(t testing.TB, st *store.Store, rows ...models.Decision) {
	t.Helper()
	var r store.Rollup
	for i := range rows {
		r.Add(&rows[i])
	}
	ctx := context.Background()
	if err := st.InsertDecisions(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRollup(ctx, &r); err != nil {
		t.Fatal(err)
	}
}

// ExecArgs runs one statement with arguments on st's database behind the store's back.
func ExecArgs(t testing.TB, st *store.Store, stmt string, args ...any) {
	t.Helper()
	db := rawDB(t, st)
	defer db.Close()
	if st.Kind() == store.KindPostgres {
		stmt = dollarParams(stmt)
	}
	if _, err := db.Exec(stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// dollarParams numbers the ? placeholders of stmt as Postgres's $1, $2, ….
func dollarParams(stmt string) string {
	var b strings.Builder
	n := 0
	for _, r := range stmt {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// QueryString runs a query returning one text value on st's database behind the store's back
// (to see what a column really holds).
func QueryString(t testing.TB, st *store.Store, query string, args ...any) string {
	t.Helper()
	db := rawDB(t, st)
	defer db.Close()
	var out string
	if err := db.QueryRow(query, args...).Scan(&out); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// rawDB opens a connection pool of its own on st's database, behind the store's back.
func rawDB(t testing.TB, st *store.Store) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", st.DSN()
	if st.Kind() == store.KindSQLite {
		driver, dsn = "sqlite", dsn+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db
}
