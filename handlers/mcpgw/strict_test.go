package mcpgw

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-mcp/warden/handlers/internal/strictjson"
	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
)

// Readers an upstream might use, written here independently of the gateway's reader, to compare
// what the gateway decided with what an upstream would run.

// jsCalls is what an upstream reading like JavaScript's JSON.parse would run: names matched
// exactly, the last of duplicate names wins, invalid UTF-8 replaced. It is more permissive than
// JSON.parse in one way, as a streaming reader would be: it reads every JSON value of a body
// holding more than one, up to the first syntax error. It returns the tool of every tools/call
// message with a string tool name, in order.
func jsCalls(b []byte) []string {
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	var calls []string
	for {
		v, err := jsAny(dec)
		if err != nil {
			return calls
		}
		msgs := []any{v}
		if a, ok := v.([]any); ok {
			msgs = a
		}
		for _, m := range msgs {
			if tool, ok := jsToolCall(m); ok {
				calls = append(calls, tool)
			}
		}
	}
}

// jsToolCall reads a message the exact-names way: the tool of a tools/call.
func jsToolCall(m any) (string, bool) {
	obj, ok := m.(map[string]any)
	if !ok || obj["method"] != "tools/call" {
		return "", false
	}
	params, ok := obj["params"].(map[string]any)
	if !ok {
		return "", false
	}
	name, ok := params["name"].(string)
	return name, ok
}

// jsAny reads one JSON value into maps, slices and scalars; a later duplicate name replaces an
// earlier one, as in JavaScript.
func jsAny(dec *jsontext.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		m := map[string]any{}
		for dec.PeekKind() != '}' {
			tok, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			name := tok.String()
			v, err := jsAny(dec)
			if err != nil {
				return nil, err
			}
			m[name] = v
		}
		_, err := dec.ReadToken()
		return m, err
	case '[':
		a := []any{}
		for dec.PeekKind() != ']' {
			v, err := jsAny(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.ReadToken()
		return a, err
	case '"':
		return tok.String(), nil
	case '0':
		return tok.Float(), nil
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	}
	return nil, errors.New("bad token")
}

// foldCalls is what an upstream reading with encoding/json (v1) would run: names matched
// case-insensitively with Unicode folding, the last match wins; one JSON value per body.
func foldCalls(b []byte) []string {
	var raws []stdjson.RawMessage
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) > 0 && t[0] == '[' {
		if stdjson.Unmarshal(b, &raws) != nil {
			return nil
		}
	} else {
		raws = []stdjson.RawMessage{b}
	}
	var calls []string
	for _, r := range raws {
		var m struct {
			Method string             `json:"method"`
			Params stdjson.RawMessage `json:"params"`
		}
		if stdjson.Unmarshal(r, &m) != nil || m.Method != "tools/call" {
			continue
		}
		var p struct {
			Name *string `json:"name"`
		}
		if stdjson.Unmarshal(m.Params, &p) == nil && p.Name != nil {
			calls = append(calls, *p.Name)
		}
	}
	return calls
}

// verdict is what the gateway did with a body: refused it, or decided its calls and forwarded.
type verdict struct {
	refused   error
	decided   []string // the tool of every tools/call, in order
	allowed   []string // those allowed
	forwarded []byte   // nil when nothing went upstream
}

// judge runs the gateway's reading and planning (as ServeServer does) for key dev on server
// everything of the test policy: echo, get-sum allowed; get-env denied by the organization,
// get-tiny-image outside the key's list.
func judge(pol *enforce.Policy, b []byte) verdict {
	in, err := readRequestBody(b)
	if err != nil {
		return verdict{refused: err}
	}
	rec := &recorder{}
	x := &exchange{g: &Gateway{enf: enforce.NewEnforcer(nil, time.Now), obs: Observer{Recorder: rec}}, server: "everything",
		pol: pol, pr: enforce.Principal{Key: "dev"}, in: in}
	v := verdict{forwarded: x.plan()}
	for _, r := range rec.all() {
		v.decided = append(v.decided, r.Tool)
		if r.Allowed {
			v.allowed = append(v.allowed, r.Tool)
		}
	}
	return v
}

