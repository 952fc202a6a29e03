package live

import (
	"context"
	"time"

	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// Replay replays the calls the decision log recorded over the window before now against a
// change from before to after, for the principals under scope (those the change can affect):
// it reads the log's rollup (see store.RecordedCalls; the result's Since says where the window
// began, at an hour's start) and lets the resolver decide each recorded tuple with both
// snapshots. Every preview calls it with the snapshots it diffs, and so does `warden policy
// replay`.
func Replay(ctx context.Context, st *store.Store, before, after *resolver.Snapshot, scope resolver.Scope, window time.Duration, now time.Time) (resolver.ReplayResult, error) {
	calls, since, err := st.RecordedCalls(ctx, window, now)
	if err != nil {
		return resolver.ReplayResult{}, err
	}
	res := resolver.Replay(before, after, scope, calls)
	res.Since = since
	return res, nil
}
