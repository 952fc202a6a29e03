package live

// Builds reports how many views were swapped in by an incremental refresh and by a full build.
func (s *State) Builds() (incremental, full int64) {
	return s.incrementals.Load(), s.fulls.Load()
}
