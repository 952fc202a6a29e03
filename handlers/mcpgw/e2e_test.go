package mcpgw

import (
	"bufio"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/live"
)

// The reference server behind the gateway, driven by the Go SDK client: the list is filtered, an
// allowed call returns the upstream's result, a denied call fails naming the deciding level and
// never reaches the upstream, progress and server-to-client requests (sampling) are relayed,
// resources and prompts pass through.
func TestEverythingGoClient(t *testing.T) {
	ev := startEverything(t)
	tp := newTap(t, ev.url)
	h := newHarness(t, map[string]live.Upstream{
		"everything": {URL: tp.srv.URL + "/mcp", Headers: map[string]string{"X-Upstream-Token": "upstream-credential"}},
	})
	var progressN int
	var mu sync.Mutex
	cs := connect(t, h.url+"/mcp/everything", secretDev, &mcp.ClientOptions{
		// Sampling is deprecated in the protocol but still used; the gateway relays it.
		//lint:ignore SA1019 the test checks the gateway relays sampling while clients use it
		CreateMessageHandler: func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			//lint:ignore SA1019 as above
			return &mcp.CreateMessageResult{Model: "test-model", Role: "assistant", Content: &mcp.TextContent{Text: "sampled by the Go client"}}, nil
		},
		ProgressNotificationHandler: func(ctx context.Context, req *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			progressN++
			mu.Unlock()
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// tools/list: only what the key may use, and only what the upstream has.
	names := toolNames(t, ctx, cs)
	want := []string{"echo", "get-sum", "trigger-long-running-operation", "trigger-sampling-request"}
	if !slices.Equal(names, want) {
		t.Errorf("tools/list = %v, want %v", names, want)
	}

	// An allowed call returns the upstream's result.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "hello"}})
	if err != nil {
		t.Fatal(err)
	}
	if txt := text(res); txt != "Echo: hello" {
		t.Errorf("echo = %q", txt)
	}

	// Denied calls fail with the deciding level and never reach the upstream.
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get-env", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), `tool everything/get-env is denied by organization "acme"`) {
		t.Errorf("get-env: %v", err)
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get-tiny-image", Arguments: map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), `tool everything/get-tiny-image is denied by key "dev"`) {
		t.Errorf("get-tiny-image: %v", err)
	}

	// Progress notifications of a long call are relayed on its stream.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "trigger-long-running-operation",
		Arguments: map[string]any{"duration": 0.3, "steps": 3}, Meta: mcp.Meta{"progressToken": "p1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text(res), "Long running operation completed") {
		t.Errorf("long running: %q", text(res))
	}
	// The SDK client runs notification handlers asynchronously: give the last one a moment.
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := progressN
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("progress notifications: %d, want 3", n)
			break
		}
	}

	// A server-to-client request (sampling) goes to the client and its answer back upstream.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "trigger-sampling-request", Arguments: map[string]any{"prompt": "hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text(res), "sampled by the Go client") {
		t.Errorf("sampling result: %q", text(res))
	}

	// Resources and prompts pass through.
	lr, err := cs.ListResources(ctx, nil)
	if err != nil || len(lr.Resources) == 0 {
		t.Fatalf("resources/list: %v (%d)", err, len(lr.Resources))
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: lr.Resources[0].URI})
	if err != nil || len(rr.Contents) == 0 {
		t.Errorf("resources/read: %v", err)
	}
	lp, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(lp.Prompts) == 0 {
		t.Fatalf("prompts/list: %v", err)
	}
	gp, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "simple-prompt"})
	if err != nil || len(gp.Messages) == 0 {
		t.Errorf("prompts/get: %v", err)
	}
	if err := cs.Ping(ctx, nil); err != nil {
		t.Errorf("ping: %v", err)
	}

	// What reached the upstream: never the denied calls, never the Warden key, always the
	// server's configured credential.
	for _, r := range tp.requests() {
		if strings.Contains(r.body, "get-env") || strings.Contains(r.body, "get-tiny-image") {
			t.Errorf("a denied call reached the upstream: %s", r.body)
		}
		for name, vals := range r.header {
			for _, v := range vals {
				if strings.Contains(v, secretDev) {
					t.Errorf("the Warden key reached the upstream in %s", name)
				}
			}
		}
		if r.header.Get("X-Upstream-Token") != "upstream-credential" {
			t.Errorf("%s without the upstream credential", r.method)
		}
	}

	// The decision log has every call decision and the filtered list.
	var calls, denied, lists int
	for _, r := range h.rec.all() {
		switch {
		case r.Kind == "list":
			lists++
		case r.Kind == "call" && r.Allowed:
			calls++
		case r.Kind == "call" && !r.Allowed:
			denied++
			if r.Tool == "get-env" && r.DecidedBy != "organization" {
				t.Errorf("get-env decided by %q", r.DecidedBy)
			}
		}
		if r.Key != "dev" || r.Server != "everything" || r.Revision != 7 {
			t.Errorf("record %+v", r)
		}
	}
	if calls != 3 || denied != 2 || lists < 1 {
		t.Errorf("records: %d allowed calls, %d denied, %d lists", calls, denied, lists)
	}
}