// checkDifferential is the property: for a body the gateway forwards, every reader runs exactly
// the calls the gateway allowed, from what was forwarded; and on the body as sent, the readers
// agree with the gateway about every call it decided. A refused body is never forwarded.
func checkDifferential(t *testing.T, pol *enforce.Policy, b []byte) verdict {
	t.Helper()
	v := judge(pol, b)
	if v.refused != nil {
		var se *strictjson.Error
		if !errors.As(v.refused, &se) {
			t.Fatalf("%q: refused with %T %v, want a *strictjson.Error", b, v.refused, v.refused)
		}
		return v
	}
	if got := jsCalls(b); !slices.Equal(got, v.decided) {
		t.Fatalf("%q: the gateway decided on %q, an exact-names reader would run %q", b, v.decided, got)
	}
	if got := foldCalls(b); !slices.Equal(got, v.decided) {
		t.Fatalf("%q: the gateway decided on %q, a case-folding reader would run %q", b, v.decided, got)
	}
	if v.forwarded == nil {
		if len(v.allowed) > 0 {
			t.Fatalf("%q: allowed %q but forwarded nothing", b, v.allowed)
		}
		return v
	}
	if got := jsCalls(v.forwarded); !slices.Equal(got, v.allowed) {
		t.Fatalf("%q: forwarded %q, on which an exact-names reader runs %q; allowed %q", b, v.forwarded, got, v.allowed)
	}
	if got := foldCalls(v.forwarded); !slices.Equal(got, v.allowed) {
		t.Fatalf("%q: forwarded %q, on which a case-folding reader runs %q; allowed %q", b, v.forwarded, got, v.allowed)
	}
	if _, err := readRequestBody(v.forwarded); err != nil {
		t.Fatalf("%q: forwarded %q, which the gateway itself would refuse: %v", b, v.forwarded, err)
	}
	return v
}

const (
	okEnvelope = `{"jsonrpc":"2.0","id":12,"method":"tools/call","params":%s}`
	ping       = `{"jsonrpc":"2.0","id":1,"method":"ping"}`
)

func call(params string) string { return fmt.Sprintf(okEnvelope, params) }

// callID is call with another id, for a batch's second call.
func callID(id int, params string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":%s}`, id, params)
}

