package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// The schema history is one numbered list of SQL files, written in Postgres's dialect. SQLite
// reads the same files with two type words translated (sqliteWords), so the two databases can
// never drift apart: there is no second copy to forget. Where the two must differ (Postgres's
// declarative partitioning has no SQLite counterpart), a file marks the lines of one database
// between "-- +warden postgres" or "-- +warden sqlite" and "-- +warden end"; the other database
// never sees them (dialectBlocks). Each file runs in its own transaction.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// sqliteWords maps the only Postgres-specific words the migrations may use to SQLite's.
var sqliteWords = strings.NewReplacer(
	"BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT",
	"TIMESTAMPTZ", "DATETIME",
)

// dialectBlocks returns a migration as kind reads it: the blocks marked for the other database
// removed, the markers themselves kept as (SQL) comments. An unclosed or nested block is an
// error, so a typo cannot hide half a migration from one database.
func dialectBlocks(name, sql, kind string) (string, error) {
	var out strings.Builder
	block := "" // the database of the block being read; "" outside blocks
	for i, line := range strings.SplitAfter(sql, "\n") {
		switch marker := strings.TrimSpace(line); marker {
		case "-- +warden postgres", "-- +warden sqlite":
			if block != "" {
				return "", fmt.Errorf("migration %s line %d: %q inside a %s block", name, i+1, marker, block)
			}
			block = strings.TrimPrefix(marker, "-- +warden ")
		case "-- +warden end":
			if block == "" {
				return "", fmt.Errorf("migration %s line %d: %q outside a block", name, i+1, marker)
			}
			block = ""
		default:
			if block != "" && block != kind {
				continue
			}
		}
		out.WriteString(line)
	}
	if block != "" {
		return "", fmt.Errorf("migration %s: the %s block is not closed with \"-- +warden end\"", name, block)
	}
	return out.String(), nil
}

// migrationLockID is the Postgres advisory lock migrations hold, so replicas started together
// migrate one after the other. It is Warden's own (not goose's shared default), so another
// application's migrations on the same database neither wait for Warden's nor let them in.
const migrationLockID int64 = 0x77617264656e // "warden"

// Waiting for the migration lock: polled every second for up to ten minutes, far longer than
// Warden's migrations take, so a replica waits for another's migration rather than failing.
const (
	lockPollSeconds = 1
	lockPolls       = 600
)

func (s *Store) migrations() (fs.FS, goose.Dialect, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, "", err
	}
	out := fstest.MapFS{}
	err = fs.WalkDir(sub, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, path)
		if err != nil {
			return err
		}
		text, err := dialectBlocks(path, string(b), s.kind)
		if err != nil {
			return err
		}
		if s.kind == KindSQLite {
			text = sqliteWords.Replace(text)
		}
		out[path] = &fstest.MapFile{Data: []byte(text)}
		return nil
	})
	if s.kind == KindPostgres {
		return out, goose.DialectPostgres, err
	}
	return out, goose.DialectSQLite3, err
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, dialect, err := s.migrations()
	if err != nil {
		return nil, err
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	if s.kind == KindPostgres {
		// A session-level advisory lock, held on the provider's one connection from before goose
		// reads the version table until the last migration committed: a second replica waits,
		// then finds nothing pending. (SQLite's own file lock serialises its writers.)
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID),
			lock.WithLockTimeout(lockPollSeconds, lockPolls))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, sqlDB, fsys, opts...)
}

// Migrate applies every pending migration and returns the versions it applied. On Postgres it
// holds an advisory lock while it does, so any number of processes may migrate one database at
// once: one applies the migrations, the others wait and apply nothing.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	return s.MigrateTo(ctx, 0)
}

