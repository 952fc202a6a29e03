package store_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func TestTmpReadLatencyBesideDecisionLog(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	doc, _ := demo.Document()
	storetest.MustApply(t, st, doc)
	ctx := context.Background()
	rows := make([]models.Decision, 500)
	for i := range rows {
		rows[i] = models.Decision{At: time.Now(), Kind: "call", KeyName: "k", Server: "s", Tool: "t", Allowed: true, Revision: 1}
	}
	for _, load := range []bool{false, true} {
		stop := make(chan struct{})
		done := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					done <- n
					return
				default:
				}
				if !load {
					time.Sleep(time.Millisecond)
					continue
				}
				if err := st.InsertDecisions(ctx, rows); err != nil {
					t.Error(err)
				}
				n++
				time.Sleep(25 * time.Millisecond) // ~36 batches/s ≈ 18k decisions/s
			}
		}()
		for _, what := range []string{"Revision", "LoadDocument", "ListDecisions"} {
			var lat []time.Duration
			for range 200 {
				t0 := time.Now()
				var err error
				switch what {
				case "Revision":
					_, err = st.Revision(ctx)
				case "LoadDocument":
					_, _, err = st.LoadDocument(ctx)
				default:
					_, err = st.ListDecisions(ctx, store.DecisionFilter{Limit: 100})
				}
				if err != nil {
					t.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				time.Sleep(2 * time.Millisecond)
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			t.Logf("load=%v %s p50 %v p99 %v max %v", load, what, lat[100], lat[197], lat[199])
		}
		close(stop)
		t.Logf("batches %d", <-done)
	}
}
