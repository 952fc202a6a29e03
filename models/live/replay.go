package live

import (
	"context"
	"time"

	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// Replay replays the calls the decision log recorded since since against a change from before
// to after, for the principals under scope (those the change can affect): it reads the log's
// rollup and lets the resolver decide each recorded tuple with both snapshots. Every preview
// calls it with the snapshots it diffs, and so does `warden policy replay`.
func Replay(ctx context.Context, st *store.Store, before, after *resolver.Snapshot, scope resolver.Scope, since time.Time) (resolver.ReplayResult, error) {
	since = since.UTC().Truncate(time.Second)
	calls, err := st.RecordedCalls(ctx, since)
	if err != nil {
		return resolver.ReplayResult{}, err
	}
	res := resolver.Replay(before, after, scope, calls)
	res.Since = since
	return res, nil
}
