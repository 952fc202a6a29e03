package mcpgw

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/live"
)

// Gateway overhead on tools/call: the same Go SDK client calls the same upstream directly and
// through the gateway, alternating call by call, one call in flight; the overhead is the
// difference of the latency percentiles. See BENCHMARKS.md.
//
//	WARDEN_BENCH=1 go test ./handlers/mcpgw -run TestGatewayOverhead -v
//	WARDEN_BENCH=1 WARDEN_BENCH_CALLS=20000 go test ./handlers/mcpgw -run TestGatewayOverhead -v
func TestGatewayOverhead(t *testing.T) {
	if os.Getenv("WARDEN_BENCH") == "" {
		t.Skip("benchmark: set WARDEN_BENCH=1 to measure the gateway's overhead")
	}
	calls := 5000
	if n, err := strconv.Atoi(os.Getenv("WARDEN_BENCH_CALLS")); err == nil && n > 0 {
		calls = n
	}
	type upstream struct {
		name, url, tool string
		args            map[string]any
	}
	var ups []upstream
	for _, jsonResp := range []bool{false, true} {
		gs := goServer(t, jsonResp)
		mode := "SSE"
		if jsonResp {
			mode = "JSON"
		}
		ups = append(ups, upstream{"Go SDK server, " + mode + " answers", gs.URL, "add", map[string]any{"a": 1, "b": 2}})
	}
	if os.Getenv("WARDEN_BENCH_NODE") != "" {
		ev := startEverything(t)
		ups = append(ups, upstream{"server-everything (node), SSE answers", ev.url, "echo", map[string]any{"message": "hi"}})
	}
	for _, up := range ups {
		server := "gosrv"
		if up.tool == "echo" {
			server = "everything"
		}
		h := newHarness(t, map[string]live.Upstream{server: {URL: up.url}})
		direct := connect(t, up.url, "", nil)
		via := connect(t, h.url+"/mcp/"+server, secretDev, nil)
		ctx := context.Background()
		p := &mcp.CallToolParams{Name: up.tool, Arguments: up.args}
		call := func(cs *mcp.ClientSession) time.Duration {
			start := time.Now()
			res, err := cs.CallTool(ctx, p)
			d := time.Since(start)
			if err != nil || res.IsError {
				t.Fatalf("call: %v %v", err, res)
			}
			return d
		}
		for range 300 { // warm up connections, pools and caches
			call(direct)
			call(via)
		}
		ds, gs := make([]time.Duration, 0, calls), make([]time.Duration, 0, calls)
		for range calls {
			ds = append(ds, call(direct))
			gs = append(gs, call(via))
		}
		slices.Sort(ds)
		slices.Sort(gs)
		pct := func(s []time.Duration, p float64) time.Duration { return s[int(float64(len(s)-1)*p)] }
		t.Logf("%s, %d calls each:", up.name, calls)
		t.Logf("  %-8s %9s %9s %9s", "", "p50", "p90", "p99")
		t.Logf("  %-8s %9v %9v %9v", "direct", us(pct(ds, .5)), us(pct(ds, .9)), us(pct(ds, .99)))
		t.Logf("  %-8s %9v %9v %9v", "gateway", us(pct(gs, .5)), us(pct(gs, .9)), us(pct(gs, .99)))
		t.Logf("  %-8s %9v %9v %9v", "overhead", us(pct(gs, .5)-pct(ds, .5)), us(pct(gs, .9)-pct(ds, .9)), us(pct(gs, .99)-pct(ds, .99)))
	}
}

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
	pol := newPolicy(testView(b, 1, map[string]live.Upstream{"gosrv": {URL: "http://x"}}))
	raw := []byte(`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`)
	g := &Gateway{}
	b.ReportAllocs()
	for b.Loop() {
		in, err := readRequestBody(raw)
		if err != nil {
			b.Fatal(err)
		}
		x := &exchange{g: g, server: "gosrv", pol: pol, pr: Principal{Key: "dev"}, in: in}
		x.g.enf = &Enforcer{now: time.Now}
		if x.plan() == nil {
			b.Fatal("denied")
		}
	}
}
