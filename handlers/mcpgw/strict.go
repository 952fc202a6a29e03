package mcpgw

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/warden-mcp/warden/handlers/internal/strictjson"
	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
)

// DecidedByMalformed is the decided_by of a request refused because Warden would not read its
// body (see readRequestBody): it is logged like a denial, and never forwarded.
const DecidedByMalformed = "malformed"

// The names Warden reads in a JSON-RPC message, and in the params of a tools/call. A member whose
// name folds to one of these is refused (see strictjson).
var (
	envelopeFields = []string{"jsonrpc", "id", "method", "params", "result", "error"}
	callFields     = []string{"name"}
)

// describeBody sets the headers that describe a forwarded body: what the upstream is told about
// the body is what Warden wrote (its minimal re-encoding, UTF-8 JSON), never what the client said
// about its own. A client's "Content-Type: application/json; charset=utf-7" forwarded with the
// body made an upstream that decodes by the declared charset (express.json() takes any "utf-*")
// read "+AHQ-ools/call" as "tools/call": a call Warden never decided. Every Content-* header of
// the client (encoding, digest, ...) describes bytes that are not the ones forwarded, so none is
// kept; a request forwarded without a body gets none either.
func describeBody(h http.Header, hasBody bool) {
	for k := range h {
		if strings.HasPrefix(k, "Content-") {
			delete(h, k)
		}
	}
	if hasBody {
		h.Set("Content-Type", "application/json")
	}
}

// MaxBatch is the most messages a client's JSON-RPC batch may hold (the TypeScript SDK's
// transport refuses more, too; MCP itself no longer has batches). Each tools/call of a batch is a
// decision and a decision-log record: without a bound, one 4 MiB body was ~55,000 records, more
// than the log's queue, which then dropped every key's records until it caught up.
const MaxBatch = 100

// readRequestBody reads a client's POST body (one message or a batch) the one strict way
// (package strictjson): exactly one JSON value, valid UTF-8, no duplicate names anywhere, names
// matched exactly and none folding to a name Warden reads. Each message keeps its minimal
// re-encoding as raw, which is what is forwarded: the upstream sees exactly what was decided.
// Errors are *strictjson.Error.
func readRequestBody(b []byte) (*body, error) { return readBody(b, MaxBatch, strictjson.Value) }

// readUpstreamBody reads an upstream's answer (a JSON body or the data of one event) the same
// strict way, with no bound on a batch: a client reads what Warden relays, so what Warden
// filters must be what any client reads. An upstream's "result" read case-insensitively, or
// its first duplicate kept, could be a tool list the filter never saw. Strings that are not
// valid Unicode are relayed as U+FFFD rather than refused (strictjson.ValueMangled): a tool's
// text cut inside an emoji is an answer, and no tool name Warden allows can be such a string.
func readUpstreamBody(b []byte) (*body, error) { return readBody(b, 0, strictjson.ValueMangled) }

// readBody reads one message or a batch of at most maxBatch (0: any number of) messages, the
// body read by value.
func readBody(b []byte, maxBatch int, value func([]byte) (jsontext.Value, error)) (*body, error) {
	v, err := value(b)
	if err != nil {
		return nil, err
	}
	if v.Kind() != '[' {
		m, err := readMessage(v, "")
		if err != nil {
			return nil, err
		}
		return &body{msgs: []message{m}}, nil
	}
	var elems []jsontext.Value
	if err := json.Unmarshal(v, &elems); err != nil {
		return nil, &strictjson.Error{Offset: -1, Problem: "unreadable batch: " + err.Error()}
	}
	if len(elems) == 0 {
		return nil, &strictjson.Error{Offset: -1, Problem: "empty JSON-RPC batch"}
	}
	if maxBatch > 0 && len(elems) > maxBatch {
		return nil, &strictjson.Error{Offset: -1, Problem: fmt.Sprintf("a JSON-RPC batch of %d messages; at most %d are read", len(elems), maxBatch)}
	}
	out := &body{batch: true, msgs: make([]message, len(elems))}
	// Two requests of one id in a batch get two answers of that id (one may be Warden's denial,
	// the other the upstream's result) that the client cannot tell apart: it could take a
	// denied call for answered, or the reverse.
	ids := make(map[string]int, len(elems))
	for i, e := range elems {
		at := jsontext.Pointer("/" + strconv.Itoa(i))
		m, err := readMessage(e, at)
		if err != nil {
			return nil, err
		}
		if m.req != nil && m.req.IsCall() {
			k := idKey(m.req.ID)
			if j, dup := ids[k]; dup {
				return nil, &strictjson.Error{Pointer: at.AppendToken("id"), Offset: -1,
					Problem: fmt.Sprintf("request id %v is also the id of request %d of the batch", m.req.ID.Raw(), j)}
			}
			ids[k] = i
		}
		out.msgs[i] = m
	}
	return out, nil
}

