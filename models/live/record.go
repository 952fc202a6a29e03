package live

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// DecisionRecord is one enforcement decision as the decision log keeps it: every tools/call
// decision and every filtered tools/list. It lets admins later replay real traffic against a
// draft policy.
type DecisionRecord struct {
	At        time.Time
	Kind      string // "call" for tools/call (and the decision API), "list" for a filtered tools/list
	Key       string
	EndUser   string
	Agent     string
	Server    string
	Tool      string // empty for "list"
	Allowed   bool
	DecidedBy string // empty when allowed; "malformed" for a request refused unread (Tool empty)
	Revision  int64
}

// Recorder takes decision records off the request path. Record must never block.
type Recorder interface {
	Record(DecisionRecord)
}

// Metrics are the Prometheus collectors of the enforcement point, registered on Registry and
// served on /metrics.
type Metrics struct {
	Registry *prometheus.Registry
	// Decisions counts decisions by outcome ("allowed"/"denied") and decided_by ("" when allowed).
	Decisions *prometheus.CounterVec
	// GatewayLatency observes gateway request handling time in seconds by server and JSON-RPC
	// method ("" for non-JSON-RPC requests such as GET streams).
	GatewayLatency *prometheus.HistogramVec
	// UpstreamErrors counts failed upstream exchanges by server.
	UpstreamErrors *prometheus.CounterVec
	// SnapshotRevision is the revision of the view being enforced.
	SnapshotRevision prometheus.Gauge
	// SnapshotRebuild observes how long loading and building a view took, in seconds.
	SnapshotRebuild prometheus.Histogram
	// SnapshotAge is the age in seconds of the view being enforced (grows while degraded).
	SnapshotAge prometheus.GaugeFunc
	// DecisionLogDropped counts decision records dropped because the log's buffer was full.
	DecisionLogDropped prometheus.Counter

	// SnapshotDegraded is 1 while the view being enforced could not be confirmed current (the
	// database is unreachable or the newest policy failed to build), else 0.
	SnapshotDegraded prometheus.Gauge
	// SnapshotRebuildErrors counts failed attempts to check or rebuild the view.
	SnapshotRebuildErrors prometheus.Counter
	// DecisionLogWritten counts decision records written to the database.
	DecisionLogWritten prometheus.Counter
	// DecisionLogFlushErrors counts failed batch writes of the decision log (retried).
	DecisionLogFlushErrors prometheus.Counter
}

// NewMetrics creates the collectors on a fresh registry (with Go and process collectors).
// age reports the current view's age in seconds.
func NewMetrics(age func() float64) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warden_decisions_total", Help: "Enforcement decisions by outcome and deciding level.",
		}, []string{"outcome", "decided_by"}),
		GatewayLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "warden_gateway_request_duration_seconds", Help: "Time the gateway spent on a request, upstream included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"server", "method"}),
		UpstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warden_upstream_errors_total", Help: "Upstream MCP exchanges that failed.",
		}, []string{"server"}),
		SnapshotRevision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "warden_snapshot_revision", Help: "Policy revision of the snapshot being enforced.",
		}),
		SnapshotRebuild: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "warden_snapshot_rebuild_seconds", Help: "Time to load the policy and build a snapshot.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		SnapshotAge: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "warden_snapshot_age_seconds", Help: "Age of the snapshot being enforced.",
		}, age),
		DecisionLogDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "warden_decision_log_dropped_total", Help: "Decision records dropped because the log buffer was full.",
		}),
		SnapshotDegraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "warden_snapshot_degraded", Help: "1 while the enforced snapshot cannot be confirmed current, else 0.",
		}),
		SnapshotRebuildErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "warden_snapshot_rebuild_errors_total", Help: "Failed attempts to check or rebuild the snapshot.",
		}),
		DecisionLogWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "warden_decision_log_written_total", Help: "Decision records written to the database.",
		}),
		DecisionLogFlushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "warden_decision_log_flush_errors_total", Help: "Failed batch writes of the decision log.",
		}),
	}
	r.MustRegister(m.Decisions, m.GatewayLatency, m.UpstreamErrors, m.SnapshotRevision, m.SnapshotRebuild,
		m.SnapshotAge, m.DecisionLogDropped,
		m.SnapshotDegraded, m.SnapshotRebuildErrors, m.DecisionLogWritten, m.DecisionLogFlushErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
