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
		// A result beside an error: an error to the gateway, a result to a lenient client.
		`{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"m"},"result":{"tools":[{"name":"add"},{"name":"secret"}]}}`,
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

// An event whose data spans several data: lines is one message (the lines joined by "\n", as
// every SSE reader joins them) and is filtered as one, whatever its line ends: LF, CRLF or CR,
// all three of which end a line for an SSE reader. The gateway's reader used to end lines at LF
// only: "id: 5\rdata: {...}" was for it an id line and no data, relayed as received, and for a
// client an id line and a data line — an unfiltered tool list. Likewise a byte order mark at
// the start of the stream, which the TypeScript SDK's client drops and the reader did not.
func TestUpstreamEventOverSeveralLines(t *testing.T) {
	for name, event := range map[string]string{
		"LF":                  "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\n" + "data: \"result\":{\"tools\":\ndata: [{\"name\":\"add\"},{\"name\":\"secret\"}]}}\n\n",
		"CRLF":                "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\r\n" + "data: \"result\":{\"tools\":\r\ndata: [{\"name\":\"add\"},{\"name\":\"secret\"}]}}\r\n\r\n",
		"CR":                  "event: message\rdata: {\"jsonrpc\":\"2.0\",\"id\":3,\r" + "data: \"result\":{\"tools\":\rdata: [{\"name\":\"add\"},{\"name\":\"secret\"}]}}\r\r",
		"CR hidden in a line": "event: message\nid: 5\rdata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[{\"name\":\"add\"},{\"name\":\"secret\"}]}}\n\n",
		"byte order mark":     "\ufeffdata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[{\"name\":\"add\"},{\"name\":\"secret\"}]}}\n\n",
		"CR then LF apart":    "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[{\"name\":\"add\"},{\"name\":\"secret\"}]}}\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, event)
			}))
			t.Cleanup(up.Close)
			h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: up.URL}})
			_, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream",
				`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
			if strings.Contains(body, "secret") || !strings.Contains(body, `"add"`) {
				t.Errorf("relayed %q", body)
			}
		})
	}
}

// Go clients built on encoding/json (mcp-go, for one) read "TOOLS" or "toolſ" as "tools". A
// result with such a member was not taken for a tool list (the quick test looked for "tools"
// exactly, the filter for the member "tools") and was relayed unfiltered. A member whose name
// folds to "tools" is now dropped from any result that is filtered, and every such result is.
func TestUpstreamToolsUnderAnotherCase(t *testing.T) {
	for i, answer := range []string{
		`{"jsonrpc":"2.0","id":3,"result":{"TOOLS":[{"name":"secret"}],"tools":[{"name":"add"}]}}`,
		`{"jsonrpc":"2.0","id":3,"result":{"Tools":[{"name":"secret"}]}}`,
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tool\u017f\":[{\"name\":\"secret\"}]}}",
		`{"jsonrpc":"2.0","id":4,"result":{"toolS":[{"name":"secret"}]}}`, // the answer to a tools/call
	} {
		for _, sse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/sse=%v", i, sse), func(t *testing.T) {
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
				req := `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`
				if strings.Contains(answer, `"id":4`) {
					req = `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"add"}}`
				}
				_, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream", req)
				if strings.Contains(body, "secret") {
					t.Errorf("relayed %s", body)
				}
			})
		}
	}
}

// The TypeScript SDK's client takes a Content-Type whose parameters are malformed for the
// media type before the ";" (mediaTypeEssence). The gateway's parse failed on it and relayed
// the answer as an unknown type, unfiltered. It now reads such a header the same way, and does
// not relay a 2xx answer to requests that is neither JSON nor an event stream.
func TestUpstreamSloppyContentType(t *testing.T) {
	const list = `{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"add"},{"name":"secret"}]}}`
	for _, ct := range []string{"application/json; charset", "Application/JSON; =x", "application/json; a=\"b", "text/event-stream; x", "text/event-stream;;",
		// Neither JSON nor an event stream, but JSON to a client that tests a prefix (the Python
		// SDK's startswith) or sniffs: not relayed at all.
		"application/jsonx", "text/plain", ""} {
		t.Run(ct, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct)
				if strings.HasPrefix(ct, "text/") {
					fmt.Fprintf(w, "event: message\ndata: %s\n\n", list)
					return
				}
				fmt.Fprint(w, list)
			}))
			t.Cleanup(up.Close)
			h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: up.URL}})
			_, body := post(t, h.url+"/mcp/gosrv", secretDev, "application/json, text/event-stream", `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`)
			if strings.Contains(body, "secret") {
				t.Errorf("relayed %s", body)
			}
			if mt := mediaType(ct); (mt == "application/json" || mt == "text/event-stream") != strings.Contains(body, `"add"`) {
				t.Errorf("%q read as %q; answer %s", ct, mt, body)
			}
		})
	}
}
