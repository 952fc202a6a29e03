package store_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
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
	data, first, last := store.EncodeSegment([]models.Decision{{At: time.Now(), Kind: "call", KeyName: "ci-bot", Server: "github", Tool: "list_issues", Allowed: true, Revision: 1}})
	if _, err := conn.ExecContext(ctx, "INSERT INTO decisions (first_at, last_at, n, data) VALUES (?, ?, 1, ?)", first, last, data); err != nil {
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
		_, otherErr = other.Exec("INSERT INTO decision_tuples (key_name, end_user, agent, server, tool) VALUES ('ci-bot', '', '', 'github', 'list_issues')")
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

// A write SQLite refuses as busy is tried again, and applied once.
func TestSQLiteWriteRetriesWhenBusy(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st, storetest.MustLoad(t, small))
	ctx := context.Background()
	if err := store.SetBusyTimeout(st, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	_, release := holdLock(t, st, "BEGIN IMMEDIATE")
	var busy []error
	store.OnBusy(st, func(attempt int, err error) {
		busy = append(busy, err)
		release() // the other writer finishes while this one backs off
	})
	next := storetest.MustLoad(t, small)
	next.Organizations[1].Blocked = true
	sum, err := st.ApplyDocument(ctx, next, "test")
	if err != nil {
		t.Fatalf("apply after the lock was released: %v", err)
	}
	if len(busy) != 1 || !store.IsBusy(busy[0]) {
		t.Fatalf("busy refusals %v, want one SQLITE_BUSY", busy)
	}
	if sum.Revision != 2 {
		t.Errorf("revision %d, want 2: the retried import applied once", sum.Revision)
	}
	events, err := st.ListAuditEvents(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Revision == 2 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d audit events at revision 2, want 1", n)
	}
}

// A database that stays locked fails the write after a bounded number of attempts, with the
// driver's busy error, and writes nothing; a cancelled context stops the retries at once.
func TestSQLiteWriteGivesUpWhenBusy(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st, storetest.MustLoad(t, small))
	ctx := context.Background()
	if err := store.SetBusyTimeout(st, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	_, release := holdLock(t, st, "BEGIN IMMEDIATE")
	attempts := 0
	store.OnBusy(st, func(int, error) { attempts++ })
	next := storetest.MustLoad(t, small)
	next.Organizations[1].Blocked = true
	_, err := st.ApplyDocument(ctx, next, "test")
	if !store.IsBusy(err) || !strings.Contains(err.Error(), "SQLITE_BUSY") {
		t.Fatalf("err = %v, want SQLITE_BUSY", err)
	}
	if attempts != store.BusyAttempts-1 {
		t.Errorf("%d retries, want %d", attempts, store.BusyAttempts-1)
	}

	cctx, cancel := context.WithCancel(ctx)
	attempts = 0
	store.OnBusy(st, func(int, error) { attempts++; cancel() })
	if _, err := st.ApplyDocument(cctx, next, "test"); err == nil || attempts != 1 {
		t.Fatalf("cancelled while busy: err %v after %d retries, want an error after 1", err, attempts)
	}

	release()
	if err := store.SetBusyTimeout(st, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if rev, err := st.Revision(ctx); err != nil || rev != 1 {
		t.Fatalf("revision %d (%v) after the refused writes, want 1", rev, err)
	}
	// Errors that are not busy, here one from inside the transaction, are not retried.
	attempts = 0
	_, err = st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: models.OrganizationDoc{Name: "nope"}, BaseRevision: 1, Actor: "test"})
	if models.ErrorCode(err) != models.ENotFound || attempts != 0 {
		t.Fatalf("unknown organization: err %v after %d retries, want NotFound and no retry", err, attempts)
	}
}

// The driver drops _txlock when _time_format is given, so a path may set neither: write
// transactions would silently go back to deferred.
func TestSQLitePathMayNotSetTheTransactionMode(t *testing.T) {
	for _, q := range []string{"?_txlock=deferred", "?_time_format=sqlite", "?_pragma=cache_size(-4000)&_txlock=exclusive"} {
		path := t.TempDir() + "/warden.db" + q
		st, err := store.Open(context.Background(), path)
		if err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded", path)
			continue
		}
		if models.ErrorCode(err) != models.EInvalid || !strings.Contains(err.Error(), "is set by Warden") {
			t.Errorf("Open(%q): %v, want invalid: set by Warden", path, err)
		}
	}
	// Other parameters still pass through.
	st, err := store.Open(context.Background(), t.TempDir()+"/warden.db?_pragma=cache_size(-4000)")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

// In one process, a read does not hold up the decision log, nor a write the reads: a SQLite file
// gets a pool of connections, of which writes take one at a time. (With a single connection the
// decision log write below waits for the load around it to finish, which waits for the write.)
func TestSQLiteReadsAndAWriteShareTheFile(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st, storetest.MustLoad(t, small))
	// A bound, for the single-connection deadlock this test is about.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	row := []models.Decision{{At: time.Now(), Kind: "call", KeyName: "ci-bot", Server: "github", Tool: "list_issues", Allowed: true, Revision: 1}}
	var insertErr error
	if err := store.OnFirstQuery(st, func() { insertErr = st.InsertDecisions(ctx, row) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.LoadDocument(ctx); err != nil {
		t.Fatal(err)
	}
	if insertErr != nil {
		t.Fatalf("decision log write during a load: %v", insertErr)
	}

	st2 := storetest.Open(t, store.KindSQLite)
	storetest.MustApply(t, st2, storetest.MustLoad(t, small))
	var seen int64
	var readErr error
	if err := store.OnFirstQuery(st2, func() { seen, readErr = st2.Revision(ctx) }); err != nil {
		t.Fatal(err)
	}
	next := storetest.MustLoad(t, small)
	next.Organizations[1].Blocked = true
	if _, err := st2.ApplyDocument(ctx, next, "test"); err != nil {
		t.Fatal(err)
	}
	if readErr != nil || seen != 1 {
		t.Fatalf("revision read during an import: %d, %v; want 1 (the import is not committed yet)", seen, readErr)
	}
}

// ":memory:" stays one database: the pool has one connection there (each connection to it would
// be a database of its own), where a file has several.
func TestSQLiteInMemory(t *testing.T) {
	ctx := context.Background()
	if n := store.MaxOpenConns(storetest.Open(t, store.KindSQLite)); n < 2 {
		t.Errorf("a SQLite file has a pool of %d connections, want several", n)
	}
	st, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := store.MaxOpenConns(st); n != 1 {
		t.Fatalf(":memory: has a pool of %d connections, want 1", n)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.MustApply(t, st, storetest.MustLoad(t, small))
	for range 10 {
		if rev, err := st.Revision(ctx); err != nil || rev != 1 {
			t.Fatalf("revision %d, %v; want 1", rev, err)
		}
	}
}
