package store

import (
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// SetChangeLimits lowers the limits of Changes for a test; restore puts them back.
func SetChangeLimits(entities, events int) (restore func()) {
	e, v := maxChangedEntities, maxChangeEvents
	maxChangedEntities, maxChangeEvents = entities, events
	return func() { maxChangedEntities, maxChangeEvents = e, v }
}

// SetBusyTimeout sets SQLite's busy_timeout for st, whose pool it shrinks to one connection
// (the pragma is per connection).
func SetBusyTimeout(st *Store, d time.Duration) error {
	sqlDB, err := st.db.DB()
	if err != nil {
		return err
	}
	sqlDB.SetMaxOpenConns(1)
	return st.db.Exec(fmt.Sprintf("PRAGMA busy_timeout = %d", d.Milliseconds())).Error
}

// OnBusy sets the function called before each retry of a write SQLite refused as busy.
func OnBusy(st *Store, f func(attempt int, err error)) { st.onBusy = f }

// IsBusy is isBusy.
var IsBusy = isBusy

// BusyAttempts is how many times a busy write is tried.
const BusyAttempts = busyAttempts

// OnFirstQuery calls f, once, after the next query st's GORM handle runs (inside whatever
// transaction runs it).
func OnFirstQuery(st *Store, f func()) error {
	var fired atomic.Bool // not a sync.Once: f may itself query
	return st.db.Callback().Query().After("gorm:query").Register("test:on_first_query", func(*gorm.DB) {
		if fired.CompareAndSwap(false, true) {
			f()
		}
	})
}

// MaxOpenConns is the size of st's connection pool.
func MaxOpenConns(st *Store) int {
	sqlDB, _ := st.db.DB()
	return sqlDB.Stats().MaxOpenConnections
}

// SetLoadBatch lowers how many rows of a table a full load reads at a time; restore puts it back.
func SetLoadBatch(n int) (restore func()) {
	old := loadBatch
	loadBatch = n
	return func() { loadBatch = old }
}

// EncodeSegment encodes rows as one decision log segment (its data, first and last time).
func EncodeSegment(rows []models.Decision) ([]byte, int64, int64) { return encodeSegment(rows) }
