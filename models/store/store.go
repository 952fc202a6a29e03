// Package store is the only code that touches the database. It speaks GORM to either Postgres
// (a postgres:// URL) or an embedded pure-Go SQLite file (anything else), with one schema history
// for both (see migrate.go).
package store

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/seal"
)

// Database kinds, as reported by Kind and on /healthz.
const (
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
)

// Store is the database handle. It is safe for concurrent use.
type Store struct {
	db   *gorm.DB
	kind string
	dsn  string
	// now is the clock; tests may replace it.
	now func() time.Time
	// writeSem, a lock that can be waited for with a context, serialises this process's SQLite
	// writes (see writeTx).
	writeSem chan struct{}
	// writeFreeUntil is when this process may next write to SQLite; guarded by writeSem.
	writeFreeUntil time.Time
	// onBusy, when set, is called before each retry of a write SQLite refused as busy (tests).
	onBusy func(attempt int, err error)
	// secretKey seals and opens upstream headers (see WithSecretKey); nil: none configured.
	secretKey *seal.Key

	// partitions are the days whose decision log partition this process knows to exist
	// (Postgres; see ensurePartition).
	partitions sync.Map
	// tuples caches the decision log's tuple numbers (see AddRollup).
	tuples tupleCache
}

// Option configures a store at Open.
type Option func(*Store)

// WithSecretKey gives the store the key that seals upstream headers at rest (servers.auth_headers).
// Without it (or with nil) the store refuses to store headers and reads none. The caller parses
// the key (cmd/warden, from WARDEN_SECRET_KEY); the store never reads the environment.
func WithSecretKey(k *seal.Key) Option {
	return func(s *Store) { s.secretKey = k }
}

// sqliteConns is the connection pool size on a SQLite file: one writer at a time (writeSem) and
// readers beside it, which WAL lets run while it writes. With a single connection a 500-row
// decision log batch waited for whatever read held it: 680 ms at the median, 1.55 s p99, beside
// full loads of a 100,000-key policy, against 11 ms and 45 ms with four connections.
const sqliteConns = 4

// IsPostgresURL reports whether a database setting selects Postgres.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database named by dsn: a postgres:// URL selects Postgres, anything else
// is a SQLite file path (created if missing). It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg := &gorm.Config{
		Logger: logger.New(log.New(os.Stderr, "", log.LstdFlags), logger.Config{
			SlowThreshold:             2 * time.Second,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
		}),
		// Timestamps are written in UTC so SQLite and Postgres read back the same instants.
		NowFunc: func() time.Time { return time.Now().UTC() },
	}
	s := &Store{dsn: dsn, now: func() time.Time { return time.Now().UTC() }, writeSem: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	var err error
	if IsPostgresURL(dsn) {
		s.kind = KindPostgres
		s.db, err = gorm.Open(postgres.Open(dsn), cfg)
	} else {
		s.kind = KindSQLite
		var sdsn string
		if sdsn, err = sqliteDSN(dsn); err != nil {
			return nil, err
		}
		s.db, err = gorm.Open(sqlite.Open(sdsn), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", s.kind, err)
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	switch {
	case s.kind == KindSQLite && isMemory(dsn):
		// Each connection to ":memory:" would be a database of its own.
		sqlDB.SetMaxOpenConns(1)
	case s.kind == KindSQLite:
		sqlDB.SetMaxOpenConns(sqliteConns)
		sqlDB.SetMaxIdleConns(sqliteConns)
	default:
		sqlDB.SetMaxOpenConns(16)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", s.kind, err)
	}
	return s, nil
}

// sqliteDSN turns a path into a DSN for concurrent use by this process and others (`warden
// import` beside `warden serve`):
//   - WAL journal: readers never block the writer nor the writer them, so the decision log and
//     the revision poll keep going while an import writes. The default synchronous=FULL is kept,
//     so an acknowledged commit (a revoked key, say) survives a power loss;
//   - _txlock=immediate: every transaction not begun read-only (see readOnlyTx) takes the write
//     lock at BEGIN, waiting busy_timeout for it, instead of reading under a read lock and
//     failing with SQLITE_BUSY at its first write when another writer got in first;
//   - busy_timeout: how long a write waits for the lock; and foreign keys enforced.
//
// The driver ignores _txlock when _time_format is also given, so neither may be set in path.
func sqliteDSN(path string) (string, error) {
	if path == "" {
		path = "warden.db"
	}
	sep := "?"
	queryOnly := false
	if i := strings.IndexByte(path, '?'); i >= 0 {
		sep = "&"
		given, err := url.ParseQuery(path[i+1:])
		if err != nil {
			return "", models.Errorf(models.EInvalid, "SQLite database %q: %v", path, err)
		}
		for _, k := range []string{"_txlock", "_time_format"} {
			if given.Has(k) {
				return "", models.Errorf(models.EInvalid, "SQLite database %q: %s is set by Warden (write transactions begin IMMEDIATE)", path, k)
			}
		}
		for _, p := range given["_pragma"] {
			queryOnly = queryOnly || strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), "query_only")
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if !queryOnly {
		// A read-only open (OpenReadOnly) must leave the file as it found it: switching the
		// journal to WAL rewrites the file's header.
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Add("_txlock", "immediate")
	return path + sep + q.Encode(), nil
}

// isMemory reports whether a SQLite setting names an in-memory database.
func isMemory(path string) bool {
	return path == ":memory:" || strings.HasPrefix(path, ":memory:?") || strings.HasPrefix(path, "file::memory:") ||
		strings.Contains(path, "mode=memory")
}

// Kind returns KindSQLite or KindPostgres.
func (s *Store) Kind() string { return s.kind }

// DSN returns the setting the store was opened with.
func (s *Store) DSN() string { return s.dsn }

// Close closes the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Revision returns the current policy revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	return revision(s.db.WithContext(ctx))
}

func revision(tx *gorm.DB) (int64, error) {
	var st models.PolicyState
	if err := tx.First(&st, 1).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, models.Errorf(models.EInternal, "the database has no policy_state row: run `warden migrate`")
		}
		return 0, err
	}
	return st.Revision, nil
}

// RevisionChannel is the Postgres NOTIFY channel on which every committed revision is announced.
const RevisionChannel = "warden_policy"

// bumpRevision increments the revision inside tx and returns the new value. On Postgres it also
// queues a NOTIFY with the new revision; Postgres delivers it only if the transaction commits,
// so replicas never hear of a change that was rolled back.
func bumpRevision(tx *gorm.DB) (int64, error) {
	if err := tx.Model(&models.PolicyState{}).Where("id = 1").
		Update("revision", gorm.Expr("revision + 1")).Error; err != nil {
		return 0, err
	}
	rev, err := revision(tx)
	if err != nil {
		return 0, err
	}
	if tx.Dialector.Name() == "postgres" {
		if err := tx.Exec("SELECT pg_notify(?, ?)", RevisionChannel, strconv.FormatInt(rev, 10)).Error; err != nil {
			return 0, err
		}
	}
	return rev, nil
}

// IsEmpty reports whether the database holds no servers and no principals, i.e. a fresh install
// that may be seeded with the demo.
func (s *Store) IsEmpty(ctx context.Context) (bool, error) {
	db := s.db.WithContext(ctx)
	for _, m := range []any{&models.Server{}, &models.Organization{}, &models.Team{}, &models.Key{}, &models.EndUser{}, &models.Agent{}} {
		var n int64
		if err := db.Model(m).Limit(1).Count(&n).Error; err != nil {
			return false, err
		}
		if n > 0 {
			return false, nil
		}
	}
	return true, nil
}
