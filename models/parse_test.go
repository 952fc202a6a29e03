package models_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"go.yaml.in/yaml/v3"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustLoad(t *testing.T, data []byte) *models.Document {
	t.Helper()
	d, err := models.LoadDocument(data)
	if err != nil {
		t.Fatalf("LoadDocument: %v", err)
	}
	return d
}

// problemLines returns err as the lines of its Problems, failing when it is something else.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps models.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, want models.Problems: %v", err, err)
	}
	if models.ErrorCode(err) != models.EInvalid {
		t.Errorf("ErrorCode = %q, want %q", models.ErrorCode(err), models.EInvalid)
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return lines
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n  got  %q\n  want %q", got, want)
	}
}

// roundTrip encodes d, parses the result and checks that it equals d normalized.
func roundTrip(t *testing.T, d *models.Document) []byte {
	t.Helper()
	before := d.Clone()
	out, err := models.EncodeDocument(d)
	if err != nil {
		t.Fatalf("EncodeDocument: %v", err)
	}
	if !reflect.DeepEqual(d.Clone(), before) {
		t.Fatalf("EncodeDocument changed its argument")
	}
	again, err := models.ParseDocument(out)
	if err != nil {
		t.Fatalf("parsing the encoded document: %v\n%s", err, out)
	}
	want := d.Clone()
	want.Normalize()
	// Clone turns nil lists into empty ones; a parsed document has nil for them.
	if !reflect.DeepEqual(nilEmpty(want), again) {
		t.Fatalf("round trip changed the document\nwant %#v\ngot  %#v\nencoded:\n%s", want, again, out)
	}
	return out
}

