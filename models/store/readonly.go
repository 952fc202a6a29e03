package store

import (
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/warden-mcp/warden/models"
)

// OpenReadOnly opens an existing database for a command that only reads (`warden export`,
// `warden policy … --db`) and returns it only if its schema is current (see CheckSchema). It
// never creates or changes anything: not a missing SQLite file, not goose's version table, not
// the schema. On SQLite every connection is also query_only, so SQLite itself refuses any write.
//
// Returns ENotFound if a SQLite file does not exist, and a *SchemaError if the schema is empty
// or outdated.
func OpenReadOnly(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	return openExisting(ctx, dsn, true, opts)
}

// OpenExisting opens an existing database whose schema is current, for a command that writes
// but must not migrate (`--no-migrate`): unlike Open it creates no SQLite file, and unlike
// Migrate it changes no schema. Errors as OpenReadOnly.
func OpenExisting(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	return openExisting(ctx, dsn, false, opts)
}

func openExisting(ctx context.Context, dsn string, readOnly bool, opts []Option) (*Store, error) {
	open := dsn
	if !IsPostgresURL(dsn) {
		if path := sqliteFile(dsn); path != "" {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return nil, models.Errorf(models.ENotFound, "SQLite database %q does not exist; `warden migrate --db %s` creates it", path, path)
			} else if err != nil {
				return nil, models.Errorf(models.EInvalid, "SQLite database: %v", err)
			}
		}
		if readOnly {
			// query_only rather than mode=ro: a read-only connection could not run the pragmas
			// Open sets on every connection (a journal mode, say), while query_only still
			// refuses every write to the database.
			sep := "?"
			if strings.Contains(dsn, "?") {
				sep = "&"
			}
			open = dsn + sep + url.Values{"_pragma": {"query_only(1)"}}.Encode()
		}
	}
	s, err := Open(ctx, open, opts...)
	if err != nil {
		return nil, err
	}
	s.dsn = dsn
	if err := s.CheckSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// sqliteFile returns the file a SQLite setting names, or "" for an in-memory database.
func sqliteFile(dsn string) string {
	path, query, _ := strings.Cut(dsn, "?")
	if path == "" {
		path = "warden.db" // as Open
	}
	if rest, ok := strings.CutPrefix(path, "file:"); ok {
		// A URI filename: percent-escaped, optionally with an empty authority.
		rest = strings.TrimPrefix(rest, "//")
		if p, err := url.PathUnescape(rest); err == nil {
			rest = p
		}
		path = rest
	}
	if path == ":memory:" || strings.Contains(query, "mode=memory") {
		return ""
	}
	return path
}
