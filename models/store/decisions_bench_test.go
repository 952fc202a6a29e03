package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func BenchmarkInsertDecisions(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			st := storetest.Open(b, kind)
			rows := make([]models.Decision, 500)
			for i := range rows {
				rows[i] = models.Decision{At: time.Now(), Kind: "call", KeyName: "ci-bot", EndUser: "alice", Server: "github", Tool: "create_issue", Allowed: i%2 == 0, DecidedBy: "organization", Revision: 7}
			}
			b.ResetTimer()
			for b.Loop() {
				if err := st.InsertDecisions(context.Background(), rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/row")
		})
	}
}
