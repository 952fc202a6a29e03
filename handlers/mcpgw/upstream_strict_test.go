package mcpgw

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/live"
)

// An upstream's answer used to be read with encoding/json, which takes "RESULT" for "result"
// and keeps the last: a tools/list answer {"result":{"tools":[...]},"RESULT":1} was read as
// result 1, not filtered, and relayed as received — and a client, reading "result" exactly,
// saw every tool, those the key may not use included. Upstream messages are now read the
// same strict way as a client's (see readUpstreamBody): one that cannot be, yet may carry a
// tool list, is not relayed; one that can is relayed as Warden re-encoded it.
func TestUpstreamAnswerReadStrictly(t *testing.T) {
	answers := []string{
		`{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"add"},{"name":"secret"}]},"RESULT":1}`,
		`{"jsonrpc":"2.0","id":3,"RESULT":1,"result":{"tools":[{"name":"add"},{"name":"secret"}]}}`,
		`{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"add"},{"name":"secret"}]},"result":1}`,
		`{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"add"},{"name":"secret"}],"tools":[]}}`,
		`{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"add"},{"name":"secret"}]},"Id":4}`,
		`{"jsonrpc":"2.0","id":99,"result":{"tools":[{"name":"add"},{"name":"secret"}]},"RESULT":1}`,
	}
	for _, sse := range []bool{false, true} {
		for i, answer := range answers {
			t.Run(fmt.Sprintf("sse=%v/%d", sse, i), func(t *testing.T) {
				up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if sse {
						w.Header().Set("Content-Type", "text/event-stream")
						fmt.Fprintf(w, "event: message\ndata: %s\n\n", answer)
						return
					}
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, answer)
				}))
				t.Cleanup(up.Close)
				h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: up.URL}})
				_, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream",
					`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
				if strings.Contains(body, "secret") {
					t.Errorf("the client saw a tool the key may not use: %s", body)
				}
			})
		}
	}
}

// What a client reads the same way however it treats them is still relayed: a tool's text
// with a lone surrogate (JavaScript's JSON.stringify writes one as "\ud83d" when a string was
// cut inside an emoji) is an answer, not a reason to fail the call.
func TestUpstreamAnswerLoneSurrogate(t *testing.T) {
	for _, sse := range []bool{false, true} {
		t.Run(fmt.Sprintf("sse=%v", sse), func(t *testing.T) {
			answer := `{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"cut \ud83d"}]}}`
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if sse {
					w.Header().Set("Content-Type", "text/event-stream")
					fmt.Fprintf(w, "event: message\ndata: %s\n\n", answer)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, answer)
			}))
			t.Cleanup(up.Close)
			h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: up.URL}})
			resp, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream",
				`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"add"}}`)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"text":"cut `) || strings.Contains(body, "error") {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
}
