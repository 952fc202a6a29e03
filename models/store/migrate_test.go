package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// latestVersion is the newest migration number, read from the folder rather than from the
// code under test.
func latestVersion(t *testing.T) int64 {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
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

// openAt opens a fresh database of kind migrated up to version (0: not at all), as an older
// binary would have left it, and closes it again; it returns the database's setting.
func openAt(t *testing.T, kind string, version int64) string {
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
	}
	return dsn
}

// versionTableExists reports whether goose's version table exists, asked behind the store's back.
func versionTableExists(t *testing.T, kind, dsn string) bool {
	t.Helper()
	q := "SELECT count(*) FROM sqlite_master WHERE name = 'goose_db_version'"
	if kind == store.KindPostgres {
		q = "SELECT count(*) FROM pg_tables WHERE tablename = 'goose_db_version'"
	}
	return queryInts(t, kind, dsn, q)[0][0] > 0
}

// Two replicas starting together migrate one Postgres database without error, and the schema
// is applied once: one applies the pending migrations, the other waits and finds none pending.
// Both on a fresh database and on one an older binary migrated to version 1 (a rolling upgrade):
// without the session lock both read the same versions and the second fails on a column or
// table the first created (on a fresh database goose's retry of the version table's creation
// usually, but not always, keeps them apart).
func TestConcurrentMigrations(t *testing.T) {
	latest := latestVersion(t)
	for _, from := range []int64{0, 1} {
		for round := range 3 {
			migrateTogether(t, from, latest, round)
		}
	}
}

func migrateTogether(t *testing.T, from, latest int64, round int) {
	t.Helper()
	ctx := context.Background()
	dsn := openAt(t, store.KindPostgres, from)
	const replicas = 2
	stores := make([]*store.Store, replicas)
	for i := range stores {
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores[i] = st
	}
	start := make(chan struct{})
	applied := make([][]int64, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i, st := range stores {
		wg.Go(func() {
			<-start
			applied[i], errs[i] = st.Migrate(ctx)
		})
	}
	close(start)
	wg.Wait()
	pending := int(latest - from)
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("from version %d, round %d: replica %d: %v", from, round, i, err)
		}
		if n := len(applied[i]); n != 0 && n != pending {
			t.Errorf("from version %d, round %d: replica %d applied %v, want all %d pending migrations or none", from, round, i, applied[i], pending)
		}
		total += len(applied[i])
	}
	if total != pending {
		t.Errorf("from version %d, round %d: the replicas applied %d migrations between them, want %d (each once): %v", from, round, total, pending, applied)
	}
	rows := queryInts(t, store.KindPostgres, dsn, "SELECT version_id, count(*) FROM goose_db_version GROUP BY version_id ORDER BY version_id")
	if int64(len(rows)) != latest+1 { // goose's version 0, then one row a migration
		t.Errorf("from version %d, round %d: version table %v, want versions 0..%d", from, round, rows, latest)
	}
	for i, r := range rows {
		if r[0] != int64(i) || r[1] != 1 {
			t.Errorf("from version %d, round %d: version table row %v, want version %d recorded once", from, round, r, i)
		}
	}
}

// SchemaVersion only reads: on an empty database it reports version 0 and leaves no version
// table behind (goose's GetVersions would create it).
func TestSchemaVersionReadsOnly(t *testing.T) {
	latest := latestVersion(t)
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dsn := openAt(t, kind, 0)
			st, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			cur, lat, err := st.SchemaVersion(context.Background())
			st.Close()
			if err != nil || cur != 0 || lat != latest {
				t.Fatalf("SchemaVersion = %d, %d, %v; want 0, %d", cur, lat, err, latest)
			}
			if versionTableExists(t, kind, dsn) {
				t.Error("SchemaVersion created goose's version table")
			}
		})
	}
}

