package live

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
)

// Defaults of DecisionLogOptions.
const (
	DefaultDecisionRetention = 7 * 24 * time.Hour
	DefaultRollupRetention   = 90 * 24 * time.Hour
	DefaultDecisionBuffer    = 10000
	DefaultDecisionBatch     = 500
	DefaultDecisionFlush     = time.Second
	DefaultRollupFlush       = 10 * time.Second
	DefaultRollupMax         = 50000
	DefaultDecisionPrune     = time.Hour
	// DefaultWindowRefresh is how often the writer checks whether an hour ended since the
	// replay windows' totals were summed (see store.RefreshReplayWindows).
	DefaultWindowRefresh = 5 * time.Minute
)

// ReplayWindows are the windows previews replay (24 h, 7 d, 30 d), whose totals the decision
// log keeps summed so a replay reads one row a tuple.
var ReplayWindows = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}

const (
	decisionWriteTimeout = 10 * time.Second
	decisionPruneTimeout = 5 * time.Minute
)

// DecisionLogOptions configure a DecisionLog. Zero values take the defaults.
type DecisionLogOptions struct {
	// Retention is how long raw decisions are kept; older ones are pruned every PruneInterval.
	// Default DefaultDecisionRetention; negative keeps them forever.
	Retention time.Duration
	// RollupRetention is how long the rollup's hourly counts (what replays read) are kept.
	// Default DefaultRollupRetention; negative keeps them forever.
	RollupRetention time.Duration
	// Buffer is how many records may wait for the writer; Record drops (and counts) beyond it.
	Buffer int
	// BatchSize is the most records one write carries; a full batch is written at once.
	BatchSize int
	// FlushInterval is the longest a record waits before it is written (also the retry period
	// after a failed write).
	FlushInterval time.Duration
	// RollupFlushInterval is how often the calls counted in memory are added to the rollup
	// (default DefaultRollupFlush): a replay sees calls at most this late. Counting in memory
	// first is what keeps the rollup cheap: a write adds one row per (hour, tuple), however many
	// calls it counted.
	RollupFlushInterval time.Duration
	// RollupMax is how many (hour, tuple) counts may wait in memory before they are written
	// without waiting for the interval (default DefaultRollupMax).
	RollupMax int
	// PruneInterval is the period of retention pruning (the first prune runs at start).
	PruneInterval time.Duration
	// ReplayWindows are the windows whose totals are kept summed (default ReplayWindows);
	// checked every WindowRefresh (default DefaultWindowRefresh), and at start.
	ReplayWindows []time.Duration
	WindowRefresh time.Duration
	Metrics       *Metrics
	Clock         func() time.Time
	Logger        *slog.Logger
}

// DecisionLog is the Recorder that writes decision records to the database's decision log off
// the request path: Record only queues (dropping and counting in Metrics.DecisionLogDropped when
// the queue is full), and one goroutine writes batches and prunes by retention. Failed writes are
// retried; while the database is behind, the writer holds at most a few batches and the queue
// fills, so memory stays bounded.
type DecisionLog struct {
	st          *store.Store
	in          chan DecisionRecord
	retention   time.Duration
	rollupKeep  time.Duration
	rollupMax   int
	rollupEvery time.Duration
	batch       int
	maxPending  int
	flushEvery  time.Duration
	pruneEvery  time.Duration
	windows     []time.Duration
	windowEvery time.Duration
	m           *Metrics
	clock       func() time.Time
	log         *slog.Logger

	// ctx bounds the writer's database calls; Close cancels it when its own context ends, so
	// the writer gives up on what is left and counts it as dropped.
	ctx      context.Context
	cancel   context.CancelFunc
	closed   atomic.Bool
	stop     chan struct{}
	done     chan struct{}
	closeErr error // set before done is closed
}

var _ Recorder = (*DecisionLog)(nil)

