package models_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
)

// FuzzLoadDocument checks that no input makes the loader panic, and that every document that
// loads without problems encodes and loads again to an equal document.
func FuzzLoadDocument(f *testing.F) {
	for _, name := range []string{"testdata/spec-example.yaml", "testdata/example.yaml", "testdata/example.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(demo.YAML)
	f.Add([]byte("version: 1\nkeys: [{name: k, mcp: {}}, {name: j}]\n"))
	f.Add([]byte("version: 1\nservers: [{name: s, tools: [{name: t, input_schema: '{\"type\":\"object\",\"x\":1e400}'}]}]\n"))
	f.Add([]byte("version: 1\nbase: &b {servers: [s]}\nservers: [{name: s}]\nagents: [{name: a, mcp: *b}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := models.LoadDocument(data)
		if err != nil {
			ps, ok := err.(models.Problems)
			if !ok || len(ps) == 0 {
				t.Fatalf("LoadDocument returned %T, want Problems: %v", err, err)
			}
			for _, p := range ps {
				// ParseDocument turns a panic into this problem; it is still a bug.
				if strings.HasPrefix(p.Message, "internal error") {
					t.Fatal(p)
				}
			}
			return
		}
		out, err := models.EncodeDocument(d)
		if err != nil {
			t.Fatalf("EncodeDocument: %v", err)
		}
		again, err := models.LoadDocument(out)
		if err != nil {
			t.Fatalf("re-loading the encoded document: %v\n%s", err, out)
		}
		d.Normalize()
		if !reflect.DeepEqual(d, again) {
			t.Fatalf("round trip changed the document:\nbefore: %#v\nafter:  %#v\nencoded:\n%s", d, again, out)
		}
	})
}

// FuzzRoundTripStrings puts arbitrary text where a document allows it (tool descriptions and
// input schemas) and checks that encoding and parsing again gives the same document.
func FuzzRoundTripStrings(f *testing.F) {
	f.Add("Open an issue.", `{"type":"object","properties":{"repo":{"type":"string"}}}`)
	f.Add("multi\nline: #x", `{"a":[1e400,-0,"yes",null,{"<<":"~"}],"":{}}`)
	f.Add("", `not json`)
	f.Fuzz(func(t *testing.T, description, schema string) {
		d := &models.Document{Version: 1, Servers: []models.ServerDoc{{
			Name:  "s",
			Tools: []models.ToolDoc{{Name: "t", Description: description, InputSchema: schema}, {Name: "u", InputSchema: schema}},
		}}}
		out, err := models.EncodeDocument(d)
		if err != nil {
			t.Fatalf("EncodeDocument: %v", err)
		}
		again, err := models.ParseDocument(out)
		if err != nil {
			t.Fatalf("parsing the encoded document: %v\n%s", err, out)
		}
		d.Normalize()
		if !reflect.DeepEqual(d, again) {
			t.Fatalf("round trip changed the document:\nbefore: %#v\nafter:  %#v\nencoded:\n%s", d, again, out)
		}
	})
}