// nilEmpty sets the document's empty top-level lists to nil, as ParseDocument leaves them.
func nilEmpty(d *models.Document) *models.Document {
	v := reflect.ValueOf(d).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Slice && f.Len() == 0 {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return d
}

func TestParseExample(t *testing.T) {
	d := mustLoad(t, readFile(t, "testdata/example.yaml"))
	if d.Version != 1 || len(d.Servers) != 2 || len(d.Keys) != 3 {
		t.Fatalf("unexpected document: %+v", d)
	}
	jira := d.Servers[1]
	wantTools := []models.ToolDoc{
		{Name: "search"},
		{
			Name:        "create_ticket",
			Description: "Create a ticket in a project.",
			InputSchema: `{"type":"object","properties":{"project":{"type":"string","description":"Project key, e.g. OPS"},"summary":{"type":"string"}},"required":["project","summary"]}`,
		},
		{
			Name:        "get_ticket",
			Description: "Fetch one ticket.",
			InputSchema: `{"type":"object","properties":{"key":{"type":"string"}},"required":["key"]}`,
		},
	}
	if !reflect.DeepEqual(jira.Tools, wantTools) {
		t.Errorf("jira tools:\n got %#v\nwant %#v", jira.Tools, wantTools)
	}
	acme := d.Organization("acme")
	wantMCP := &models.MCPPermission{
		Servers:      []string{"github"},
		AccessGroups: []string{"dev"},
		Toolsets:     []string{"read-only"},
		Tools:        map[string][]string{"github": {"list_issues"}},
	}
	if acme == nil || !reflect.DeepEqual(acme.MCP, wantMCP) || !reflect.DeepEqual(acme.DenyTools, []string{"github/delete_repo"}) {
		t.Errorf("acme: %+v", acme)
	}
	if d.Keys[0].MCP != nil {
		t.Errorf("ci-bot has no mcp key, got %+v", d.Keys[0].MCP)
	}
	if d.Keys[1].MCP == nil || !d.Keys[1].MCP.IsEmpty() {
		t.Errorf("billing-svc has mcp: {}, got %+v", d.Keys[1].MCP)
	}
}

func TestParseJSONEqualsYAML(t *testing.T) {
	fromYAML := mustLoad(t, readFile(t, "testdata/example.yaml"))
	fromJSON := mustLoad(t, readFile(t, "testdata/example.json"))
	if !reflect.DeepEqual(fromYAML, fromJSON) {
		t.Errorf("JSON and YAML differ:\n%#v\n%#v", fromYAML, fromJSON)
	}
	// JSON indented with tabs is fine too.
	b, err := json.MarshalIndent(fromYAML, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if again := mustLoad(t, b); !reflect.DeepEqual(again, fromYAML) {
		t.Errorf("json.MarshalIndent output reads back differently:\n%#v", again)
	}
}

func TestParseUnknownFields(t *testing.T) {
	const doc = `version: 1
colour: blue
servers:
  - name: github
    tools:
      - name: create_issue
        descripton: typo
        input_schema: {type: object}
    disable_tools: [create_issue]
organizations:
  - name: acme
    mcp: {servers: [github], server: [github]}
keys:
  - {name: a}
  - {name: b}
  - {name: c, colour: red, mcp: {tools: {github: [create_issue]}, deny: x}}
`
	_, err := models.ParseDocument([]byte(doc))
	equalLines(t, problemLines(t, err), []string{
		`colour: unknown field "colour"`,
		`servers[0] "github".tools[0].descripton: unknown field "descripton"`,
		`servers[0] "github".disable_tools: unknown field "disable_tools"`,
		`organizations[0] "acme".mcp.server: unknown field "server"`,
		`keys[2] "c".colour: unknown field "colour"`,
		`keys[2] "c".mcp.deny: unknown field "deny"`,
	})
}

func TestParseTypeErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"version: one", `version: expected an integer, got "one"`},
		{"version: 1.5", `version: expected an integer, got "1.5"`},
		{"version: '1'", `version: expected an integer, got "1"`},
		{"version: 1\nservers: github", `servers: expected a list, got "github"`},
		{"version: 1\nservers: {name: github}", `servers: expected a list, got a mapping`},
		{"version: 1\nservers: [github]", `servers[0]: expected a mapping, got "github"`},
		{"version: 1\nservers: [{name: [a]}]", `servers[0].name: expected a string, got a list`},
		{"version: 1\nservers: [{name: s, public: maybe}]", `servers[0] "s".public: expected true or false, got "maybe"`},
		{"version: 1\nservers: [{name: s, tools: [a, b, c, [d]]}]", `servers[0] "s".tools[3]: expected a tool name or a mapping with name, description and input_schema, got a list`},
		{"version: 1\nservers: [{name: s, tools: [{name: t, input_schema: [1, .nan]}]}]", `servers[0] "s".tools[0].input_schema[1]: ".nan" is not a JSON number`},
		{"version: 1\norganizations: [{name: o, mcp: [github]}]", `organizations[0] "o".mcp: expected a mapping, got a list`},
		{"version: 1\norganizations: [{name: o}, {name: p, mcp: {tools: {github: list_issues}}}]", `organizations[1] "p".mcp.tools.github: expected a list, got "list_issues"`},
		{"version: 1\norganizations: [{name: o}, {name: p, mcp: {tools: {github: [{a: b}]}}}]", `organizations[1] "p".mcp.tools.github[0]: expected a string, got a mapping`},
		{"version: 1\nkeys: [{name: k, mcp: }]", `keys[0] "k".mcp: null is ambiguous here: leave the key out for "does not restrict", or write {} for "no MCP access"`},
		{"version: 1\nkeys: [{name: k, mcp: ~}]", `keys[0] "k".mcp: null is ambiguous here: leave the key out for "does not restrict", or write {} for "no MCP access"`},
		{"version: 1\nkeys:\n  -\n  - {name: k}", `keys[0]: expected a mapping, got nothing`},
		{"version: 1\nversion: 1", `version: duplicate key "version" (first at line 1)`},
	} {
		_, err := models.ParseDocument([]byte(tc.doc))
		equalLines(t, problemLines(t, err), []string{tc.want})
	}
}

