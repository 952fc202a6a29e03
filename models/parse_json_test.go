package models

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// fastAgrees fails t when the JSON fast path reads data but the YAML path reads it otherwise
// or finds a problem in it; it reports whether the fast path read it.
func fastAgrees(t *testing.T, data []byte) bool {
	t.Helper()
	fast, ok := parseJSONFast(data)
	if !ok {
		return false
	}
	slow, err := parseYAML(data)
	if err != nil {
		t.Fatalf("the fast path read a document the YAML path refuses: %v\n%q", err, data)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("the two paths disagree:\nfast: %#v\nyaml: %#v\ninput: %q", fast, slow, data)
	}
	return true
}

func TestJSONFastPath(t *testing.T) {
	example, err := os.ReadFile("testdata/example.json")
	if err != nil {
		t.Fatal(err)
	}
	// Read by the fast path, and to what the YAML path reads.
	for _, in := range []string{
		string(example),
		`{"version":1}`,
		"\n  {\"version\": 1}\n\n",
		"{\r\n\"version\":1}\r\n",
		`{"version":1,"servers":[],"keys":[{"name":"k","mcp":{}},{"name":"j","mcp":{"tools":{"s":[]}}}]}`,
		`{"version":1,"servers":[{"name":"s","tools":["a",{"name":"b","input_schema":{"x":[1e400,-0,1.50,"yes",true,null,{"<<":"~"}],"":{}}}]}]}`,
		`{"version":1,"servers":[{"name":"s","tools":[{"name":"b","input_schema":" {\"type\" : \"object\"} "}]}]}`,
		`{"version":1,"servers":[{"name":"s","tools":[{"name":"b","description":"é \u00e9 / \" \\ \n\t \u0085 \u2028 \u0000 😀"}]}]}`,
		`{"version": 1, "organizations": [{"name": "a", "blocked": true}]}`,
	} {
		if !fastAgrees(t, []byte(in)) {
			t.Errorf("the fast path declined %q", in)
		}
	}
	// Declined: the YAML path reads them (or words their problems) as it always did.
	for _, in := range []string{
		"", "version: 1", "[1]", `{"version":1}{"version":1}`, `{"version":1} x`,
		`{"version":1.0}`, `{"version":"1"}`, `{"version":1e0}`, `{"version":99999999999999999999}`,
		`{"version":1,"servers":null}`, `{"version":1,"keys":[{"name":"k","mcp":null}]}`,
		`{"version":1,"colour":"red"}`, `{"version":1,"Version":1}`, `{"version":1,"version":1}`,
		"{\"version\":1,\"keys\":[{\"name\":\"k\tx\"}]}", "{\t\"version\":1}", "{\"version\":1}\r",
		"{\"version\"\n:1}", `{"version":1,"keys":[{"name":"\ud83d\ude00"}]}`, `{"version":1,"keys":[{"name":"a\/b"}]}`,
		"{\"version\":1,\"keys\":[{\"name\":\"a\u0085b\"}]}", "{\"version\":1,\"keys\":[{\"name\":\"a\u2028b\"}]}",
		"\ufeff{\"version\":1}", "{\"version\":1,\"keys\":[{\"name\":\"a\x7fb\"}]}",
		"{\"version\":1,\"keys\":[{\"name\":\"\xff\"}]}",
		`{"version":1,"keys":[{"name":"k","blocked":"yes"}]}`,
		`{"version":1,"servers":[{"name":"s","tools":[{"name":"t","input_schema":1}]}]}`,
		`{"version":1,"servers":[{"name":"s","tools":[{"name":"t","colour":1}]}]}`,
		`{"version":1,"servers":[{"name":"s","tools":[{"name":"t","input_schema":{"a":1,"a":2}}]}]}`,
		`{"version":1,"agents":[{"name":"a",` + `"` + strings.Repeat("x", 2000) + `":1}]}`,
		`{"version":1,"servers":[{"name":"s","tools":[{"name":"t","input_schema":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}]}`,
	} {
		if fastAgrees(t, []byte(in)) {
			t.Errorf("the fast path read %q; it should leave it to the YAML path", in)
		}
	}
}

// FuzzJSONFastPath holds the fast path to its promise: whatever it reads, the YAML path reads
// to the same document without a problem.
func FuzzJSONFastPath(f *testing.F) {
	example, err := os.ReadFile("testdata/example.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(`{"version":1,"servers":[{"name":"s","tools":["a",{"name":"b","input_schema":{"x":[1e400,-0,"yes",null]}}]}]}`))
	f.Add([]byte("{\"version\":1,\"keys\":[{\"name\":\"k\",\"mcp\":{\"tools\":{\"s\":[]}},\"deny_tools\":[\"s/t\"]}]}"))
	f.Add([]byte("{\r\n \"version\" : 1 ,\"teams\":[ {\"name\":\"é\\u00e9\",\"organization\":\"o\"} ] }"))
	f.Fuzz(func(t *testing.T, data []byte) { fastAgrees(t, data) })
}
