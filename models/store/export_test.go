package store

// SetChangeLimits lowers the limits of Changes for a test; restore puts them back.
func SetChangeLimits(entities, events int) (restore func()) {
	e, v := maxChangedEntities, maxChangeEvents
	maxChangedEntities, maxChangeEvents = entities, events
	return func() { maxChangedEntities, maxChangeEvents = e, v }
}