// readMessage reads one JSON-RPC message (already re-encoded by strictjson.Value) at at.
func readMessage(raw jsontext.Value, at jsontext.Pointer) (message, error) {
	bad := func(p jsontext.Pointer, format string, args ...any) error {
		return &strictjson.Error{Pointer: p, Offset: -1, Problem: fmt.Sprintf(format, args...)}
	}
	if raw.Kind() != '{' {
		return message{}, bad(at, "a JSON-RPC message must be an object")
	}
	var (
		version, method      string
		hasMethod, hasResult bool
		id                   jsonrpc.ID
		params, result       []byte // json.RawMessage of the SDK types
		werr                 *jsonrpc.Error
	)
	err := strictjson.Members(raw, at, envelopeFields, func(name string, val jsontext.Value) error {
		p := at.AppendToken(name)
		var err error
		switch name {
		case "jsonrpc":
			version, err = strictjson.String(val, p)
		case "method":
			hasMethod = true
			method, err = strictjson.String(val, p)
		case "id":
			id, err = readID(val, p)
		case "params":
			params = val.Clone()
		case "result":
			hasResult = true
			result = val.Clone()
		case "error":
			werr = new(jsonrpc.Error)
			if json.Unmarshal(val, werr) != nil {
				err = bad(p, "not a JSON-RPC error object")
			}
		}
		return err
	})
	if err != nil {
		return message{}, err
	}
	if version != "2.0" {
		return message{}, bad(at.AppendToken("jsonrpc"), `want "2.0", got %q`, version)
	}
	// A message is a request (method), or a response with a result or an error: one shape only,
	// as the TypeScript SDK reads them. A reader that takes {"method":..., "result":...} or a
	// result beside an error for the other shape would read another message than Warden did
	// (a tool list Warden took for an error, a request it took for an answer).
	switch {
	case hasMethod && (hasResult || werr != nil):
		return message{}, bad(at, "a message with a method is a request and has no result or error")
	case !hasMethod && hasResult && werr != nil:
		return message{}, bad(at, "a response has a result or an error, not both")
	case !hasMethod && !hasResult && werr == nil:
		return message{}, bad(at, "a message needs a method (a request) or a result or error (a response)")
	}
	if hasMethod {
		m := message{raw: []byte(raw), req: &jsonrpc.Request{ID: id, Method: method, Params: params}}
		if method == "tools/call" {
			if m.tool, err = readToolName(jsontext.Value(params), at.AppendToken("params")); err != nil {
				return message{}, err
			}
		}
		return m, nil
	}
	if !id.IsValid() {
		return message{}, bad(at, "a message with no method is a response and needs an id")
	}
	res := &jsonrpc.Response{ID: id, Result: result}
	if werr != nil {
		res.Error = werr // a nil *jsonrpc.Error in the error interface would be an error
	}
	return message{raw: []byte(raw), res: res}, nil
}

// maxSafeInteger is 2^53-1, the largest integer JavaScript (and a float64) holds exactly.
const maxSafeInteger = 1<<53 - 1

// readID reads a request id: a string, an integer number (see below) or null.
func readID(val jsontext.Value, at jsontext.Pointer) (jsonrpc.ID, error) {
	switch val.Kind() {
	case 'n':
		return jsonrpc.ID{}, nil
	case '"':
		s, err := strictjson.String(val, at)
		if err != nil {
			return jsonrpc.ID{}, err
		}
		return jsonrpc.MakeID(s)
	case '0':
		// The SDK keeps a number id as an int64 (truncating a float), JavaScript as a float64: an
		// id only one of them holds exactly would be answered under another id (1.5 as 1, 2^63
		// as -2^63). Only integers both hold exactly are read.
		f, err := strconv.ParseFloat(string(val), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
			return jsonrpc.ID{}, &strictjson.Error{Pointer: at, Offset: -1,
				Problem: fmt.Sprintf("a number id must be an integer of at most %d in magnitude, not %s", int64(maxSafeInteger), val)}
		}
		return jsonrpc.MakeID(f)
	}
	return jsonrpc.ID{}, &strictjson.Error{Pointer: at, Offset: -1, Problem: "an id must be a string, a number or null"}
}