// NewDecisionLog starts a decision log writing to st. Close it to flush what is left.
func NewDecisionLog(st *store.Store, opts DecisionLogOptions) *DecisionLog {
	l := &DecisionLog{
		st: st, retention: opts.Retention, rollupKeep: opts.RollupRetention, rollupMax: opts.RollupMax,
		rollupEvery: opts.RollupFlushInterval, batch: opts.BatchSize, flushEvery: opts.FlushInterval,
		pruneEvery: opts.PruneInterval, windows: opts.ReplayWindows, windowEvery: opts.WindowRefresh, m: opts.Metrics, clock: opts.Clock, log: opts.Logger,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	buf := opts.Buffer
	if buf <= 0 {
		buf = DefaultDecisionBuffer
	}
	l.in = make(chan DecisionRecord, buf)
	if l.retention == 0 {
		l.retention = DefaultDecisionRetention
	}
	if l.rollupKeep == 0 {
		l.rollupKeep = DefaultRollupRetention
	}
	if l.rollupMax <= 0 {
		l.rollupMax = DefaultRollupMax
	}
	if l.rollupEvery <= 0 {
		l.rollupEvery = DefaultRollupFlush
	}
	if l.batch <= 0 {
		l.batch = DefaultDecisionBatch
	}
	l.maxPending = 4 * l.batch
	if l.flushEvery <= 0 {
		l.flushEvery = DefaultDecisionFlush
	}
	if l.pruneEvery <= 0 {
		l.pruneEvery = DefaultDecisionPrune
	}
	if l.windows == nil {
		l.windows = ReplayWindows
	}
	if l.windowEvery <= 0 {
		l.windowEvery = DefaultWindowRefresh
	}
	if l.clock == nil {
		l.clock = time.Now
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	go l.run()
	return l
}

// Record queues r for writing. It never blocks: when the queue is full, or after Close, the
// record is dropped and counted.
func (l *DecisionLog) Record(r DecisionRecord) {
	if !l.closed.Load() {
		select {
		case l.in <- r:
			return
		default:
		}
	}
	if l.m != nil {
		l.m.DecisionLogDropped.Inc()
	}
}

// Close stops accepting records and writes the queued ones, retrying until ctx ends. Records
// that could not be written by then are dropped (and counted); the error says so.
func (l *DecisionLog) Close(ctx context.Context) error {
	if l.closed.CompareAndSwap(false, true) {
		close(l.stop)
	}
	select {
	case <-l.done:
	case <-ctx.Done():
		l.cancel()
		<-l.done
	}
	return l.closeErr
}

func (l *DecisionLog) run() {
	// Pruning runs beside the writer, so a long prune never holds records back.
	pruned, summed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(pruned)
		l.pruneLoop(l.ctx)
	}()
	go func() {
		defer close(summed)
		l.windowLoop(l.ctx)
	}()
	defer func() {
		l.cancel()
		<-pruned
		<-summed
		close(l.done)
	}()
	flushT := time.NewTicker(l.flushEvery)
	defer flushT.Stop()
	rollupT := time.NewTicker(l.rollupEvery)
	defer rollupT.Stop()

	var pending []models.Decision
	var rollup store.Rollup // calls counted since the last rollup write
	var retryAt time.Time   // after a failed write, full batches wait until then
	failing := false
	report := func(err error) {
		if err != nil {
			retryAt = time.Now().Add(l.flushEvery)
			if !failing {
				l.log.Warn("decision log: write failed; retrying", "pending", len(pending), "rollup", rollup.Len(), "error", err)
			}
			failing = true
			return
		}
		if failing {
			l.log.Info("decision log: writing again")
		}
		failing = false
	}
	flush := func() {
		var err error
		pending, err = l.write(l.ctx, pending)
		report(err)
	}
	flushRollup := func() {
		report(l.writeRollup(l.ctx, &rollup))
	}
	take := func(r DecisionRecord) {
		d := toDecision(r, l.clock)
		pending = append(pending, d)
		rollup.Add(&d)
	}
	for {
		in := l.in
		if len(pending) >= l.maxPending || rollup.Len() >= 4*l.rollupMax {
			in = nil // the database is behind: let the queue fill, and Record drop
		}
		select {
		case r := <-in:
			take(r)
			if time.Now().After(retryAt) {
				if len(pending) >= l.batch {
					flush()
				}
				if rollup.Len() >= l.rollupMax {
					flushRollup()
				}
			}
		case <-flushT.C:
			if len(pending) > 0 {
				flush()
			}
		case <-rollupT.C:
			if rollup.Len() > 0 {
				flushRollup()
			}
		case <-l.stop:
			for {
				for drained := false; !drained; {
					select {
					case r := <-l.in:
						take(r)
					default:
						drained = true
					}
				}
				if len(pending) == 0 && rollup.Len() == 0 {
					return
				}
				if len(pending) > 0 {
					flush()
				}
				if rollup.Len() > 0 {
					flushRollup()
				}
				if len(pending) == 0 && rollup.Len() == 0 {
					return
				}
				select {
				case <-l.ctx.Done():
					l.closeErr = fmt.Errorf("decision log: %d records (and %d rollup counts) not written at shutdown", len(pending), rollup.Len())
					l.log.Error("decision log: records lost at shutdown", "records", len(pending), "rollup", rollup.Len())
					if l.m != nil {
						l.m.DecisionLogDropped.Add(float64(len(pending)))
					}
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}
}

// writeRollup adds the counted calls to the rollup and, once written, forgets them.
func (l *DecisionLog) writeRollup(ctx context.Context, r *store.Rollup) error {
	wctx, cancel := context.WithTimeout(ctx, decisionWriteTimeout)
	defer cancel()
	if err := l.st.AddRollup(wctx, r); err != nil {
		if l.m != nil {
			l.m.DecisionLogFlushErrors.Inc()
		}
		return err
	}
	r.Reset()
	return nil
}

// write stores pending in batches and returns what is left unwritten.
func (l *DecisionLog) write(ctx context.Context, pending []models.Decision) ([]models.Decision, error) {
	for len(pending) > 0 {
		n := min(len(pending), l.batch)
		wctx, cancel := context.WithTimeout(ctx, decisionWriteTimeout)
		err := l.st.InsertDecisions(wctx, pending[:n])
		cancel()
		if err != nil {
			if l.m != nil {
				l.m.DecisionLogFlushErrors.Inc()
			}
			return pending, err
		}
		if l.m != nil {
			l.m.DecisionLogWritten.Add(float64(n))
		}
		pending = pending[n:]
	}
	return nil, nil
}

// pruneLoop deletes raw decisions and rollup counts older than their retentions at start and
// every pruneEvery.
func (l *DecisionLog) pruneLoop(ctx context.Context) {
	if l.retention < 0 && l.rollupKeep < 0 {
		return
	}
	t := time.NewTicker(l.pruneEvery)
	defer t.Stop()
	for {
		if l.retention >= 0 {
			l.prune(ctx, "decisions", l.retention, l.st.PruneDecisions)
		}
		if l.rollupKeep >= 0 {
			l.prune(ctx, "rollup hours", l.rollupKeep, l.st.PruneRollup)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// windowLoop keeps the replay windows' totals summed up to the last hour that ended.
func (l *DecisionLog) windowLoop(ctx context.Context) {
	if len(l.windows) == 0 {
		return
	}
	t := time.NewTicker(l.windowEvery)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, decisionPruneTimeout)
		if err := l.st.RefreshReplayWindows(rctx, l.windows, l.clock()); err != nil && ctx.Err() == nil {
			l.log.Warn("decision log: summing the replay windows failed", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *DecisionLog) prune(ctx context.Context, what string, keep time.Duration, prune func(context.Context, time.Time) (int64, error)) {
	ctx, cancel := context.WithTimeout(ctx, decisionPruneTimeout)
	defer cancel()
	n, err := prune(ctx, l.clock().Add(-keep))
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("decision log: prune failed", "what", what, "error", err)
		}
		return
	}
	if n > 0 {
		l.log.Info("decision log: pruned", "what", what, "rows", n, "retention", keep)
	}
}

// toDecision converts a record to its row; a record without a time gets the current one, and
// one without a kind is a call.
func toDecision(r DecisionRecord, now func() time.Time) models.Decision {
	d := models.Decision{
		At: r.At, Kind: r.Kind, KeyName: storable(r.Key), EndUser: storable(r.EndUser), Agent: storable(r.Agent),
		Server: storable(r.Server), Tool: storable(r.Tool), Allowed: r.Allowed, DecidedBy: r.DecidedBy, Revision: r.Revision,
	}
	if d.At.IsZero() {
		d.At = now()
	}
	if d.Kind == "" {
		d.Kind = models.DecisionCall
	}
	return d
}

// MaxStoredName is the longest name a decision record stores (in bytes); a longer one is cut
// at a character boundary and ends with "…". Names in a policy are far shorter (MCP tool names
// are at most 128 characters); the names in records come from requests, and without a bound one
// request of 100 calls with a 1 MB end-user header was 100 MB of log kept for the retention.
const MaxStoredName = 512

// storable returns s as a decision record stores it: what a Postgres text column cannot hold,
// NUL and invalid UTF-8, replaced by U+FFFD (one such record used to fail its batch on every
// retry, which stopped the decision log for good), and cut to MaxStoredName bytes.
func storable(s string) string {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	}
	if len(s) <= MaxStoredName {
		return s
	}
	cut := MaxStoredName - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// FromDecision converts a decision log row back to a record (for replay).
func FromDecision(d models.Decision) DecisionRecord {
	return DecisionRecord{
		At: d.At, Kind: d.Kind, Key: d.KeyName, EndUser: d.EndUser, Agent: d.Agent, Server: d.Server,
		Tool: d.Tool, Allowed: d.Allowed, DecidedBy: d.DecidedBy, Revision: d.Revision,
	}
}
