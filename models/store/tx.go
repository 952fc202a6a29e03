package store

import (
	"context"
	"database/sql"
	"errors"

	sqlitedriver "github.com/glebarez/go-sqlite"
	"gorm.io/gorm"
	sqlite3 "modernc.org/sqlite/lib"
)

// readOnlyTx returns the options of a transaction that only reads. On SQLite it is what keeps a
// read from taking the write lock: the DSN makes every other transaction BEGIN IMMEDIATE.
func readOnlyTx(kind string) *sql.TxOptions {
	if kind == KindPostgres {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// writeTx runs fn in one write transaction. On SQLite the transaction begins IMMEDIATE (it takes
// the write lock before its first read, so it never has to upgrade a read lock, the case in which
// SQLite fails at once instead of waiting for busy_timeout).
func (s *Store) writeTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED (or an extended code of
// either), read from the driver's result code.
func isBusy(err error) bool {
	var e *sqlitedriver.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}
