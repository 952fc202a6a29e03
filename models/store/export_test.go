package store

import (
	"sync"

	"gorm.io/gorm"
)

// SetChangeLimits lowers the limits of Changes for a test; restore puts them back.
func SetChangeLimits(entities, events int) (restore func()) {
	e, v := maxChangedEntities, maxChangeEvents
	maxChangedEntities, maxChangeEvents = entities, events
	return func() { maxChangedEntities, maxChangeEvents = e, v }
}

// OnFirstQuery calls f, once, after the next query st's GORM handle runs (inside whatever
// transaction runs it).
func OnFirstQuery(st *Store, f func()) error {
	var once sync.Once
	return st.db.Callback().Query().After("gorm:query").Register("test:on_first_query", func(*gorm.DB) { once.Do(f) })
}

// IsBusy is isBusy.
var IsBusy = isBusy