// MigrateTo applies the pending migrations up to and including version (0: all of them), as
// Migrate does. Tests use it to build the database an older binary left behind.
func (s *Store) MigrateTo(ctx context.Context, version int64) ([]int64, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	var results []*goose.MigrationResult
	if version == 0 {
		results, err = p.Up(ctx)
	} else {
		results, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return nil, fmt.Errorf("migrate %s database: %w", s.kind, err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// SchemaVersion returns the database's schema version (0 for a database with no Warden schema)
// and the newest one this build knows. It only reads: unlike goose's own version queries it
// never creates the version table.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	v, err := s.schemaVersions(ctx)
	if err != nil {
		return 0, 0, err
	}
	return v.current, v.latest, nil
}

// CheckSchema returns a *SchemaError if the database lacks a migration this build has (an empty
// database lacks them all); nil if its schema is current, or newer than this build's, as during a
// rolling upgrade after the new version migrated. It only reads.
func (s *Store) CheckSchema(ctx context.Context) error {
	v, err := s.schemaVersions(ctx)
	if err != nil {
		return err
	}
	if len(v.pending) > 0 {
		return &SchemaError{Kind: s.kind, Current: v.current, Latest: v.latest, Pending: v.pending}
	}
	return nil
}

// SchemaError is a database schema older than the binary's. Commands that only read refuse it,
// and so do the others when told not to migrate.
type SchemaError struct {
	Kind            string
	Current, Latest int64
	// Pending are the versions this build has that the database lacks, in order.
	Pending []int64
}

func (e *SchemaError) Error() string {
	if e.Current == 0 {
		return fmt.Sprintf("the %s database has no Warden schema (version 0; this binary's is version %d): run `warden migrate` to create it",
			e.Kind, e.Latest)
	}
	if e.Current >= e.Latest {
		// The newest version is applied but an older one is missing (an out-of-order history).
		return fmt.Sprintf("the %s database's schema is at version %d but lacks migration(s) %v of this binary's version %d: run `warden migrate`",
			e.Kind, e.Current, e.Pending, e.Latest)
	}
	return fmt.Sprintf("the %s database's schema is at version %d, this binary's is version %d: run `warden migrate` to update it",
		e.Kind, e.Current, e.Latest)
}

type schemaVersions struct {
	current, latest int64
	pending         []int64
}

// schemaVersions compares the migrations recorded in the database with this build's, reading
// goose's version table through goose's own queries (a missing table is version 0).
func (s *Store) schemaVersions(ctx context.Context) (schemaVersions, error) {
	p, err := s.provider()
	if err != nil {
		return schemaVersions{}, err
	}
	var v schemaVersions
	for _, src := range p.ListSources() {
		v.latest = max(v.latest, src.Version)
	}
	_, dialect, err := s.migrations()
	if err != nil {
		return v, err
	}
	gs, err := database.NewStore(database.Dialect(dialect), goose.DefaultTablename)
	if err != nil {
		return v, err
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return v, err
	}
	exists, err := s.versionTableExists(ctx, gs, sqlDB)
	if err != nil {
		return v, fmt.Errorf("read the %s database's schema version: %w", s.kind, err)
	}
	applied := map[int64]bool{}
	if exists {
		rows, err := gs.ListMigrations(ctx, sqlDB)
		if err != nil {
			return v, fmt.Errorf("read the %s database's schema version: %w", s.kind, err)
		}
		for _, r := range rows {
			applied[r.Version] = true
			v.current = max(v.current, r.Version)
		}
	}
	for _, src := range p.ListSources() {
		if !applied[src.Version] {
			v.pending = append(v.pending, src.Version)
		}
	}
	slices.Sort(v.pending)
	return v, nil
}

// versionTableExists asks goose's store whether its version table exists, and SQLite's catalogue
// where goose has no such query for it.
func (s *Store) versionTableExists(ctx context.Context, gs database.Store, db *sql.DB) (bool, error) {
	if ext, ok := gs.(database.StoreExtender); ok {
		exists, err := ext.TableExists(ctx, db)
		if !errors.Is(err, errors.ErrUnsupported) {
			return exists, err
		}
	}
	if s.kind != KindSQLite {
		return false, fmt.Errorf("no way to find goose's version table on %s", s.kind)
	}
	var n int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", gs.Tablename()).Scan(&n)
	return n > 0, err
}
