package mcpgw

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/live"
)

// startExpressJSON starts testdata/peers/expressjson.mjs (an SDK server behind express.json())
// on a free loopback port and returns its MCP endpoint.
func startExpressJSON(t *testing.T) string {
	t.Helper()
	dir := requirePeers(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("node", filepath.Join(dir, "expressjson.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "listening") {
		if time.Now().After(deadline) {
			t.Fatalf("expressjson.mjs did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
}

// A client's Content-Type used to be forwarded with the re-encoded body. An upstream that
// decodes a body in the charset its Content-Type names (express.json() takes any "utf-*") then
// read another message than Warden did: in UTF-7, "+AHQ-ools/call" is "tools/call", so a
// method Warden relayed as not a tool call ran get-env, denied to the key, upstream. The
// gateway now describes the body it forwards itself: application/json, UTF-8, no encoding.
func TestCharsetNotForwardedEndToEnd(t *testing.T) {
	const marker = "warden-e2e-charset-marker"
	t.Setenv("WARDEN_E2E_ENV_MARKER", marker)
	h := newHarness(t, map[string]live.Upstream{"everything": {URL: startExpressJSON(t)}})
	const accept = "application/json, text/event-stream"
	// The upstream works through the gateway, and get-env is denied when asked plainly.
	if _, body := post(t, h.url+"/mcp/everything", secretDev, accept,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}`); !strings.Contains(body, `"echo"`) {
		t.Fatalf("echo: %s", body)
	}
	if _, body := post(t, h.url+"/mcp/everything", secretDev, accept,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get-env","arguments":{}}}`); !strings.Contains(body, "-32030") {
		t.Fatalf("get-env not denied: %s", body)
	}
	for _, ct := range []string{"application/json; charset=utf-7", "application/json; charset=UTF-7"} {
		resp, body := post(t, h.url+"/mcp/everything", secretDev, accept,
			`{"jsonrpc":"2.0","id":3,"method":"+AHQ-ools/call","params":{"name":"get-env","arguments":{}}}`, "Content-Type", ct)
		if strings.Contains(body, marker) {
			t.Fatalf("%s: the upstream ran get-env: %d %s", ct, resp.StatusCode, body)
		}
		if !strings.Contains(body, "-32601") {
			t.Errorf("%s: want the upstream's method not found, got %d %s", ct, resp.StatusCode, body)
		}
	}
}

// What the upstream is told about a forwarded body describes the body Warden wrote, whatever
// the client said about its own.
func TestForwardedBodyHeaders(t *testing.T) {
	f := newFakeUpstream(t)
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: f.srv.URL + "/mcp"}})
	for _, hdr := range [][]string{
		{"Content-Type", "application/json; charset=utf-7"},
		{"Content-Type", "text/plain; charset=iso-8859-1"},
		{"Content-Type", "application/json", "Content-Encoding", "br"},
		{"Content-Type", "application/json", "Content-Encoding", "identity"},
	} {
		resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json",
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}`, hdr...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%v: %d %s", hdr, resp.StatusCode, body)
		}
		<-f.bodies
		got := <-f.header
		if ct := got.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%v: forwarded Content-Type %q", hdr, ct)
		}
		if ce := got.Values("Content-Encoding"); len(ce) > 0 {
			t.Errorf("%v: forwarded Content-Encoding %q", hdr, ce)
		}
	}
}
