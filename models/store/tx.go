package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	sqlitedriver "github.com/glebarez/go-sqlite"
	"gorm.io/gorm"
	sqlite3 "modernc.org/sqlite/lib"
)

// How write transactions on SQLite are retried when the database is busy. busy_timeout (see
// sqliteDSN) already waits for the write lock; a retry covers what it cannot: SQLite returns
// SQLITE_BUSY without waiting when waiting could deadlock, and a wait can run out under a long
// writer in another process. Few attempts, so a database that stays locked fails in bounded
// time with the driver's error.
const (
	busyAttempts    = 3
	busyBackoffBase = 25 * time.Millisecond
	busyBackoffMax  = time.Second
	// writeGapMax bounds the pause between two writes of this process (see lockWrite).
	writeGapMax = 20 * time.Millisecond
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
// SQLite fails at once instead of waiting), and it is run again, after a jittered backoff, when
// SQLite refuses it as busy before it could commit: at BEGIN or at a statement inside fn, never
// at COMMIT, whose failure leaves it unclear what was written. fn must therefore be safe to run
// again: it may only change state it creates itself. Postgres transactions run once, as before.
//
// Writers of this process queue on writeSem rather than in SQLite: a writer waiting in SQLite
// would hold a connection the readers need and spend busy_timeout, which is meant for writers
// in other processes.
func (s *Store) writeTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.kind != KindSQLite {
		return s.db.WithContext(ctx).Transaction(fn)
	}
	return s.retryBusy(ctx, func() (bool, error) {
		unlock, err := s.lockWrite(ctx)
		if err != nil {
			return false, err
		}
		defer unlock()
		ran := false
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := fn(tx); err != nil {
				return err
			}
			ran = true // the error, if any, is COMMIT's
			return nil
		})
		return !ran, err
	})
}

// lockWrite waits for this process's turn to write to SQLite, or for ctx to end.
//
// SQLite's write lock has no queue: a process waiting for it polls, sleeping up to 100 ms
// between tries, and a writer that takes it again as soon as it let go (the decision log under
// more load than it can write) would hold it nearly all the time and starve the other process
// past busy_timeout. So after each write the process leaves the lock free for a ninth of the
// time it held it (at most writeGapMax) before its next write: it holds the lock at most 90% of
// the time, and the gaps let another process in.
func (s *Store) lockWrite(ctx context.Context) (unlock func(), err error) {
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if wait := time.Until(s.writeFreeUntil); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			<-s.writeSem
			return nil, ctx.Err()
		}
	}
	start := time.Now()
	return func() {
		s.writeFreeUntil = time.Now().Add(min(time.Since(start)/9, writeGapMax))
		<-s.writeSem
	}, nil
}

// retryBusy calls op until it succeeds, fails otherwise than busy, reports that a retry is not
// safe (retriable false), has run busyAttempts times or ctx ends. It returns op's last error.
func (s *Store) retryBusy(ctx context.Context, op func() (retriable bool, err error)) error {
	backoff := busyBackoffBase
	for attempt := 1; ; attempt++ {
		retriable, err := op()
		if err == nil || !retriable || !isBusy(err) {
			return err
		}
		if attempt == busyAttempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		// Full jitter in [backoff/2, backoff): writers that collided do not collide again in step.
		wait := backoff/2 + rand.N(backoff/2)
		if s.onBusy != nil {
			s.onBusy(attempt, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, busyBackoffMax)
	}
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
