package models

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// wholeTree encodes a document the way EncodeDocument did before it wrote in chunks: one YAML
// node tree for the whole document. It is the reference WriteDocument must match.
func wholeTree(t *testing.T, d *Document) []byte {
	t.Helper()
	c := d.Clone()
	c.Normalize()
	root := encodeValue(reflect.ValueOf(c).Elem())
	compactStyle(root, 0)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Writing in chunks gives the bytes the whole tree gives, at every chunk size.
func TestWriteDocumentInChunks(t *testing.T) {
	var docs []*Document
	for _, name := range []string{"testdata/example.yaml", "testdata/spec-example.yaml", "testdata/example.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseDocument(data) // the spec example names servers it leaves out
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		docs = append(docs, d)
	}
	tricky := &Document{Version: 1}
	for i, s := range []string{"", "multi\nline\n", "a: b", "- x", "yes", "\n A", "A\n\n\n", "bad \xff utf8", strings.Repeat("long ", 40), "\u2028"} {
		name := string(rune('a' + i))
		tricky.Servers = append(tricky.Servers, ServerDoc{Name: name, Tools: []ToolDoc{{Name: "t", Description: s, InputSchema: `{"d":` + quoteJSON(s) + `}`}}})
		tricky.Keys = append(tricky.Keys, KeyDoc{Name: name, MCP: &MCPPermission{Tools: map[string][]string{name: {"t"}}}}, KeyDoc{Name: name + "x"})
		tricky.Organizations = append(tricky.Organizations, OrganizationDoc{Name: name, DenyTools: []string{name + "/t"}})
	}
	docs = append(docs, tricky, &Document{Version: 1}, &Document{})
	defer func(n int) { encodeChunk = n }(encodeChunk)
	for i, d := range docs {
		want := wholeTree(t, d)
		for _, n := range []int{1, 2, 3, 256} {
			encodeChunk = n
			got, err := EncodeDocument(d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("document %d, chunks of %d: got\n%s\nwant\n%s", i, n, got, want)
			}
		}
	}
}

func quoteJSON(s string) string {
	var b bytes.Buffer
	writeJSONString(&b, s)
	return b.String()
}

// EncodeWholeTree is wholeTree for the external tests (encode_large_test.go).
var EncodeWholeTree = func(d *Document) []byte { return wholeTree(&testing.T{}, d) }

// Ordinary entities take writeSimple's way, names the emitter would quote do not.
func TestWriteSimpleTakesOrdinaryEntities(t *testing.T) {
	keys := []KeyDoc{
		{Name: "ci-bot", Team: "platform", Organization: "acme", Blocked: true, MCP: &MCPPermission{Servers: []string{"github"}, Tools: map[string][]string{"jira": {"search"}}}},
		{Name: "billing", Organization: "acme", MCP: &MCPPermission{}, DenyTools: []string{"github/delete_repo"}},
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, k := range keys {
		seq.Content = append(seq.Content, encodeValue(reflect.ValueOf(k)))
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{strNode("keys"), seq}}
	compactStyle(root, 0)
	var b bytes.Buffer
	if !writeSimple(&b, "keys", seq, false) {
		t.Fatal("writeSimple declined ordinary keys")
	}
	for _, odd := range []string{"yes", "1x", "a b", "a: b", "-x", "x#", strings.Repeat("x", 101), "é"} {
		n := &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{encodeValue(reflect.ValueOf(KeyDoc{Name: odd}))}}
		compactStyle(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{strNode("keys"), n}}, 0)
		if writeSimple(&b, "keys", n, false) {
			t.Errorf("writeSimple took the name %q", odd)
		}
	}
}
