package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"

	"github.com/pressly/goose/v3"
)

// The schema history is one numbered list of SQL files, written in Postgres's dialect. SQLite
// reads the same files with two type words translated (sqliteWords), so the two databases can
// never drift apart: there is no second copy to forget. Each file runs in its own transaction.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// sqliteWords maps the only Postgres-specific words the migrations may use to SQLite's.
var sqliteWords = strings.NewReplacer(
	"BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT",
	"TIMESTAMPTZ", "DATETIME",
)

func (s *Store) migrations() (fs.FS, goose.Dialect, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, "", err
	}
	if s.kind == KindPostgres {
		return sub, goose.DialectPostgres, nil
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
		out[path] = &fstest.MapFile{Data: []byte(sqliteWords.Replace(string(b)))}
		return nil
	})
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
	return goose.NewProvider(dialect, sqlDB, fsys)
}

// Migrate applies every pending migration and returns the versions it applied.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate %s database: %w", s.kind, err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// SchemaVersion returns the database's schema version and the newest one this build knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}