func TestParseUnreadable(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"", "the document is empty; it needs at least `version: 1`"},
		{"  \n\n", "the document is empty; it needs at least `version: 1`"},
		{"# only a comment\n", "the document is empty; it needs at least `version: 1`"},
		{"~", "the document is empty; it needs at least `version: 1`"},
		{"- version: 1", "line 1: the document must be a mapping (version, servers, ...), got a list"},
		{"hello", `line 1: the document must be a mapping (version, servers, ...), got "hello"`},
		{"version: 1\nservers: [", "line 2: did not find expected node content"},
		{"version: 1\n\tservers: []", "line 2: found a tab character that violates indentation"},
	} {
		d, err := models.LoadDocument([]byte(tc.doc))
		if d != nil {
			t.Errorf("%q: got a document", tc.doc)
		}
		equalLines(t, problemLines(t, err), []string{tc.want})
	}
}

func TestParseSecondDocument(t *testing.T) {
	_, err := models.ParseDocument([]byte("version: 1\n---\nversion: 1\n"))
	equalLines(t, problemLines(t, err), []string{"line 2: a second YAML document follows the first; a policy file holds exactly one"})
	if _, err := models.ParseDocument([]byte("version: 1\n...\n")); err != nil {
		t.Errorf("document end marker: %v", err)
	}
}

func TestParseAliasesAndMerges(t *testing.T) {
	const doc = `version: 1
servers:
  - {name: github, tools: [list_issues]}
agents:
  - name: a
    mcp: &readers {servers: [github]}
  - name: b
    mcp: *readers
keys:
  - &base {name: k1, blocked: true, deny_tools: [github/list_issues]}
  - <<: *base
    name: k2
`
	d := mustLoad(t, []byte(doc))
	if !reflect.DeepEqual(d.Agents[0].MCP, d.Agents[1].MCP) || d.Agents[0].MCP == d.Agents[1].MCP {
		t.Errorf("alias: %+v %+v", d.Agents[0].MCP, d.Agents[1].MCP)
	}
	want := models.KeyDoc{Name: "k2", Blocked: true, DenyTools: []string{"github/list_issues"}}
	if !reflect.DeepEqual(d.Keys[1], want) {
		t.Errorf("merge: got %+v, want %+v", d.Keys[1], want)
	}
}

func TestParseAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("servers: [{name: s, tools: [{name: t, input_schema: *a9}]}]\n")
	d, err := models.LoadDocument([]byte(b.String()))
	if d != nil || !strings.Contains(err.Error(), "the document expands too much through aliases") {
		t.Errorf("got %v", err)
	}
}