// strictCases are crafted bodies: every case of issue 8's findings 1 and 2 and more. want is ""
// for a body the gateway reads, else a part of the refusal's message.
var strictCases = []struct {
	name, body, want string
}{
	// Read and decided.
	{"plain call", call(`{"name":"echo","arguments":{"message":"hi"}}`), ""},
	{"denied call", call(`{"name":"get-env"}`), ""},
	{"escaped name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"get-\u0065nv"}}`, ""},
	{"escaped method", `{"jsonrpc":"2.0","id":1,"method":"tools\/c\u0061ll","params":{"name":"get-env"}}`, ""},
	{"whitespace", " \n\t" + call(`{ "name" : "echo" }`) + " \r\n", ""},
	{"other members", call(`{"name":"echo","Arguments":{"NAME":"get-env","name":"get-env"},"_meta":{"name":"get-env"}}`), ""},
	{"batch", "[" + call(`{"name":"echo"}`) + "," + callID(13, `{"name":"get-env"}`) + "," + ping + "]", ""},
	{"batch of one", "[" + call(`{"name":"get-sum"}`) + "]", ""},
	{"notification call", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get-env"}}`, ""},
	{"response", `{"jsonrpc":"2.0","id":"s1","result":{"model":"m","role":"assistant","content":{"type":"text","text":"x"}}}`, ""},
	{"error response", `{"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"no"}}`, ""},
	{"ping", ping, ""},
	{"big number", `{"jsonrpc":"2.0","id":9007199254740991,"method":"tools/call","params":{"name":"echo","arguments":{"n":1.000000000000000000001e400}}}`, ""},
	// An id the SDK and JavaScript hold differently (see readID).
	{"big id", `{"jsonrpc":"2.0","id":12345678901234567890123,"method":"tools/call","params":{"name":"echo"}}`, "a number id must be an integer"},
	{"fraction id", `{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"get-env"}}`, "a number id must be an integer"},
	{"unicode name", call(`{"name":"\u00e9cho"}`), ""},

	// Finding 1: a name Warden reads differently from the upstream.
	{"NAME", call(`{"name":"get-env","NAME":"echo","arguments":{}}`), `params: name "NAME" differs from "name" only by case`},
	{"NAME first", call(`{"NAME":"echo","name":"get-env"}`), `differs from "name" only by case`},
	{"Name", call(`{"Name":"echo","name":"get-env"}`), `differs from "name" only by case`},
	{"only NAME", call(`{"NAME":"get-env"}`), `differs from "name" only by case`},
	{"long s in params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env"},"paramſ":{"name":"echo"}}`, `name "param\u017f" differs from "params" only by case`},
	{"long s in jsonrpc", `{"jsonrpc":"2.0","jſonrpc":"1.0","id":1,"method":"ping"}`, `name "j\u017fonrpc" differs from "jsonrpc" only by case`},
	{"PARAMS", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env"},"PARAMS":{"name":"echo"}}`, `differs from "params" only by case`},
	{"Kelvin sign elsewhere", call(`{"name":"echo","K":1}`), ""},
	{"METHOD", `{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"tools/call","params":{"name":"get-env"}}`, `name "METHOD" differs from "method" only by case`},
	{"Id", `{"jsonrpc":"2.0","id":1,"Id":2,"method":"ping"}`, `differs from "id" only by case`},
	{"dotless i", `{"jsonrpc":"2.0","id":1,"ıd":2,"method":"ping"}`, `name "\u0131d" differs from "id" only by case`},
	{"escaped NAME", call(`{"name":"get-env","N\u0041ME":"echo"}`), `differs from "name" only by case`},
	{"NAME in a batch", "[" + ping + "," + call(`{"name":"get-env","NAME":"echo"}`) + "]", `1.params: name "NAME" differs`},
	{"duplicate name", call(`{"name":"echo","name":"get-env"}`), `params: duplicate name "name"`},
	{"duplicate escaped name", call(`{"name":"echo","n\u0061me":"get-env"}`), `params: duplicate name "name"`},
	{"duplicate method", `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"get-env"}}`, `duplicate name "method"`},
	{"duplicate params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"},"params":{"name":"get-env"}}`, `duplicate name "params"`},
	{"duplicate deep", call(`{"name":"echo","arguments":{"a":{"b":1,"b":2}}}`), `params.arguments.a: duplicate name "b"`},
	{"duplicate in a batch", "[" + ping + "," + call(`{"name":"echo","name":"get-env"}`) + "]", `1.params: duplicate name "name"`},

	// Finding 2: more than one JSON value.
	{"second value", ping + " " + call(`{"name":"get-env"}`), "data after the first JSON value at offset 41"},
	{"second value, no space", ping + call(`{"name":"get-env"}`), "data after the first JSON value at offset 40"},
	{"batch then value", "[" + ping + "]" + call(`{"name":"get-env"}`), "data after the first JSON value"},
	{"trailing garbage", ping + " x", "data after the first JSON value"},
	{"trailing comma", ping + ",", "data after the first JSON value"},
	{"NUL after", ping + "\x00", "data after the first JSON value"},

	// Bytes the gateway will not read.
	{"invalid UTF-8", call(`{"name":"echo","arguments":{"m":"` + "\xff" + `"}}`), "invalid UTF-8 at offset"},
	{"invalid UTF-8 in a name", call(`{"name":"echo","n` + "\xc3" + `me":"get-env"}`), "invalid UTF-8"},
	{"overlong encoding", call(`{"name":"echo","x":"` + "\xc1\xae" + `"}`), "invalid UTF-8"},
	{"lone surrogate", call(`{"name":"echo\ud800"}`), "params.name: invalid Unicode"},
	{"BOM", "\xef\xbb\xbf" + ping, "invalid JSON"},
	{"not JSON", `{"hello":`, "ends early"},
	{"empty", ``, "ends early"},
	{"empty batch", `[]`, "empty JSON-RPC batch"},
	{"nested batch", "[[" + ping + "]]", "0: a JSON-RPC message must be an object"},
	{"not an object", `"tools/call"`, "must be an object"},
	{"no version", `{"id":1,"method":"tools/call","params":{"name":"get-env"}}`, `jsonrpc: want "2.0"`},
	{"numeric method", `{"jsonrpc":"2.0","id":1,"method":7}`, "method: want a JSON string"},
	{"boolean id", `{"jsonrpc":"2.0","id":true,"method":"ping"}`, "id: an id must be"},
	{"no tool name", call(`{"arguments":{}}`), "without a tool name"},
	{"numeric tool name", call(`{"name":7}`), "params.name: want a JSON string"},
	{"params array", call(`["get-env"]`), "must be an object"},
	{"response without id", `{"jsonrpc":"2.0","result":{}}`, "needs an id"},
	// One shape per message: a request, or a response with a result or an error.
	{"request with result", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"},"result":{}}`, "has no result or error"},
	{"request with error", `{"jsonrpc":"2.0","method":"notifications/x","error":{"code":1,"message":"m"}}`, "has no result or error"},
	{"result and error", `{"jsonrpc":"2.0","id":1,"result":{"tools":[]},"error":{"code":1,"message":"m"}}`, "not both"},
	{"neither", `{"jsonrpc":"2.0","id":1}`, "needs a method"},
	{"version with a space", `{"jsonrpc":"2.0 ","id":1,"method":"tools/call","params":{"name":"get-env"}}`, `jsonrpc: want "2.0"`},
	{"params null", call(`null`), "must be an object"},
	{"too deep", call(`{"name":"echo","arguments":{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}}`), "invalid JSON"},
	{"deep but readable", call(`{"name":"get-env","arguments":{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}`), ""},
	// Two requests of one id in a batch: their answers could not be told apart.
	{"id reused in a batch", "[" + call(`{"name":"echo"}`) + "," + call(`{"name":"get-env"}`) + "]", "1.id: request id 12 is also the id of request 0"},
	{"id reused, list and call", `[{"jsonrpc":"2.0","id":"a","method":"tools/list"},{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo"}}]`, `request id a is also the id of request 0`},
	{"ids 1 and \"1\"", `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"1","method":"ping"}]`, ""},
	{"null id call", `{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"get-env"}}`, ""},
}