// The same with the official TypeScript SDK client.
func TestEverythingTypeScriptClient(t *testing.T) {
	ev := startEverything(t)
	h := newHarness(t, map[string]live.Upstream{"everything": {URL: ev.url}})
	cmd := tsClient(t, "suite", h.url+"/mcp/everything", secretDev)
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("ts client: %v\n%s", err, outb)
	}
	var out map[string]struct {
		OK    json.RawMessage `json:"ok"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("ts client output %q: %v", outb, err)
	}
	for _, k := range []string{"connect", "tools", "echo", "resources", "read", "prompts", "prompt"} {
		if out[k].Error != "" || out[k].OK == nil {
			t.Errorf("%s: %s", k, out[k].Error)
		}
	}
	var tools []string
	json.Unmarshal(out["tools"].OK, &tools)
	sort.Strings(tools)
	// The TypeScript client declares no sampling, so the server offers no sampling tool.
	if want := []string{"echo", "get-sum", "trigger-long-running-operation"}; !slices.Equal(tools, want) {
		t.Errorf("tools = %v, want %v", tools, want)
	}
	if !strings.Contains(string(out["echo"].OK), "Echo: from ts") {
		t.Errorf("echo = %s", out["echo"].OK)
	}
	if d := out["denied"].Error; !strings.Contains(d, `tool everything/get-env is denied by organization "acme"`) {
		t.Errorf("denied call: %q", d)
	}
}

// Killing the upstream mid-session: calls get a JSON-RPC error saying the upstream is
// unreachable, promptly, in the middle of a streamed call too; nothing hangs or panics.
func TestUpstreamKilledGoClient(t *testing.T) {
	ev := startEverything(t)
	h := newHarness(t, map[string]live.Upstream{"everything": {URL: ev.url}})
	// The first progress notification says the long call below is streaming through the
	// gateway: the moment to kill the upstream under it.
	progressed := make(chan struct{})
	var once sync.Once
	cs := connect(t, h.url+"/mcp/everything", secretDev, &mcp.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) {
			once.Do(func() { close(progressed) })
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "x"}}); err != nil {
		t.Fatal(err)
	}

	// A long call in flight when the upstream dies.
	errc := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "trigger-long-running-operation",
			Arguments: map[string]any{"duration": 20, "steps": 20}, Meta: mcp.Meta{"progressToken": 1}})
		errc <- err
	}()
	select {
	case <-progressed:
	case err := <-errc:
		t.Fatalf("the long call ended before its first progress notification: %v", err)
	case <-ctx.Done():
		t.Fatal("no progress notification from the long call")
	}
	ev.kill()
	killed := time.Now()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), `upstream server "everything" is unreachable`) {
			t.Errorf("in-flight call: %v", err)
		}
		// The call would run 20 s more: an answer within 5 s of the kill is not its end.
		if d := time.Since(killed); d > 5*time.Second {
			t.Errorf("in-flight call answered %v after the kill", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight call hangs after the upstream died")
	}

	// A new call right after.
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "y"}})
	if err == nil || !strings.Contains(err.Error(), `upstream server "everything" is unreachable`) {
		t.Errorf("call after the kill: %v", err)
	}
	// Denials still answer locally.
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "get-env"})
	if err == nil || !strings.Contains(err.Error(), "denied by organization") {
		t.Errorf("denied call after the kill: %v", err)
	}
	// tools/list: the JSON-RPC error too.
	if _, err := cs.ListTools(ctx, nil); err == nil {
		t.Error("tools/list after the kill succeeded")
	}
	if got := testutilCount(t, h.metrics, "warden_upstream_errors_total"); got < 1 {
		t.Errorf("upstream errors counted: %v", got)
	}
}

func TestUpstreamKilledTypeScriptClient(t *testing.T) {
	ev := startEverything(t)
	h := newHarness(t, map[string]live.Upstream{"everything": {URL: ev.url}})
	cmd := tsClient(t, "wait", h.url+"/mcp/everything", secretDev)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	rd := bufio.NewReader(stdout)
	if l := readLine(t, rd, 30*time.Second); l != "ready" {
		t.Fatalf("ts client said %q", l)
	}
	ev.kill()
	stdin.Write([]byte("go\n"))
	line := readLine(t, rd, 30*time.Second)
	var out struct {
		Before      struct{ OK json.RawMessage } `json:"before"`
		After       struct{ Error string }       `json:"after"`
		AfterMillis int                          `json:"afterMillis"`
	}
	if err := json.Unmarshal([]byte(line), &out); err != nil {
		t.Fatalf("ts output %q: %v", line, err)
	}
	if !strings.Contains(string(out.Before.OK), "Echo: before") {
		t.Errorf("before: %s", line)
	}
	if !strings.Contains(out.After.Error, `upstream server \"everything\" is unreachable`) && !strings.Contains(out.After.Error, `upstream server "everything" is unreachable`) {
		t.Errorf("after the kill: %s", line)
	}
	if out.AfterMillis > 5000 {
		t.Errorf("the call after the kill took %d ms", out.AfterMillis)
	}
	cmd.Wait()
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// The aggregate endpoint in front of the reference server and the Go SDK server.
func TestAggregateEverything(t *testing.T) {
	ev := startEverything(t)
	gs := goServer(t, false)
	h := newHarness(t, map[string]live.Upstream{"everything": {URL: ev.url}, "gosrv": {URL: gs.URL}})
	var mu sync.Mutex
	progressN := 0
	cs := connect(t, h.url+"/mcp", secretDev, &mcp.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			progressN++
			mu.Unlock()
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names := toolNames(t, ctx, cs)
	want := []string{"everything__echo", "everything__get-sum", "everything__trigger-long-running-operation", "gosrv__add", "gosrv__shout"}
	if !slices.Equal(names, want) {
		t.Errorf("tools = %v, want %v", names, want)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "everything__echo", Arguments: map[string]any{"message": "via /mcp"}})
	if err != nil || text(res) != "Echo: via /mcp" {
		t.Errorf("echo: %v %v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "gosrv__add", Arguments: map[string]any{"a": 40, "b": 2}})
	if err != nil || text(res) != "42" {
		t.Errorf("add: %v %v", err, res)
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "everything__get-env"})
	if err == nil || !strings.Contains(err.Error(), `tool everything/get-env is denied by organization "acme"`) {
		t.Errorf("get-env: %v", err)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "everything__trigger-long-running-operation",
		Arguments: map[string]any{"duration": 0.2, "steps": 2}, Meta: mcp.Meta{"progressToken": "agg"}})
	if err != nil || !strings.Contains(text(res), "completed") {
		t.Errorf("long running: %v %v", err, res)
	}
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := progressN
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("progress notifications: %d, want 2", n)
			break
		}
	}
}
