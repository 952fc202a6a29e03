package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// holdLock opens a connection of its own to st's SQLite file and begins a transaction on it with
// begin ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"), as another process would; release ends it.
func holdLock(t *testing.T, st *store.Store, begin string) (conn *sql.Conn, release func()) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", st.DSN()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err = db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		t.Fatalf("%s: %v", begin, err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Errorf("release the lock: %v", err)
		}
		conn.Close()
		db.Close()
	}
	t.Cleanup(release)
	return conn, release
}

func TestSQLiteUsesWAL(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	db, err := sql.Open("sqlite", st.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode = %q, want wal", mode)
	}
}

// Reads neither wait for a writer nor take the write lock themselves: with another process in
// the middle of a write transaction (EXCLUSIVE, which in the rollback journal shuts readers out),
// the store still loads the policy and lists the decision log, without the uncommitted row.
func TestSQLiteReadsBesideAWriter(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st, storetest.MustLoad(t, small))
	ctx := context.Background()
	conn, _ := holdLock(t, st, "BEGIN EXCLUSIVE")
	if _, err := conn.ExecContext(ctx, "INSERT INTO decisions (at, kind, key_name, end_user, agent, server, tool, allowed, decided_by, revision) VALUES (?, 'call', 'ci-bot', '', '', 'github', 'list_issues', 1, '', 1)", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	// A read that waited for the lock would fail with SQLITE_BUSY once busy_timeout ran out.
	rctx := ctx
	if _, _, err := st.LoadDocument(rctx); err != nil {
		t.Fatalf("load beside a writer: %v", err)
	}
	rows, err := st.ListDecisions(rctx, store.DecisionFilter{})
	if err != nil || len(rows) != 0 {
		t.Fatalf("decision log beside a writer: %d rows, %v; want 0 rows (the insert is not committed)", len(rows), err)
	}
	if _, err := st.Revision(rctx); err != nil {
		t.Fatalf("revision beside a writer: %v", err)
	}
}

// A write transaction takes the write lock before its first read (BEGIN IMMEDIATE), so it never
// has to upgrade a read lock: the upgrade fails at once, without waiting, when another writer
// committed after the read (SQLITE_BUSY_SNAPSHOT in WAL) or holds the lock (deadlock avoidance
// in the rollback journal). Seen from another connection: while the import reads, no one else
// can begin a write.
func TestSQLiteWriteTransactionsBeginImmediate(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st, storetest.MustLoad(t, small))
	other, err := sql.Open("sqlite", st.DSN()+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var otherErr error
	hooked := false
	if err := store.OnFirstQuery(st, func() {
		hooked = true
		_, otherErr = other.Exec("INSERT INTO decisions (at, kind, key_name, end_user, agent, server, tool, allowed, decided_by, revision) VALUES (?, 'call', 'ci-bot', '', '', 'github', 'list_issues', 1, '', 1)", time.Now().UTC())
	}); err != nil {
		t.Fatal(err)
	}
	next := storetest.MustLoad(t, small)
	next.Organizations[1].Blocked = true
	if _, err := st.ApplyDocument(context.Background(), next, "test"); err != nil {
		t.Fatal(err)
	}
	if !hooked {
		t.Fatal("the import ran no query")
	}
	if !store.IsBusy(otherErr) {
		t.Fatalf("another connection wrote while the import was reading (err %v): the import's transaction did not hold the write lock", otherErr)
	}
}