func strictPolicy(t testing.TB) *enforce.Policy {
	return enforce.NewPolicy(testView(t, 1, map[string]live.Upstream{"everything": {URL: "http://x"}}))
}

// Every crafted body: the gateway refuses exactly the ambiguous ones, saying what and where, and
// forwards nothing any reader would run differently.
func TestStrictReadingDifferential(t *testing.T) {
	pol := strictPolicy(t)
	for _, c := range strictCases {
		t.Run(c.name, func(t *testing.T) {
			v := checkDifferential(t, pol, []byte(c.body))
			switch {
			case c.want == "" && v.refused != nil:
				t.Fatalf("refused: %v", v.refused)
			case c.want != "" && v.refused == nil:
				t.Fatalf("read as %q and forwarded %q; want a refusal with %q", v.decided, v.forwarded, c.want)
			case c.want != "" && !strings.Contains(v.refused.Error(), c.want):
				t.Fatalf("refused with %q, want %q", v.refused, c.want)
			case v.refused != nil:
				t.Logf("refused: %v", v.refused)
			}
		})
	}
}

// The same through the gateway's HTTP handler, to an upstream that records what it gets: what
// the upstream would run from the bytes it received is exactly what the decision log allowed.
func TestStrictReadingThroughGateway(t *testing.T) {
	f := newFakeUpstream(t)
	h := newHarness(t, map[string]live.Upstream{"everything": {URL: f.srv.URL}})
	for _, c := range strictCases {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.rec.all())
			resp, body := post(t, h.url+"/mcp/everything", secretDev, "application/json, text/event-stream", c.body)
			var ran, folded []string
			received := 0
			for len(f.bodies) > 0 {
				b := <-f.bodies
				<-f.header
				received++
				ran = append(ran, jsCalls([]byte(b))...)
				folded = append(folded, foldCalls([]byte(b))...)
			}
			var allowed []string
			recs := h.rec.all()[before:]
			for _, r := range recs {
				if r.Allowed {
					allowed = append(allowed, r.Tool)
				}
			}
			if c.want != "" {
				if resp.StatusCode != 400 || received > 0 || len(recs) != 1 || recs[0].DecidedBy != DecidedByMalformed || recs[0].Key != "dev" {
					t.Fatalf("%d %s; %d bodies reached the upstream; records %+v", resp.StatusCode, body, received, recs)
				}
				return
			}
			if !slices.Equal(ran, allowed) || !slices.Equal(folded, allowed) {
				t.Fatalf("allowed %q; the upstream got %d bodies and would run %q (case-folding: %q)", allowed, received, ran, folded)
			}
		})
	}
}

