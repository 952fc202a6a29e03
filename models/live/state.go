package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// Defaults of Options.
const (
	DefaultMaxStale     = 5 * time.Minute
	DefaultPollInterval = 2 * time.Second
)

const (
	// checkTimeout bounds one revision read; a database that does not answer within it counts
	// as unreachable.
	checkTimeout = 5 * time.Second
	// buildTimeout bounds loading a whole policy and building its view.
	buildTimeout = 60 * time.Second
	// buildAttempts is how often a build is retried when the revision moves while it reads.
	buildAttempts = 5
	// Reconnect backoff of the LISTEN connection.
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// Options configure a State. Zero values take the defaults.
type Options struct {
	// MaxStale is how long the last good view keeps being enforced after it was last confirmed
	// current; beyond that View fails closed. Default DefaultMaxStale.
	MaxStale time.Duration
	// PollInterval is the period of the safety-net revision check Run does on every database
	// (Postgres notifications make changes arrive sooner). Default DefaultPollInterval.
	PollInterval time.Duration
	// Metrics, when set, receives the snapshot revision, rebuild times and degraded state.
	Metrics *Metrics
	// Clock tells the time for ages and staleness; default time.Now. Tests replace it.
	Clock func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// ErrNoView is View's error before a view was ever loaded.
var ErrNoView = errors.New("no policy view has been loaded")

// StaleError is View's error when it fails closed: the view could not be confirmed current for
// longer than MaxStale.
type StaleError struct {
	Revision int64
	Age      time.Duration
	MaxStale time.Duration
	// Cause is the last error met while checking or rebuilding ("" if none was recorded).
	Cause string
}

func (e *StaleError) Error() string {
	msg := fmt.Sprintf("policy view at revision %d was last confirmed current %s ago, beyond max-stale %s: failing closed",
		e.Revision, e.Age.Round(time.Millisecond), e.MaxStale)
	if e.Cause != "" {
		msg += " (last error: " + e.Cause + ")"
	}
	return msg
}

// current is the view being enforced and when it was last confirmed current. It is replaced as a
// whole, so a reader always sees a view with its own confirmation time.
type current struct {
	view      *View
	confirmed time.Time
}

// State holds the view being enforced and keeps it current. View is a lock-free atomic load,
// so any number of requests may call it concurrently with a rebuild.
//
// Age is the time since the view was last confirmed current, i.e. since the start of the last
// successful revision read that matched the view's revision (or of the build that produced it).
// While the database answers, Run confirms the view at least every PollInterval, so the age stays
// below that. When the database does not answer, or the newest policy fails to build, the last
// good view keeps being enforced and the state is degraded; once the age exceeds MaxStale, View
// returns a *StaleError and callers must fail closed. A view is never replaced by a failed
// build, and a later successful check or build recovers.
type State struct {
	st       *store.Store
	maxStale time.Duration
	poll     time.Duration
	m        *Metrics
	clock    func() time.Time
	log      *slog.Logger

	cur  atomic.Pointer[current]
	mu   sync.Mutex    // serialises checks and builds
	kick chan struct{} // asks Run for a check now (a notification arrived)

	// Views swapped in by an incremental refresh and by a full build (for tests).
	incrementals, fulls atomic.Int64

	swapMu sync.Mutex
	onSwap []func() // run after every swap, see OnSwap

	hmu       sync.Mutex // guards the fields below
	degraded  bool
	lastErr   string
	lastErrAt time.Time
	listening bool
}

// New returns a State reading st. It holds no view until Load succeeds.
func New(st *store.Store, opts Options) *State {
	s := &State{
		st: st, maxStale: opts.MaxStale, poll: opts.PollInterval, m: opts.Metrics,
		clock: opts.Clock, log: opts.Logger, kick: make(chan struct{}, 1),
	}
	if s.maxStale <= 0 {
		s.maxStale = DefaultMaxStale
	}
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Load builds the first view (or rebuilds the current one if the revision moved). serve calls it
// before listening and refuses to start when it fails.
func (s *State) Load(ctx context.Context) error {
	return s.refresh(ctx)
}

// Refresh checks the revision now and rebuilds the view if it moved; it returns once the view
// being enforced is at least as new as the database was when Refresh started. Call it after a
// save, so the save is enforced before the response returns. On error the previous view stays.
func (s *State) Refresh(ctx context.Context) error {
	return s.refresh(ctx)
}

// OnSwap registers fn to run, in a goroutine of its own, after every swap of the view being
// enforced: how the gateway tells open MCP sessions that their tool lists changed. fn reads
// the new view with View; several may run at once, and one may see a view newer than the swap
// that started it, so fn must compare with what it last saw rather than count on order.
func (s *State) OnSwap(fn func()) {
	s.swapMu.Lock()
	s.onSwap = append(s.onSwap, fn)
	s.swapMu.Unlock()
}

// View returns the view to enforce, or an error when there is none or it is stale (see State);
// on error the caller must fail closed. It never blocks.
func (s *State) View() (*View, error) {
	if s == nil {
		return nil, ErrNoView
	}
	c := s.cur.Load()
	if c == nil {
		return nil, ErrNoView
	}
	if age := s.clock().Sub(c.confirmed); age > s.maxStale {
		s.hmu.Lock()
		cause := s.lastErr
		s.hmu.Unlock()
		return nil, &StaleError{Revision: c.view.Revision, Age: age, MaxStale: s.maxStale, Cause: cause}
	}
	return c.view, nil
}

// Age is the time since the view was last confirmed current (0 before any view).
func (s *State) Age() time.Duration {
	if s == nil {
		return 0
	}
	c := s.cur.Load()
	if c == nil {
		return 0
	}
	return max(s.clock().Sub(c.confirmed), 0)
}

// Health describes the enforcement state for /healthz.
type Health struct {
	Database string // store.KindSQLite or store.KindPostgres
	// Revision is the revision of the view being enforced (0 when there is none).
	Revision    int64
	BuiltAt     time.Time
	ConfirmedAt time.Time
	// Age is the time since the view was last confirmed current.
	Age      time.Duration
	MaxStale time.Duration
	// Degraded: the last check or rebuild failed, so the view may be outdated.
	Degraded bool
	// Stale: there is no view or Age exceeds MaxStale; View fails closed.
	Stale bool
	// Listening: the Postgres notification connection is up (always false on SQLite).
	Listening   bool
	LastError   string
	LastErrorAt time.Time
}

// Status is "ok", "degraded" (enforcing a view that could not be confirmed, within MaxStale) or
// "unavailable" (failing closed).
func (h Health) Status() string {
	switch {
	case h.Stale:
		return "unavailable"
	case h.Degraded:
		return "degraded"
	default:
		return "ok"
	}
}

// Health reports the enforcement state.
func (s *State) Health() Health {
	h := Health{Database: s.st.Kind(), MaxStale: s.maxStale, Stale: true}
	if c := s.cur.Load(); c != nil {
		h.Revision, h.BuiltAt, h.ConfirmedAt = c.view.Revision, c.view.BuiltAt, c.confirmed
		h.Age = max(s.clock().Sub(c.confirmed), 0)
		h.Stale = h.Age > s.maxStale
	}
	s.hmu.Lock()
	h.Degraded, h.Listening, h.LastError, h.LastErrorAt = s.degraded, s.listening, s.lastErr, s.lastErrAt
	s.hmu.Unlock()
	return h
}

// Run keeps the view current until ctx ends: on Postgres it LISTENs for revision notifications
// on a dedicated connection (reconnecting with backoff), and on every database it checks the
// revision each PollInterval as a safety net. Failed checks mark the state degraded.
func (s *State) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if s.st.Kind() == store.KindPostgres {
		wg.Go(func() { s.listen(ctx) })
	}
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
		_ = s.refresh(ctx) // failures are recorded in Health and logged on change
	}
}

// wake asks Run for a check without waiting.
func (s *State) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *State) listen(ctx context.Context) {
	backoff := listenMinBackoff
	for {
		started := time.Now()
		err := s.st.ListenRevisions(ctx, func(rev int64) {
			s.setListening(true)
			if c := s.cur.Load(); c == nil || rev == 0 || rev != c.view.Revision {
				s.wake()
			}
		})
		wasListening := s.setListening(false)
		if ctx.Err() != nil || errors.Is(err, store.ErrListenUnsupported) {
			return
		}
		if wasListening {
			s.log.Warn("policy notifications interrupted; reconnecting", "error", err)
		} else {
			s.log.Debug("policy notifications: reconnect failed", "error", err)
		}
		s.wake() // catch up, and notice an unreachable database now rather than at the next poll
		if time.Since(started) > time.Minute {
			backoff = listenMinBackoff
		}
		sleep := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(sleep):
		}
		backoff = min(backoff*2, listenMaxBackoff)
	}
}

