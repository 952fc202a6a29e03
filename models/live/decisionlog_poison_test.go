package live_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// A record's strings come from requests: a tool name "x\u0000y" in a tools/call or a check
// request, an end user header with a byte 0xff. Postgres stores neither a NUL nor invalid
// UTF-8 in text, so such a record used to fail its whole batch on every retry: one request
// stopped the decision log for good (the queue filled and every later record was dropped).
// Records are now stored with such characters replaced by U+FFFD, and names cut to
// MaxStoredName bytes (a 1 MiB end-user header was 1 MiB a record).
func TestDecisionLogUnstorableStrings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := live.NewDecisionLog(st, live.DecisionLogOptions{BatchSize: 10, FlushInterval: 10 * time.Millisecond, Retention: -1})
		l.Record(live.DecisionRecord{Key: "mallory", EndUser: "eve\xff", Agent: "a\x00", Server: "github", Tool: "x\x00y", DecidedBy: "organization"})
		l.Record(live.DecisionRecord{Key: "alice", Server: "github", Tool: "create_issue", Allowed: true})
		long := strings.Repeat("é", 1<<19) // 1 MiB, as an end-user header can be
		l.Record(live.DecisionRecord{Key: "bob", EndUser: long, Server: "github", Tool: long})
		closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := l.Close(closeCtx); err != nil {
			t.Fatalf("close: %v", err)
		}
		rows, err := st.ListDecisions(ctx, store.DecisionFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 {
			t.Fatalf("%d rows, want 2: %+v", len(rows), rows)
		}
		got := map[string]string{}
		for _, r := range rows {
			got[r.KeyName] = r.EndUser + "|" + r.Agent + "|" + r.Tool
		}
		cut := long[:live.MaxStoredName-len("…")-1] + "…" // "é" is 2 bytes: cut at a character boundary
		if got["mallory"] != "eve\uFFFD|a\uFFFD|x\uFFFDy" || got["alice"] != "||create_issue" || got["bob"] != cut+"||"+cut {
			t.Errorf("rows %q", got)
		}
	})
}
