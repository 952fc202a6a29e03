package mcpgw

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
)

// BenchmarkGatewayOverhead is the gateway's overhead on tools/call: the same Go SDK client calls
// the same upstream directly and through the gateway, alternating call by call (so both see the
// same background load), one call in flight; the overhead is the difference of the latency
// percentiles, reported as p50/p90/p99-overhead-us beside each side's own. One op is one direct
// and one gateway call, after 300 warm-up calls each. The server-everything upstream (node) runs
// when the MCP peers are installed. See BENCHMARKS.md for the method and figures:
//
//	go test ./handlers/mcpgw -run '^$' -bench GatewayOverhead -benchtime 5000x
func BenchmarkGatewayOverhead(b *testing.B) {
	for _, up := range []struct {
		name, server, tool string
		args               map[string]any
		url                func(b *testing.B) string
	}{
		{"GoSSE", "gosrv", "add", map[string]any{"a": 1, "b": 2}, func(b *testing.B) string { return goServer(b, false).URL }},
		{"GoJSON", "gosrv", "add", map[string]any{"a": 1, "b": 2}, func(b *testing.B) string { return goServer(b, true).URL }},
		{"everything", "everything", "echo", map[string]any{"message": "hi"}, func(b *testing.B) string { return startEverything(b).url }},
	} {
		b.Run(up.name, func(b *testing.B) {
			url := up.url(b)
			h := newHarness(b, map[string]live.Upstream{up.server: {URL: url}})
			direct := connect(b, url, "", nil)
			via := connect(b, h.url+"/mcp/"+up.server, secretDev, nil)
			ctx := context.Background()
			p := &mcp.CallToolParams{Name: up.tool, Arguments: up.args}
			call := func(cs *mcp.ClientSession) time.Duration {
				start := time.Now()
				res, err := cs.CallTool(ctx, p)
				d := time.Since(start)
				if err != nil || res.IsError {
					b.Fatalf("call: %v %v", err, res)
				}
				return d
			}
			for range 300 { // warm up connections, pools and caches
				call(direct)
				call(via)
			}
			var ds, gs []time.Duration
			for b.Loop() {
				ds = append(ds, call(direct))
				gs = append(gs, call(via))
			}
			slices.Sort(ds)
			slices.Sort(gs)
			pct := func(s []time.Duration, p float64) time.Duration { return s[int(float64(len(s)-1)*p)] }
			for _, q := range []struct {
				name string
				p    float64
			}{{"p50", .5}, {"p90", .9}, {"p99", .99}} {
				b.ReportMetric(micros(pct(ds, q.p)), q.name+"-direct-us")
				b.ReportMetric(micros(pct(gs, q.p)), q.name+"-gateway-us")
				b.ReportMetric(micros(pct(gs, q.p)-pct(ds, q.p)), q.name+"-overhead-us")
			}
			b.Logf("%s, %d calls each:", up.name, len(ds))
			b.Logf("  %-8s %9s %9s %9s", "", "p50", "p90", "p99")
			b.Logf("  %-8s %9v %9v %9v", "direct", us(pct(ds, .5)), us(pct(ds, .9)), us(pct(ds, .99)))
			b.Logf("  %-8s %9v %9v %9v", "gateway", us(pct(gs, .5)), us(pct(gs, .9)), us(pct(gs, .99)))
			b.Logf("  %-8s %9v %9v %9v", "overhead", us(pct(gs, .5)-pct(ds, .5)), us(pct(gs, .9)-pct(ds, .9)), us(pct(gs, .99)-pct(ds, .99)))
		})
	}
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d.Nanoseconds())/1000) }

// BenchmarkToolsCall is one tools/call with the Go SDK client, directly and through the gateway,
// to the in-process Go SDK server answering with an event stream.
func BenchmarkToolsCall(b *testing.B) {
	gs := goServer(b, false)
	h := newHarness(b, map[string]live.Upstream{"gosrv": {URL: gs.URL}})
	for _, c := range []struct{ name, url, secret string }{{"direct", gs.URL, ""}, {"gateway", h.url + "/mcp/gosrv", secretDev}} {
		b.Run(c.name, func(b *testing.B) {
			cs := connect(b, c.url, c.secret, nil)
			p := &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 1, "b": 2}}
			ctx := context.Background()
			for b.Loop() {
				if _, err := cs.CallTool(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlan is the gateway's per-call policy work: decide one tools/call of a POST body.
func BenchmarkPlan(b *testing.B) {
	pol := enforce.NewPolicy(testView(b, 1, map[string]live.Upstream{"gosrv": {URL: "http://x"}}))
	raw := []byte(`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`)
	g := &Gateway{}
	b.ReportAllocs()
	for b.Loop() {
		in, err := readRequestBody(raw)
		if err != nil {
			b.Fatal(err)
		}
		x := &exchange{g: g, server: "gosrv", pol: pol, pr: enforce.Principal{Key: "dev"}, in: in}
		x.g.enf = enforce.NewEnforcer(nil, time.Now)
		if x.plan() == nil {
			b.Fatal("denied")
		}
	}
}
