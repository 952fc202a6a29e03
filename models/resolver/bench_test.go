package resolver

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver/gen"
)

// Benchmarks run at gen.Large() (50 organizations, 2,000 teams, 100,000 keys, 200 servers x 30
// tools); with -short at gen.Small(). Plain `go test` runs no benchmark.

var benchDoc struct {
	once sync.Once
	cfg  gen.Config
	doc  *models.Document
}

func largeDoc() (*models.Document, gen.Config) {
	benchDoc.once.Do(func() {
		benchDoc.cfg = gen.Large()
		if testing.Short() {
			benchDoc.cfg = gen.Small()
		}
		benchDoc.doc = gen.Generate(benchDoc.cfg)
	})
	return benchDoc.doc, benchDoc.cfg
}

// benchRequests draws n requests: a random key, a quarter with an end user (some unknown), an
// eighth naming an agent (the bound one for bound keys). allowedShare of them call a tool the
// request may use, as a gateway's traffic mostly does (clients call what tools/list showed);
// the rest call a random server and tool, which is nearly always denied.
func benchRequests(doc *models.Document, cfg gen.Config, n int, allowedShare float64) []Request {
	r := rand.New(rand.NewPCG(7, 7))
	s := Build(doc)
	out := make([]Request, n)
	for i := range out {
		k := doc.Keys[r.IntN(len(doc.Keys))]
		q := Request{Key: k.Name, Server: gen.ServerName(r.IntN(cfg.Servers)), Tool: gen.ToolName(r.IntN(cfg.ToolsPerServer))}
		if r.IntN(4) == 0 {
			q.EndUser = gen.EndUserName(r.IntN(cfg.EndUsers + cfg.EndUsers/10)) // some unknown
		}
		if r.IntN(8) == 0 {
			if k.Agent != "" {
				q.Agent = k.Agent
			} else {
				q.Agent = gen.AgentName(r.IntN(cfg.Agents))
			}
		}
		if r.Float64() < allowedShare {
			if acc, err := s.KeyAccessFor(q); err == nil && len(acc) > 0 {
				servers := acc.Servers()
				q.Server = servers[r.IntN(len(servers))]
				q.Tool = acc[q.Server][r.IntN(len(acc[q.Server]))]
			}
		}
		// Fresh strings, as a gateway decoding a request would have.
		q.Key, q.Server, q.Tool = strings.Clone(q.Key), strings.Clone(q.Server), strings.Clone(q.Tool)
		out[i] = q
	}
	return out
}

// BenchmarkDecide: one warm decision. It cycles through 256 requests (a busy gateway's hot
// set; 80% call a tool they may use), so it measures the decision itself with warm caches.
func BenchmarkDecide(b *testing.B) { benchDecide(b, 256, 0.8) }

// BenchmarkDecideDenied: 256 requests for random servers and tools, nearly all denied, so
// nearly every call walks the chain to find who decided.
func BenchmarkDecideDenied(b *testing.B) { benchDecide(b, 256, 0) }

// BenchmarkDecideRandom: like BenchmarkDecide over 16,384 requests spread over all 100,000
// keys, so the key index and key records are mostly cache misses: memory-bound.
func BenchmarkDecideRandom(b *testing.B) { benchDecide(b, 16384, 0.8) }

// benchDecide cycles through n requests from benchRequests.
func benchDecide(b *testing.B, n int, allowedShare float64) {
	doc, cfg := largeDoc()
	s := Build(doc)
	reqs := benchRequests(doc, cfg, n, allowedShare)
	allowed := 0
	for _, r := range reqs {
		if d, err := s.Decide(r); err != nil {
			b.Fatal(err)
		} else if d.Allowed {
			allowed++
		}
	}
	b.ReportAllocs()
	cpu := cpuNanos()
	i := 0
	for b.Loop() {
		if _, err := s.Decide(reqs[i%n]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportCPU(b, cpu, i)
	b.ReportMetric(float64(allowed)/float64(len(reqs))*100, "%allowed")
}

// BenchmarkDecideParallel: the same on every core (snapshots need no lock).
func BenchmarkDecideParallel(b *testing.B) {
	doc, cfg := largeDoc()
	s := Build(doc)
	reqs := benchRequests(doc, cfg, 4096, 0.8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Decide(reqs[i&4095])
			i++
		}
	})
}

// reportCPU reports the process CPU time per operation since start (see cpuNanos).
func reportCPU(b *testing.B, start int64, n int) {
	if n > 0 && start > 0 {
		b.ReportMetric(float64(cpuNanos()-start)/float64(n), "cpu-ns/op")
	}
}

