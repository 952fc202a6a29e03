// Package mcppeers starts real MCP peers for tests in any package (the gateway's end-to-end
// tests, the console's Sync tools tests): the npm reference server of
// handlers/mcpgw/testdata/peers, and a Go SDK server whose tools a test changes.
package mcppeers

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/testenv"
)

// Dir is the npm fixture's directory.
func Dir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("mcppeers: cannot locate the fixture")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "peers")
}

// Require returns the fixture's directory; it fails under CI (any non-empty CI) and skips
// elsewhere when node or the fixture's packages are missing.
func Require(t testing.TB) string {
	t.Helper()
	dir := Dir(t)
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")); err != nil {
		missing = "the npm peers are not installed (run: npm ci --prefix " + dir + ")"
	}
	if missing != "" {
		testenv.Require(t, "end-to-end test with real MCP peers: %s", missing)
	}
	return dir
}

// Everything is a running @modelcontextprotocol/server-everything.
type Everything struct {
	// URL is its Streamable HTTP endpoint.
	URL string
	cmd *exec.Cmd
	out *Buffer
}

// Output is what the server printed.
func (e *Everything) Output() string { return e.out.String() }

// Kill stops the server (also done at the test's end).
func (e *Everything) Kill() {
	if e.cmd.Process != nil && e.cmd.ProcessState == nil {
		e.cmd.Process.Kill()
		e.cmd.Wait()
	}
}

// Buffer collects a process's output; safe for concurrent writes.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartEverything starts server-everything in Streamable HTTP mode on a free loopback port and
// waits until it accepts connections.
func StartEverything(t testing.TB) *Everything {
	t.Helper()
	dir := Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("node", filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js"), "streamableHttp")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &Everything{URL: fmt.Sprintf("http://127.0.0.1:%d/mcp", port), cmd: cmd, out: out}
	t.Cleanup(e.Kill)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return e
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("server-everything did not start: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// GoServer is a real MCP server built with the official Go SDK, serving Streamable HTTP, whose
// tool list a test changes as it goes (Tool, Remove).
type GoServer struct {
	// URL is its endpoint.
	URL  string
	srv  *mcp.Server
	auth atomic.Value
}

// NewGoServer starts an MCP server with no tools, stopped when the test ends.
func NewGoServer(t testing.TB) *GoServer {
	t.Helper()
	g := &GoServer{srv: mcp.NewServer(&mcp.Implementation{Name: "warden-test-upstream", Version: "1"}, nil)}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return g.srv }, &mcp.StreamableHTTPOptions{JSONResponse: true})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.auth.Store(r.Header.Get("Authorization"))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	g.URL = hs.URL
	return g
}

type noArgs struct{}

// Tool adds a tool taking no arguments, or replaces the one of that name.
func (g *GoServer) Tool(name, description string) {
	mcp.AddTool(g.srv, &mcp.Tool{Name: name, Description: description}, func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
}

// Remove removes tools.
func (g *GoServer) Remove(names ...string) { g.srv.RemoveTools(names...) }

// Authorization is the Authorization header of the last request it received.
func (g *GoServer) Authorization() string {
	s, _ := g.auth.Load().(string)
	return s
}
