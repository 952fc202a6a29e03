package mcpgw

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/warden-mcp/warden/handlers/internal/strictjson"
)

// JSON-RPC error codes of the gateway's own answers (the implementation-defined server error
// range of JSON-RPC 2.0).
const (
	// CodeDenied answers a tools/call the policy does not allow.
	CodeDenied = -32030
	// CodeUpstreamUnavailable answers a request the upstream server could not be reached for
	// (or that it stopped answering mid-stream).
	CodeUpstreamUnavailable = -32031
	// CodeUnauthorized, CodeForbidden, CodeNotFound, CodeUnavailable accompany the gateway's
	// 401, 403, 404 and 503 answers.
	CodeUnauthorized = -32032
	CodeForbidden    = -32033
	CodeNotFound     = -32034
	CodeUnavailable  = -32035
)

// message is one JSON-RPC message of a POST body: its bytes (for a client's message, the minimal
// re-encoding of what was read: see readRequestBody), and its decoding.
type message struct {
	raw  json.RawMessage
	req  *jsonrpc.Request  // nil for a response
	res  *jsonrpc.Response // nil for a request
	tool string            // the tool of a client's tools/call, read strictly
}

// body is a POST body: one message or a batch.
type body struct {
	batch bool
	msgs  []message
}

var errEmptyBatch = errors.New("empty JSON-RPC batch")

// parseBody decodes every message of an upstream's answer with the SDK's jsonrpc package (a
// client's POST body is read by readRequestBody instead).
func parseBody(b []byte) (*body, error) {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) > 0 && t[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(t, &raws); err != nil {
			return nil, err
		}
		if len(raws) == 0 {
			return nil, errEmptyBatch
		}
		out := &body{batch: true, msgs: make([]message, len(raws))}
		for i, r := range raws {
			m, err := decode(r)
			if err != nil {
				return nil, err
			}
			out.msgs[i] = m
		}
		return out, nil
	}
	m, err := decode(b)
	if err != nil {
		return nil, err
	}
	return &body{msgs: []message{m}}, nil
}

func decode(raw []byte) (message, error) {
	m, err := jsonrpc.DecodeMessage(raw)
	if err != nil {
		return message{}, err
	}
	switch m := m.(type) {
	case *jsonrpc.Request:
		return message{raw: raw, req: m}, nil
	case *jsonrpc.Response:
		return message{raw: raw, res: m}, nil
	}
	return message{}, errors.New("unknown JSON-RPC message type")
}

// idKey is a map key for a request id that keeps 1 and "1" apart.
func idKey(id jsonrpc.ID) string {
	switch v := id.Raw().(type) {
	case int64:
		return "n" + strconv.FormatInt(v, 10)
	case string:
		return "s" + v
	}
	return ""
}

// errorResponse encodes a JSON-RPC error response.
func errorResponse(id jsonrpc.ID, code int64, msg string, data any) []byte {
	e := &jsonrpc.Error{Code: code, Message: msg}
	if data != nil {
		if b, err := json.Marshal(data); err == nil {
			e.Data = b
		}
	}
	if !id.IsValid() {
		// A response without a usable id: JSON-RPC says null.
		b, _ := json.Marshal(struct {
			JSONRPC string         `json:"jsonrpc"`
			ID      any            `json:"id"`
			Error   *jsonrpc.Error `json:"error"`
		}{JSONRPC: "2.0", Error: e})
		return b
	}
	b, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: e})
	if err != nil {
		return []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}}`)
	}
	return b
}

// filterTools rewrites a tools/list result to keep only the tools keep accepts. Every other field
// of the result (nextCursor, _meta, ...) and of each kept tool is left as the upstream sent it
// (each kept tool re-encoded minimally).
// ok is false when the result is not a tools/list result.
func filterTools(result json.RawMessage, keep func(name string) bool) (out json.RawMessage, ok bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(result, &fields); err != nil {
		return nil, false
	}
	// A member that a case-insensitive reader (Go's encoding/json) takes for "tools" is
	// dropped: only the filtered "tools" is left for any reader.
	folded := false
	for k := range fields {
		if _, ok := strictjson.Folds(k, toolsField); ok {
			delete(fields, k)
			folded = true
		}
	}
	rawTools, has := fields["tools"]
	if !has {
		if !folded {
			return nil, false
		}
		out, err := json.Marshal(fields)
		return out, err == nil
	}
	var tools []json.RawMessage
	if err := json.Unmarshal(rawTools, &tools); err != nil {
		return nil, false
	}
	kept := make([]json.RawMessage, 0, len(tools))
	for _, t := range tools {
		// The tool's name read strictly, as the client's reader would read it: a tool whose
		// name a client could read differently (duplicates, a "NAME" beside "name") is dropped.
		if v, name, err := readToolEntry(t); err == nil && keep(name) {
			kept = append(kept, json.RawMessage(v))
		}
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, false
	}
	fields["tools"] = b
	out, err = json.Marshal(fields)
	if err != nil {
		return nil, false
	}
	return out, true
}

// toolsField is the member of a tools/list result that lists the tools.
var toolsField = []string{"tools"}

// mayBeToolList is a cheap test for a result that could be a tools/list result to some reader:
// it names "tools" in any case (a case-insensitive reader takes "TOOLS" for it), or it has a
// long s (U+017F, which folds to s) or a \u escape, either of which could spell it
// ("tool\u017f", "t\u006fols").
func mayBeToolList(result json.RawMessage) bool {
	if bytes.Contains(result, []byte(`\u`)) || bytes.Contains(result, []byte("\u017f")) {
		return true
	}
	for i := 0; ; i++ {
		j := bytes.IndexByte(result[i:], '"')
		if j < 0 {
			return false
		}
		i += j
		if len(result)-i >= 7 && result[i+6] == '"' && asciiFoldEqual(result[i+1:i+6], "tools") {
			return true
		}
	}
}

// asciiFoldEqual reports whether b equals the lowercase ASCII word s, ignoring ASCII case.
func asciiFoldEqual(b []byte, s string) bool {
	for i := range b {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

// accepts reports what a client's Accept header allows for a POST answer.
func accepts(values []string) (jsonOK, streamOK bool) {
	if len(values) == 0 {
		return true, false
	}
	for _, v := range values {
		for _, raw := range strings.Split(v, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK, streamOK
}

// knownMethods are the metric labels for JSON-RPC methods; anything else is "other", so a client
// cannot grow the label set.
var knownMethods = map[string]bool{}

func init() {
	for _, m := range []string{"initialize", "ping", "server/discover", "subscriptions/listen",
		"tools/list", "tools/call", "resources/list", "resources/read", "resources/templates/list",
		"resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get", "completion/complete",
		"logging/setLevel", "tasks/get", "tasks/list", "tasks/result", "tasks/cancel",
		"notifications/initialized", "notifications/cancelled", "notifications/progress",
		"notifications/roots/list_changed"} {
		knownMethods[m] = true
	}
}

// methodLabel is the metric label of a POST body.
func methodLabel(b *body) string {
	if b == nil {
		return ""
	}
	if b.batch {
		return "batch"
	}
	m := b.msgs[0]
	if m.res != nil {
		return "response"
	}
	if knownMethods[m.req.Method] {
		return m.req.Method
	}
	return "other"
}