// /mcp reads bodies the same strict way before the SDK sees them.
func TestStrictAggregate(t *testing.T) {
	gs := goServer(t, false)
	h := newHarness(t, map[string]live.Upstream{"gosrv": {URL: gs.URL}})
	cs := connect(t, h.url+"/mcp", secretDev, nil)
	ctx := context.Background()
	before := len(h.rec.all())
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"gosrv__secret","NAME":"gosrv__add"}}`,
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"gosrv__add","name":"gosrv__secret"}}`,
		`{"jsonrpc":"2.0","id":7,"method":"ping"} {"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"gosrv__secret"}}`,
	} {
		resp, out := post(t, h.url+"/mcp", secretDev, "application/json, text/event-stream", body,
			"Mcp-Session-Id", cs.ID(), "Mcp-Protocol-Version", "2025-11-25")
		if resp.StatusCode != 400 || !strings.Contains(out, `"code":-32600`) || !strings.Contains(out, `"decided_by":"malformed"`) {
			t.Errorf("%s: %d %s", body, resp.StatusCode, out)
		}
	}
	recs := h.rec.all()[before:]
	if len(recs) != 3 {
		t.Fatalf("records %+v", recs)
	}
	for _, r := range recs {
		if r.Key != "dev" || r.DecidedBy != DecidedByMalformed || r.Allowed || r.Server != "" {
			t.Errorf("record %+v", r)
		}
	}
	// A key that does not authenticate gets 401 and nothing is logged.
	if resp, out := post(t, h.url+"/mcp", "wdn_nope", "application/json", `{"a":1,"a":2}`); resp.StatusCode != 401 || len(h.rec.all()) != before+3 {
		t.Errorf("unknown key: %d %s", resp.StatusCode, out)
	}
	// The session is untouched.
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "gosrv__add", Arguments: map[string]any{"a": 1, "b": 2}}); err != nil || text(res) != "3" {
		t.Errorf("add: %v %v", err, res)
	}
}

// What is forwarded is the minimal re-encoding of what was read, not the bytes received.
func TestForwardedReencoded(t *testing.T) {
	pol := strictPolicy(t)
	for _, c := range [][2]string{
		{" {\"jsonrpc\" : \"2.0\", \"id\":1, \"method\":\"tools\\/call\", \"params\":{\"n\\u0061me\":\"echo\", \"arguments\":{\"x\":1.50e3}}} ",
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":1.50e3}}}`},
		{"[" + call(`{"name":"echo"}`) + " , " + callID(13, `{"name":"get-env"}`) + "]", "[" + call(`{"name":"echo"}`) + "]"},
		{"[" + ping + "]", "[" + ping + "]"},
		{ping, ping},
	} {
		in, want := c[0], c[1]
		if v := judge(pol, []byte(in)); string(v.forwarded) != want {
			t.Errorf("%q forwarded as %q, want %q (%v)", in, v.forwarded, want, v.refused)
		}
	}
}

// FuzzStrictReading is the differential property on any body. Seeds: strictCases and the corpus
// in testdata/fuzz/FuzzStrictReading. In CI, briefly:
//
//	go test ./handlers/mcpgw -run '^$' -fuzz '^FuzzStrictReading$' -fuzztime 20s
func FuzzStrictReading(f *testing.F) {
	for _, c := range strictCases {
		f.Add([]byte(c.body))
	}
	pol := strictPolicy(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDifferential(t, pol, b)
	})
}

// TestWriteStrictCorpus writes strictCases as the committed fuzz corpus (run with
// WARDEN_WRITE_CORPUS=1 after changing them).
func TestWriteStrictCorpus(t *testing.T) {
	if os.Getenv("WARDEN_WRITE_CORPUS") == "" {
		t.Skip("set WARDEN_WRITE_CORPUS=1 to rewrite testdata/fuzz/FuzzStrictReading")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzStrictReading")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range strictCases {
		name := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return '-'
		}, c.name)
		data := "go test fuzz v1\n[]byte(" + strconv.Quote(c.body) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A tools/list result is filtered on each tool's name read strictly: a tool whose name a client
// could read differently is dropped, whatever the gateway would have read.
func TestFilterToolsStrict(t *testing.T) {
	result := `{"tools":[{"name":"add"},{"name":"secret","NAME":"add"},{"NAME":"add","name":"secret"},` +
		`{"name":"add","name":"secret"},{"name":"secret","Name":"add"},{"n\u0061me":"shout", "description":"x"},{"title":"no name"}],"nextCursor":"c"}`
	out, ok := filterTools([]byte(result), func(name string) bool { return name == "add" || name == "shout" })
	if want := `{"nextCursor":"c","tools":[{"name":"add"},{"name":"shout","description":"x"}]}`; !ok || string(out) != want {
		t.Errorf("filtered %s, want %s", out, want)
	}
	// An escaped "tools" is a tool list too.
	escaped := `{"t\u006fols":[{"name":"secret"}]}`
	if out, ok := filterTools([]byte(escaped), func(string) bool { return false }); !mayBeToolList([]byte(escaped)) || !ok || string(out) != `{"tools":[]}` {
		t.Errorf("escaped tools: %v %s", mayBeToolList([]byte(escaped)), out)
	}
}