func (s *State) setListening(on bool) (was bool) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	was, s.listening = s.listening, on
	return was
}

// refresh is Load, Refresh and Run's check: read the revision; confirm the view if it matches,
// else move to the new revision and swap the new view in: incrementally (reading only what
// changed since the view's revision, see incremental.go) when the store can describe the
// changes, else by a full build.
func (s *State) refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.clock()
	checkCtx, cancel := context.WithTimeout(ctx, checkTimeout)
	rev, err := s.st.Revision(checkCtx)
	cancel()
	if err != nil {
		return s.failed(ctx, fmt.Errorf("read policy revision: %w", err))
	}
	if c := s.cur.Load(); c != nil && c.view.Revision == rev {
		if start.After(c.confirmed) {
			s.cur.Store(&current{view: c.view, confirmed: start})
		}
		s.recovered()
		return nil
	}
	buildCtx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	var (
		v         *View
		confirmed time.Time
		how       = "full"
		reason    string
	)
	if c := s.cur.Load(); c != nil && rev > c.view.Revision {
		// Read only what changed since the view's revision; a full build when that is not possible.
		v, confirmed, reason, err = s.incremental(buildCtx, c.view)
		if err != nil {
			if ctx.Err() != nil {
				return s.failed(ctx, fmt.Errorf("refresh policy view: %w", err))
			}
			s.log.Debug("incremental policy refresh failed; rebuilding", "revision", c.view.Revision, "error", err)
			reason = err.Error()
		}
		if v != nil {
			how = "incremental"
		}
	}
	if v == nil {
		v, confirmed, err = s.build(buildCtx)
		if err != nil {
			return s.failed(ctx, fmt.Errorf("rebuild policy view: %w", err))
		}
	}
	prev := s.cur.Swap(&current{view: v, confirmed: confirmed})
	s.swapMu.Lock()
	for _, fn := range s.onSwap {
		go fn()
	}
	s.swapMu.Unlock()
	if how == "incremental" {
		s.incrementals.Add(1)
	} else {
		s.fulls.Add(1)
	}
	if s.m != nil {
		s.m.SnapshotRevision.Set(float64(v.Revision))
	}
	if prev != nil {
		s.log.Debug("policy view rebuilt", "revision", v.Revision, "previous", prev.view.Revision, "how", how, "full_reason", reason)
	}
	s.recovered()
	return nil
}