// OpenReadOnly and OpenExisting refuse an empty or outdated schema naming both versions, and
// change nothing; at the current schema they open, and OpenReadOnly's SQLite store cannot write.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	latest := latestVersion(t)
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			for _, open := range []struct {
				name string
				fn   func(context.Context, string, ...store.Option) (*store.Store, error)
			}{{"OpenReadOnly", store.OpenReadOnly}, {"OpenExisting", store.OpenExisting}} {
				for _, at := range []int64{0, latest - 1} {
					dsn := openAt(t, kind, at)
					var before [32]byte
					if kind == store.KindSQLite {
						before = fileHash(t, dsn)
					}
					_, err := open.fn(ctx, dsn)
					var se *store.SchemaError
					if !errors.As(err, &se) || se.Current != at || se.Latest != latest {
						t.Fatalf("%s at version %d: err = %v, want a SchemaError %d < %d", open.name, at, err, at, latest)
					}
					msg := err.Error()
					for _, want := range []string{"version " + itoa(at), "version " + itoa(latest), "warden migrate"} {
						if !strings.Contains(msg, want) {
							t.Errorf("%s at version %d: %q lacks %q", open.name, at, msg, want)
						}
					}
					if kind == store.KindSQLite && fileHash(t, dsn) != before {
						t.Errorf("%s at version %d changed the database file", open.name, at)
					}
					if got := versionTableExists(t, kind, dsn); got != (at > 0) {
						t.Errorf("%s at version %d: version table exists = %v", open.name, at, got)
					}
					if at > 0 {
						st, err := store.Open(ctx, dsn)
						if err != nil {
							t.Fatal(err)
						}
						cur, _, err := st.SchemaVersion(ctx)
						st.Close()
						if err != nil || cur != at {
							t.Errorf("%s at version %d: the schema is now at %d (%v)", open.name, at, cur, err)
						}
					}
				}
			}

			dsn := openAt(t, kind, latest)
			st, err := store.OpenReadOnly(ctx, dsn)
			if err != nil {
				t.Fatalf("OpenReadOnly at the current schema: %v", err)
			}
			defer st.Close()
			if st.DSN() != dsn {
				t.Errorf("DSN() = %q, want the setting it was opened with, %q", st.DSN(), dsn)
			}
			if _, _, err := st.LoadDocument(ctx); err != nil {
				t.Fatalf("LoadDocument: %v", err)
			}
			if kind == store.KindSQLite {
				if _, err := st.ApplyDocument(ctx, storetest.MustLoad(t, small), "test"); err == nil || !strings.Contains(err.Error(), "readonly") {
					t.Errorf("a write through OpenReadOnly: err = %v, want SQLite's read-only refusal", err)
				}
			}
			ex, err := store.OpenExisting(ctx, dsn)
			if err != nil {
				t.Fatalf("OpenExisting at the current schema: %v", err)
			}
			storetest.MustApply(t, ex, storetest.MustLoad(t, small))
			ex.Close()
		})
	}
}

// A SQLite file that does not exist is not created by the commands that must not migrate.
func TestOpenReadOnlyMissingSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.db")
	for _, open := range []func(context.Context, string, ...store.Option) (*store.Store, error){store.OpenReadOnly, store.OpenExisting} {
		for _, dsn := range []string{path, path + "?_pragma=cache_size(100)", "file:" + path} {
			_, err := open(context.Background(), dsn)
			if models.ErrorCode(err) != models.ENotFound || !strings.Contains(err.Error(), "warden migrate") {
				t.Errorf("%s: err = %v, want not found naming `warden migrate`", dsn, err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s: the file was created (%v)", dsn, err)
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// queryInts runs a query returning integer columns on the database behind the store's back.
func queryInts(t *testing.T, kind, dsn, q string) [][]int64 {
	t.Helper()
	driver := "pgx"
	if kind == store.KindSQLite {
		driver = "sqlite"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]int64
	for rows.Next() {
		row := make([]int64, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A schema newer than the binary's (a rolling upgrade: the new version migrated, an old replica
// restarts) is accepted, as goose's Up accepts it; a history missing an older migration is not.
func TestCheckSchemaNewerAndOutOfOrder(t *testing.T) {
	ctx := context.Background()
	latest := latestVersion(t)
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			st := storetest.Open(t, kind)
			storetest.Exec(t, st, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ("+itoa(latest+1)+", TRUE)")
			if err := st.CheckSchema(ctx); err != nil {
				t.Errorf("newer schema: %v", err)
			}
			if cur, lat, err := st.SchemaVersion(ctx); err != nil || cur != latest+1 || lat != latest {
				t.Errorf("SchemaVersion = %d, %d, %v; want %d, %d", cur, lat, err, latest+1, latest)
			}
			storetest.Exec(t, st, "DELETE FROM goose_db_version WHERE version_id = 2")
			err := st.CheckSchema(ctx)
			var se *store.SchemaError
			if !errors.As(err, &se) || fmt.Sprint(se.Pending) != "[2]" ||
				!strings.Contains(err.Error(), "lacks migration(s) [2]") || !strings.Contains(err.Error(), "warden migrate") {
				t.Errorf("history without migration 2: %v", err)
			}
		})
	}
}