// heapSampler records the peak of HeapInuse while it runs.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

func sampleHeap(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		var ms runtime.MemStats
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			h.peak = max(h.peak, ms.HeapInuse)
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak
}

// BenchmarkBuild: resolving the whole loaded Document. Reports B/op, the peak heap growth
// during a build (peak-heap-MB: HeapInuse sampled every 2 ms via runtime.MemStats, minus the
// heap before the build) and the heap the finished snapshot retains (retained-MB).
func BenchmarkBuild(b *testing.B) {
	doc, _ := largeDoc()
	var ms runtime.MemStats
	var peak, retained uint64
	var cpuTotal int64
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		baseAlloc := ms.HeapAlloc
		h := sampleHeap(2 * time.Millisecond)
		b.StartTimer()
		cpu := cpuNanos()
		s := Build(doc)
		cpuTotal += cpuNanos() - cpu
		n++
		b.StopTimer()
		p := h.Stop()
		runtime.ReadMemStats(&ms)
		peak = max(peak, max(p, ms.HeapInuse)-base)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		retained = max(retained, ms.HeapAlloc-baseAlloc)
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	if n > 0 {
		b.ReportMetric(float64(cpuTotal)/float64(n), "cpu-ns/op")
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(retained)/(1<<20), "retained-MB")
}

// changedBigOrg is org-000 (20,000 keys at gen.Large) with a different selection.
func changedBigOrg(doc *models.Document) (models.OrganizationDoc, *models.Document) {
	org := *doc.Organization(gen.OrgName(0))
	org.MCP = &models.MCPPermission{AccessGroups: []string{"group-00", "group-01", "group-02"},
		Servers: []string{gen.ServerName(0), gen.ServerName(1), gen.ServerName(2)}, Toolsets: []string{"toolset-00"}}
	org.DenyTools = []string{gen.ServerName(0) + "/" + gen.ToolName(3)}
	after := doc.Clone()
	*after.Organization(org.Name) = org
	return org, after
}

// BenchmarkPreviewOrgChange: what the console's preview does when one organization (org-000:
// ~400 teams, 20,000 keys) is edited. The before snapshot is built outside the timed region.
//
//	derive+diff:     after := before.WithOrganization(org); Diff(before, after)
//	update+diff:     after := before.Update(afterDoc); Diff(before, after) (finds the change itself)
//	diff-full:       Diff of two independently built snapshots (no lineage: compares everyone)
//	changes+scoped:  DiffScoped(before, after, Changes(beforeDoc, afterDoc)) on independent builds
func BenchmarkPreviewOrgChange(b *testing.B) {
	doc, _ := largeDoc()
	before := Build(doc)
	org, afterDoc := changedBigOrg(doc)
	report := func(b *testing.B, d DiffResult) {
		b.ReportMetric(float64(len(d.Principals)), "principals")
		b.ReportMetric(float64(d.Summary.KeysGaining+d.Summary.KeysLosing), "keys-changed")
	}
	run := func(name string, op func() DiffResult) {
		b.Run(name, func(b *testing.B) {
			var d DiffResult
			b.ReportAllocs()
			n, cpu := 0, cpuNanos()
			for b.Loop() {
				d = op()
				n++
			}
			reportCPU(b, cpu, n)
			report(b, d)
		})
	}
	run("derive+diff", func() DiffResult { return Diff(before, before.WithOrganization(org)) })
	run("update+diff", func() DiffResult { return Diff(before, before.Update(afterDoc)) })
	built := Build(afterDoc)
	run("diff-full", func() DiffResult { return Diff(before, built) })
	run("changes+scoped", func() DiffResult { return DiffScoped(before, built, Changes(doc, afterDoc)) })
}

// BenchmarkDecideHot: one request repeated (everything it touches stays in cache).
func BenchmarkDecideHot(b *testing.B) {
	doc, cfg := largeDoc()
	s := Build(doc)
	r := benchRequests(doc, cfg, 1, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		s.Decide(r)
	}
}

var calibMap = map[string]int32{"key-000123": 1, "key-000124": 2}
var calibSink int32

// BenchmarkCalibrationMapHit is a hot map[string]int32 hit (about 10 ns on an idle modern
// core); compare it across runs to see how busy the shared machine was.
func BenchmarkCalibrationMapHit(b *testing.B) {
	k := "key-000123"
	for b.Loop() {
		calibSink += calibMap[k]
	}
}