// build loads everything a view needs at one revision and builds it. It returns the view and
// the time its reads started (when it was known current).
func (s *State) build(ctx context.Context) (*View, time.Time, error) {
	for attempt := 1; ; attempt++ {
		start, t0 := s.clock(), time.Now()
		doc, rev, err := s.st.LoadDocument(ctx)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("load policy: %w", err)
		}
		keys, err := s.st.KeySecretHashes(ctx)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("load key secrets: %w", err)
		}
		headers, err := s.st.ServerAuthHeaders(ctx)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("load server headers: %w", err)
		}
		// Secrets and headers are read outside LoadDocument's transaction; every write that
		// changes them bumps the revision, so an unchanged revision proves all reads agree.
		after, err := s.st.Revision(ctx)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("read policy revision: %w", err)
		}
		if after != rev {
			if attempt == buildAttempts {
				return nil, time.Time{}, fmt.Errorf("the policy changed during each of %d reads", attempt)
			}
			continue
		}
		snap, err := buildSnapshot(doc)
		if err != nil {
			return nil, time.Time{}, err
		}
		ups := make(map[string]Upstream, len(doc.Servers))
		for _, sv := range doc.Servers {
			h := headers[sv.Name]
			up := Upstream{URL: sv.URL, Headers: h.Headers}
			if h.Err != nil {
				// One unreadable row takes its server out of service, not the whole view.
				up.Headers, up.Unavailable = nil, h.Err.Error()
				s.log.Warn("upstream headers unusable: the gateway refuses this server until they are fixed", "server", sv.Name, "error", h.Err)
			}
			ups[sv.Name] = up
		}
		v := &View{Revision: rev, Snapshot: snap, Doc: doc, KeysByHash: keys, Upstreams: ups, BuiltAt: s.clock()}
		if s.m != nil {
			s.m.SnapshotRebuild.Observe(time.Since(t0).Seconds())
		}
		return v, start, nil
	}
}

// buildSnapshot runs the resolver, turning a panic (a bug meeting unexpected data) into an
// error so it cannot take down the process or replace the good view.
func buildSnapshot(doc *models.Document) (snap *resolver.Snapshot, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("build snapshot: panic: %v", r)
		}
	}()
	return resolver.Build(doc), nil
}

// failed records err and marks the state degraded, unless ctx itself ended (the caller gave
// up; that says nothing about the database).
func (s *State) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	s.hmu.Lock()
	was := s.degraded
	s.degraded, s.lastErr, s.lastErrAt = true, err.Error(), s.clock()
	s.hmu.Unlock()
	if s.m != nil {
		s.m.SnapshotDegraded.Set(1)
		s.m.SnapshotRebuildErrors.Inc()
	}
	if !was {
		rev := int64(0)
		if c := s.cur.Load(); c != nil {
			rev = c.view.Revision
		}
		s.log.Warn("policy state degraded: enforcing the last good view", "revision", rev, "max_stale", s.maxStale, "error", err)
	}
	return err
}

func (s *State) recovered() {
	s.hmu.Lock()
	was := s.degraded
	s.degraded = false
	s.hmu.Unlock()
	if was {
		if s.m != nil {
			s.m.SnapshotDegraded.Set(0)
		}
		s.log.Info("policy state recovered", "revision", s.cur.Load().view.Revision)
	}
}
