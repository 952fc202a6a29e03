package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver/gen"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// BenchmarkRebuild measures what every policy change costs each replica: reading the whole
// policy from the database (document, key secrets, upstream headers) and building the view.
// Propagation time is about one rebuild plus the notification's trip.
//
//	go test ./models/live -run '^$' -bench Rebuild -benchtime 5x
func BenchmarkRebuild(b *testing.B) {
	for _, size := range []struct {
		name string
		cfg  gen.Config
	}{{"small", gen.Small()}, {"large", gen.Large()}} {
		for _, kind := range storetest.Kinds {
			b.Run(size.name+"/"+kind, func(b *testing.B) {
				st := storetest.Open(b, kind)
				doc := gen.Generate(size.cfg)
				start := time.Now()
				storetest.MustApply(b, st, doc)
				b.Logf("%d keys, %d teams, %d servers imported in %s", len(doc.Keys), len(doc.Teams), len(doc.Servers), time.Since(start))
				s := live.New(st, live.Options{})
				ctx := context.Background()
				if err := s.Load(ctx); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					b.StopTimer()
					storetest.Exec(b, st, `UPDATE policy_state SET revision = revision + 1 WHERE id = 1`)
					b.StartTimer()
					if err := s.Refresh(ctx); err != nil {
						b.Fatal(err)
					}
				}
				if v, _ := s.View(); v == nil || len(v.Doc.Keys) != len(doc.Keys) {
					b.Fatal("the view does not hold the policy")
				}
			})
		}
	}
}