func TestParseInputSchemaForms(t *testing.T) {
	const doc = `version: 1
servers:
  - name: s
    tools:
      - name: mapping
        input_schema:
          type: object
          properties: {n: {type: number, minimum: 1e5, maximum: 1.50, default: 0x10}, s: {type: string, default: "a<b>&\u00e9"}}
      - name: string
        input_schema: '{ "type" : "object", "properties": {"n": {"type": "number", "minimum": 1e5, "maximum": 1.50, "default": 16}, "s": {"type": "string", "default": "a<b>&\u00e9"}} }'
      - name: invalid
        input_schema: '{"type": "object",'
      - name: not-object
        input_schema: '[1, 2]'
`
	d, err := models.ParseDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"type":"object","properties":{"n":{"type":"number","minimum":1e5,"maximum":1.50,"default":16},"s":{"type":"string","default":"a<b>&é"}}}`
	tools := d.Servers[0].Tools
	if tools[0].InputSchema != want || tools[1].InputSchema != want {
		t.Errorf("schemas:\n%s\n%s\nwant\n%s", tools[0].InputSchema, tools[1].InputSchema, want)
	}
	if tools[2].InputSchema != `{"type": "object",` {
		t.Errorf("invalid JSON is kept as written, got %q", tools[2].InputSchema)
	}
	equalLines(t, problemLines(t, d.Validate()), []string{
		`servers[0] "s".tools[2].input_schema: input_schema is not valid JSON: unexpected end of JSON input`,
		`servers[0] "s".tools[3].input_schema: input_schema must be a JSON object (a JSON Schema such as {"type": "object"})`,
	})
	out := roundTrip(t, d)
	if !strings.Contains(string(out), "\n        input_schema:\n          type: object\n") {
		t.Errorf("schemas that are JSON objects should be written as YAML mappings:\n%s", out)
	}
}

func TestCanonicalJSON(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{`{ "b" : 1, "a" : [ true, null, "x" ] }`, `{"b":1,"a":[true,null,"x"]}`, ""},
		{`"\u003c\u00e9\n"`, `"<é\n"`, ""},
		{` -0.0e+10 `, `-0.0e+10`, ""},
		{`{"a": 1, "a": 2}`, "", `key "a" appears twice in one object`},
		{`{"a": 1} x`, "", "unexpected data after the JSON value"},
		{`{"a": 1} {}`, "", "unexpected data after the JSON value"},
		{``, "", "unexpected end of JSON input"},
	} {
		got, err := models.CanonicalJSON(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("CanonicalJSON(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestLoadDocumentReportsEverything(t *testing.T) {
	const doc = `version: 1
servers:
  - {name: github, tools: [list_issues], colour: blue}
keys:
  - {name: k, team: nope, blocked: perhaps}
  - {name: j, mcp: {servers: [gitlab]}}
`
	d, err := models.LoadDocument([]byte(doc))
	if d == nil {
		t.Fatal("a decodable document should come back with its problems")
	}
	equalLines(t, problemLines(t, err), []string{
		`servers[0] "github".colour: unknown field "colour"`,
		`keys[0] "k".blocked: expected true or false, got "perhaps"`,
		`keys[0] "k".team: unknown team "nope"`,
		`keys[1] "j".mcp.servers[0]: unknown server "gitlab"`,
	})
	// A validation problem at a path with a parse problem is not repeated.
	_, err = models.LoadDocument([]byte("version: two\n"))
	equalLines(t, problemLines(t, err), []string{`version: expected an integer, got "two"`})
}

func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"testdata/example.yaml", "testdata/example.json", "testdata/spec-example.yaml"} {
		t.Run(name, func(t *testing.T) {
			d, err := models.ParseDocument(readFile(t, name))
			if err != nil {
				t.Fatal(err)
			}
			out := roundTrip(t, d)
			if !strings.HasPrefix(string(out), "version: 1\nservers:\n  - name: github\n") {
				t.Errorf("encoding should start with the version and indent by two spaces:\n%s", out)
			}
			// Encoding is stable: encoding the re-parsed document gives the same text.
			again, _ := models.ParseDocument(out)
			out2, err := models.EncodeDocument(again)
			if err != nil || string(out2) != string(out) {
				t.Errorf("second encoding differs:\n%s\n---\n%s", out, out2)
			}
		})
	}
}

func TestRoundTripMCPNilVersusEmpty(t *testing.T) {
	d := &models.Document{
		Version: 1,
		Servers: []models.ServerDoc{{Name: "s", Tools: []models.ToolDoc{{Name: "t"}}}},
		Organizations: []models.OrganizationDoc{
			{Name: "unrestricted"},
			{Name: "nothing", MCP: &models.MCPPermission{}},
			{Name: "emptied", MCP: &models.MCPPermission{Servers: []string{}, Tools: map[string][]string{}}},
		},
		Teams:    []models.TeamDoc{{Name: "t1", MCP: &models.MCPPermission{}}, {Name: "t2"}},
		Keys:     []models.KeyDoc{{Name: "k1", MCP: &models.MCPPermission{}}, {Name: "k2"}},
		EndUsers: []models.EndUserDoc{{Name: "u1", MCP: &models.MCPPermission{}}, {Name: "u2"}},
		Agents:   []models.AgentDoc{{Name: "a1", MCP: &models.MCPPermission{}}, {Name: "a2"}},
	}
	out := roundTrip(t, d)
	got, _ := models.ParseDocument(out)
	if got.Organization("unrestricted").MCP != nil || !got.Organization("nothing").MCP.IsEmpty() || !got.Organization("emptied").MCP.IsEmpty() {
		t.Errorf("organizations: %+v", got.Organizations)
	}
	for _, want := range []string{"{name: nothing, mcp: {}}", "{name: k1, mcp: {}}", "- {name: unrestricted}\n", "{name: a1, mcp: {}}"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("encoding lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "unrestricted, mcp") {
		t.Errorf("an absent mcp must not be written:\n%s", out)
	}
}

func TestRoundTripTrickyStrings(t *testing.T) {
	tricky := []string{
		"", " leading", "trailing ", "a: b", "- x", "#x", "x #y", "multi\nline\n", "multi\nline", "\n",
		"tab\there", "'", `"`, "yes", "no", "null", "~", "1", "1.0", "0x10", "<<", "@x", "`x", "{a}",
		"[a]", "a, b", "é", "\u2028", "\x7f", "\x00", "\ufeff", "  ", "x\r\ny", "…", "&a", "*a", "!tag",
		"%x", "? x", "2026-01-01", ".inf", "=", "a\\b", "\t", "\x1b[0m", strings.Repeat("long ", 40),
		"\nA", "\n A", "\tA\n", "\n\nA", "A\n\tB", "A\n B\n", "A \nB", "A\n\n\n", "\u00a0x\ny", "bad \xff utf8",
	}
	d := &models.Document{Version: 1}
	s := models.ServerDoc{Name: "s", URL: "https://mcp.example.com/s?x=1#y"}
	for i, str := range tricky {
		schema, _ := json.Marshal(map[string]any{"type": "object", "description": str, "properties": map[string]any{str: map[string]any{"default": str}}})
		s.Tools = append(s.Tools, models.ToolDoc{Name: "t" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Description: str, InputSchema: string(schema)})
	}
	s.Tools = append(s.Tools,
		models.ToolDoc{Name: "scalar-schema", InputSchema: `"just a string"`},
		models.ToolDoc{Name: "number-schema", InputSchema: `1e400`},
		models.ToolDoc{Name: "big-numbers", InputSchema: `{"a":1e400,"b":-0,"c":1E5,"d":12345678901234567890123,"e":[],"f":{},"g":[[]]}`},
		models.ToolDoc{Name: "spaced", InputSchema: "{ \"a\" : [ 1 , 2 ] }"},
		models.ToolDoc{Name: "broken", InputSchema: `{"a":`},
	)
	d.Servers = append(d.Servers, s)
	roundTrip(t, d)
}

func TestEncodeDoesNotMutate(t *testing.T) {
	d := mustLoad(t, readFile(t, "testdata/example.yaml"))
	before := d.Clone()
	if _, err := models.EncodeDocument(d); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Clone(), before) {
		t.Error("EncodeDocument changed its argument")
	}
	if _, err := models.EncodeDocument(nil); err == nil {
		t.Error("EncodeDocument(nil) should fail")
	}
}

func TestToolDocWithTheYAMLLibrary(t *testing.T) {
	// yaml.Marshal and yaml.Unmarshal treat tools the way EncodeDocument and ParseDocument do.
	var tools []models.ToolDoc
	err := yaml.Unmarshal([]byte("[a, {name: b, input_schema: {type: object}}, {name: c, input_schema: '{ \"type\": \"object\" }'}]"), &tools)
	want := []models.ToolDoc{{Name: "a"}, {Name: "b", InputSchema: `{"type":"object"}`}, {Name: "c", InputSchema: `{"type":"object"}`}}
	if err != nil || !reflect.DeepEqual(tools, want) {
		t.Fatalf("Unmarshal: %v, %#v", err, tools)
	}
	out, err := yaml.Marshal(tools)
	if err != nil || string(out) != "- a\n- name: b\n  input_schema:\n    type: object\n- name: c\n  input_schema:\n    type: object\n" {
		t.Errorf("Marshal: %v\n%s", err, out)
	}
	err = yaml.Unmarshal([]byte("[{name: a, colour: red}]"), &tools)
	if err == nil || err.Error() != `colour: unknown field "colour"` {
		t.Errorf("unknown field: %v", err)
	}
}
