package mcpgw

import (
	"time"

	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
)

// Observer records decisions and gateway metrics; both parts are optional.
type Observer struct {
	Recorder live.Recorder
	Metrics  *live.Metrics
}

// Decision records one decision in the log and the decision counter.
func (o Observer) Decision(kind string, pr enforce.Principal, server, tool string, d resolver.Decision, rev int64, at time.Time) {
	if o.Metrics != nil {
		outcome := "denied"
		if d.Allowed {
			outcome = "allowed"
		}
		o.Metrics.Decisions.WithLabelValues(outcome, string(d.DecidedBy)).Inc()
	}
	if o.Recorder != nil {
		o.Recorder.Record(live.DecisionRecord{At: at, Kind: kind, Key: pr.Key, EndUser: pr.EndUser, Agent: pr.Agent,
			Server: server, Tool: tool, Allowed: d.Allowed, DecidedBy: string(d.DecidedBy), Revision: rev})
	}
}

// List records a filtered tools/list.
func (o Observer) List(pr enforce.Principal, server string, rev int64, at time.Time) {
	if o.Recorder != nil {
		o.Recorder.Record(live.DecisionRecord{At: at, Kind: "list", Key: pr.Key, EndUser: pr.EndUser, Agent: pr.Agent,
			Server: server, Allowed: true, Revision: rev})
	}
}

// UpstreamError counts one failed upstream exchange.
func (o Observer) UpstreamError(server string) {
	if o.Metrics != nil {
		o.Metrics.UpstreamErrors.WithLabelValues(server).Inc()
	}
}

// Latency observes the handling time of one gateway request.
func (o Observer) Latency(server, method string, d time.Duration) {
	if o.Metrics != nil {
		o.Metrics.GatewayLatency.WithLabelValues(server, method).Observe(d.Seconds())
	}
}