// readToolName reads the tool name of tools/call params: an object with a string member "name".
// A call without one is refused rather than decided: there is nothing to decide on.
func readToolName(params jsontext.Value, at jsontext.Pointer) (string, error) {
	if params.Kind() != '{' {
		return "", &strictjson.Error{Pointer: at, Offset: -1, Problem: "tools/call params must be an object with a tool name"}
	}
	var tool string
	found := false
	err := strictjson.Members(params, at, callFields, func(name string, val jsontext.Value) error {
		if name != "name" {
			return nil
		}
		found = true
		var err error
		tool, err = strictjson.String(val, at.AppendToken("name"))
		return err
	})
	if err != nil {
		return "", err
	}
	if !found {
		return "", &strictjson.Error{Pointer: at, Offset: -1, Problem: "tools/call params without a tool name"}
	}
	return tool, nil
}

// readToolEntry reads one tool of an upstream's tools/list result strictly: its minimal
// re-encoding and its name (a string member "name", exactly).
func readToolEntry(raw []byte) (jsontext.Value, string, error) {
	v, err := strictjson.Value(raw)
	if err != nil {
		return nil, "", err
	}
	var name string
	found := false
	err = strictjson.Members(v, "", callFields, func(n string, val jsontext.Value) error {
		if n != "name" {
			return nil
		}
		found = true
		var err error
		name, err = strictjson.String(val, "/name")
		return err
	})
	if err == nil && !found {
		err = &strictjson.Error{Offset: -1, Problem: "a tool without a name"}
	}
	return v, name, err
}

// readMessages reads the POST body of an authenticated, allowed request (readBody: bounded,
// within the body budget) and then its messages, strictly (readRequestBody), into x.in. A body
// it cannot read is answered (413, 429, 400) and ok is false.
func (x *exchange) readMessages(pol *enforce.Policy) (raw []byte, ok bool) {
	if raw, ok = x.readBody(); !ok {
		return nil, false
	}
	var err error
	if x.in, err = readRequestBody(raw); err != nil {
		x.refuseMalformed(pol, err)
		return nil, false
	}
	return raw, true
}

// refuseMalformed answers a POST body the strict reading refused: the body is never forwarded,
// the client gets 400 with a JSON-RPC error (-32700 for a body that is not JSON, -32600 for JSON
// Warden will not read) whose id is null (an id read from such a body could be the wrong one),
// and the refusal is logged as decided by "malformed" under the authenticated key. A request
// whose key does not authenticate gets the usual 401 instead, so an unauthenticated client
// learns nothing about the body and cannot fill the decision log.
func (x *exchange) refuseMalformed(pol *enforce.Policy, err error) {
	x.in = nil
	if x.pr.Key == "" {
		pr, aerr := PrincipalFrom(pol, x.r.Header, x.g.enf.Now())
		if aerr != nil {
			x.w.Header().Set("WWW-Authenticate", `Bearer realm="warden"`)
			x.fail(http.StatusUnauthorized, CodeUnauthorized, aerr.Error(), nil)
			return
		}
		x.pr = pr
	}
	x.g.obs.Malformed(x.pr, x.server, pol.View.Revision, x.g.enf.Now())
	code := int64(jsonrpc.CodeInvalidRequest)
	if se, ok := err.(*strictjson.Error); ok && se.Syntax {
		code = jsonrpc.CodeParseError
	}
	msg := "request refused, Warden does not read this body: " + err.Error()
	x.fail(http.StatusBadRequest, code, msg, map[string]any{"decided_by": DecidedByMalformed, "reason": err.Error()})
}

// Malformed records a request refused because its body could not be read strictly.
func (o Observer) Malformed(pr enforce.Principal, server string, rev int64, at time.Time) {
	if o.Metrics != nil {
		o.Metrics.Decisions.WithLabelValues("denied", DecidedByMalformed).Inc()
	}
	if o.Recorder != nil {
		o.Recorder.Record(live.DecisionRecord{At: at, Kind: "call", Key: pr.Key, EndUser: pr.EndUser, Agent: pr.Agent,
			Server: server, DecidedBy: DecidedByMalformed, Revision: rev})
	}
}
