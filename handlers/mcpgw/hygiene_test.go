package mcpgw

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/models/live"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// noDNSTransport resolves every name with a resolver that fails at once, naming a resolver
// address as the system's would: the test needs no DNS and never leaves loopback.
func noDNSTransport() *http.Transport {
	tr := NewTransport()
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: &net.UDPAddr{IP: net.IPv4(10, 9, 8, 7), Port: 53},
			Err: errors.New("connect: connection refused")}
	}}
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, Resolver: resolver}).DialContext
	return tr
}

var ipAddress = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b|\[?[0-9a-f]*::[0-9a-f:]*\]?:\d+`)

// leaks returns what in a client-visible text gives away where an upstream is.
func leaks(s string) []string {
	var out []string
	for _, w := range []string{"x.invalid", "lookup", "dial", "127.0.0.1", "localhost", "http://", "tcp", "udp", ":53"} {
		if strings.Contains(s, w) {
			out = append(out, w)
		}
	}
	if m := ipAddress.FindString(s); m != "" {
		out = append(out, m)
	}
	return out
}

// Finding 7: an unreachable upstream (a host name that does not resolve, a closed port) is
// reported naming the server, never its URL, host, address or resolver; the log has the error.
func TestUpstreamErrorsNameNoAddress(t *testing.T) {
	logs := &syncBuffer{}
	ups := map[string]live.Upstream{
		"gosrv": {URL: "http://x.invalid:8080/mcp?token=upstream-credential"},
		"dead":  {URL: closedURL(t)},
	}
	h := newHarnessWith(t, ups, Config{Transport: noDNSTransport(), Logger: slog.New(slog.NewTextHandler(logs, nil))}, nil)
	call := func(tool string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `"}}`
	}
	for _, c := range []struct{ server, tool string }{{"gosrv", "add"}, {"dead", "ping"}} {
		// A call: a JSON-RPC error; a notification and a GET stream: 502.
		_, body := post(t, h.url+"/mcp/"+c.server, secretDev, "application/json, text/event-stream", call(c.tool))
		_, note := post(t, h.url+"/mcp/"+c.server, secretDev, "application/json", `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		req, _ := http.NewRequest(http.MethodGet, h.url+"/mcp/"+c.server, nil)
		req.Header.Set("Authorization", "Bearer "+secretDev)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		get, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for name, text := range map[string]string{"call": body, "notification": note, "GET": string(get)} {
			if !strings.Contains(text, `upstream server \"`+c.server+`\" is unreachable`) {
				t.Errorf("%s %s: %s", c.server, name, text)
			}
			if l := leaks(text); len(l) > 0 {
				t.Errorf("%s %s shows %q: %s", c.server, name, l, text)
			}
		}
	}

	// The aggregate: the upstream's error comes back as the call's error.
	cs := connect(t, h.url+"/mcp", secretDev, nil)
	for _, tool := range []string{"gosrv__add", "dead__ping"} {
		_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool})
		if err == nil || !strings.Contains(err.Error(), "is unreachable") {
			t.Errorf("aggregate %s: %v", tool, err)
			continue
		}
		// The client's own error names the gateway's address (it is the client's): look at
		// the gateway's message only.
		msg := err.Error()[strings.Index(err.Error(), "upstream server"):]
		if l := leaks(msg); len(l) > 0 {
			t.Errorf("aggregate %s shows %q: %s", tool, l, msg)
		}
	}

	// Where the upstream is, and why it failed, is in the log.
	log := logs.String()
	for _, want := range []string{"server=gosrv", "x.invalid", "server=dead", "connection refused"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}

// The 503 of a stale policy does not show the database error behind it (which may name the
// database's host); it names the revision and the age.
func TestStalePolicyErrorNamesNoDatabase(t *testing.T) {
	h := newHarness(t, nil)
	h.views.set(nil, &live.StaleError{Revision: 7, Age: time.Minute, MaxStale: time.Second,
		Cause: "dial tcp 10.1.2.3:5432: connect: connection refused"})
	for _, path := range []string{"/mcp/gosrv", "/mcp"} {
		resp, body := post(t, h.url+path, secretDev, "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
		if resp.StatusCode != 503 || !strings.Contains(body, "revision 7") || len(leaks(body)) > 0 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
}
