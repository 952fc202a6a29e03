package models

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ParseDocument reads a policy document (YAML, or JSON since JSON is YAML) into a Document. It
// checks syntax, types and field names only; Validate checks meaning, and LoadDocument does both.
//
// Errors are Problems with a path for every problem found (every unknown field, every value of
// the wrong type), not just the first. When the text could be read as a mapping but some values
// were wrong, the partly decoded document is returned together with the Problems, so a caller
// can still show or validate it; when it could not be read at all (syntax error, empty input,
// not a mapping) the document is nil.
//
// Empty lists and empty `tools` maps decode to nil. A present `mcp` mapping always decodes to a
// non-nil *MCPPermission, even when empty (`mcp: {}` means "no MCP access"); an absent one stays
// nil ("does not restrict"). `mcp: null` is reported, since it is unclear which was meant.
// A tool's input_schema may be written as a YAML mapping (a JSON Schema object) or as a string of
// JSON; either way it is stored as compact JSON text (see CanonicalJSON).
func ParseDocument(data []byte) (doc *Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, Problems{{Message: fmt.Sprintf("internal error reading the document: %v", r)}}
		}
	}()
	var probs Problems
	root := readRoot(data, &probs)
	if root == nil {
		return nil, probs
	}
	dc := &decoder{budget: 10*countNodes(root) + 10000}
	var d Document
	dc.decode(root, reflect.ValueOf(&d).Elem(), "")
	if dc.exhausted {
		return nil, append(probs, dc.probs...)
	}
	// Problems found in the mapping come before those about the file as a whole (a second
	// document), which readRoot collected.
	probs = append(dc.probs, probs...)
	if len(probs) > 0 {
		d.nameProblems(probs)
		return &d, probs
	}
	return &d, nil
}

// LoadDocument parses and validates a document. Its error is Problems holding every problem
// found: the parse problems first (in file order), then the validation problems (in document
// order). Validation is skipped only when the text could not be decoded at all; validation
// problems at or under a path that already has a parse problem are left out, as they would only
// repeat it. The document is returned whenever it could be decoded, even with problems, so a
// caller can show it next to them; a caller that only wants good documents checks the error.
func LoadDocument(data []byte) (*Document, error) {
	d, err := ParseDocument(data)
	if d == nil {
		return nil, err
	}
	var probs Problems
	if err != nil {
		if !errors.As(err, &probs) {
			return nil, err
		}
		probs = append(Problems(nil), probs...)
	}
	parsed := len(probs)
	for _, vp := range d.Validate() {
		if !coveredBy(vp.Path, probs[:parsed]) {
			probs = append(probs, vp)
		}
	}
	if len(probs) > 0 {
		return d, probs
	}
	return d, nil
}

// coveredBy reports whether path is one of the problems' paths or lies under one.
func coveredBy(path string, probs Problems) bool {
	for _, p := range probs {
		if p.Path == "" {
			continue
		}
		if path == p.Path || (strings.HasPrefix(path, p.Path) && (path[len(p.Path)] == '.' || path[len(p.Path)] == '[')) {
			return true
		}
	}
	return false
}

// EncodeDocument writes d as YAML: a normalized copy (sorted, de-duplicated; d itself is not
// changed), indented by two spaces, starting with `version: 1`. Short lists and small mappings
// are written in flow style, input schemas that are JSON objects as YAML mappings.
// ParseDocument(EncodeDocument(d)) equals the normalized d.
func EncodeDocument(d *Document) ([]byte, error) {
	if d == nil {
		return nil, Errorf(EInvalid, "no document to encode")
	}
	c := d.Clone()
	c.Normalize()
	root := encodeValue(reflect.ValueOf(c).Elem())
	compactStyle(root, 0)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encoding the document: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the document: %w", err)
	}
	return buf.Bytes(), nil
}

// ---------------------------------------------------------------------------------------------
// Reading

// readRoot parses the text and returns its top mapping, or nil after adding a problem.
func readRoot(data []byte, probs *Problems) *yaml.Node {
	if len(bytes.TrimSpace(data)) == 0 {
		probs.add("", "the document is empty; it needs at least `version: 1`")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			probs.add("", "the document is empty; it needs at least `version: 1`")
		} else {
			probs.add("", "%s", syntaxMessage(data, err))
		}
		return nil
	}
	n := &doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			probs.add("", "the document is empty; it needs at least `version: 1`")
			return nil
		}
		n = n.Content[0]
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		if isNull(n) {
			probs.add("", "the document is empty; it needs at least `version: 1`")
		} else {
			probs.add("", "line %d: the document must be a mapping (version, servers, ...), got %s", n.Line, describe(n))
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		probs.add("", "%s", syntaxMessage(data, err))
	case len(extra.Content) > 0 && !isNull(extra.Content[0]):
		probs.add("", "line %d: a second YAML document follows the first; a policy file holds exactly one", extra.Line)
	}
	return n
}

// yamlMessage turns a YAML library error into problem text such as `line 3: did not find
// expected key`.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, ch := range n.Content {
		c += countNodes(ch)
	}
	return c
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's value for a type error: `a mapping`, `a list`, `"abc"`, `nothing`.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			if n.Value == "" {
				return "nothing"
			}
			return "null"
		}
		v := n.Value
		if r := []rune(v); len(r) > 40 {
			v = string(r[:40]) + "..."
		}
		return strconv.Quote(v)
	}
	return "an alias"
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func fieldPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// keyPath is the path of a map entry: `tools.github`, or `tools["odd key"]` when the key is not
// a plain word.
func keyPath(path, key string) string {
	if plainKey.MatchString(key) {
		return fieldPath(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}

var (
	toolDocType = reflect.TypeOf(ToolDoc{})
	fieldCache  sync.Map // reflect.Type -> map[string]int
)

// fieldsOf maps a struct's yaml names to field indexes.
func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
	}
	fieldCache.Store(t, m)
	return m
}

// decoder walks a yaml.Node tree against the document's Go types, so it can report every
// problem with its path instead of stopping at the first.
type decoder struct {
	probs     Problems
	budget    int // node visits left; aliases can make a small text expand enormously
	exhausted bool
}

func (dc *decoder) spend() bool {
	if dc.exhausted {
		return false
	}
	dc.budget--
	if dc.budget < 0 {
		dc.exhausted = true
		dc.probs.add("", "the document expands too much through aliases")
		return false
	}
	return true
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 1000; i++ {
		n = n.Alias
	}
	return n
}

func (dc *decoder) typeError(path, want string, n *yaml.Node) {
	dc.probs.add(path, "expected %s, got %s", want, describe(n))
}

// decode fills v from n.
func (dc *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !dc.spend() {
		return
	}
	n = deref(n)
	if n.Kind == yaml.AliasNode {
		dc.probs.add(path, "line %d: alias to an unknown anchor", n.Line)
		return
	}
	if v.Type() == toolDocType {
		dc.tool(n, v.Addr().Interface().(*ToolDoc), path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			dc.typeError(path, "a mapping", n)
			return
		}
		fields := fieldsOf(v.Type())
		for _, p := range dc.pairs(n, path) {
			fp := fieldPath(path, p.key)
			i, ok := fields[p.key]
			if !ok {
				dc.probs.add(fp, "unknown field %q", p.key)
				continue
			}
			dc.decode(p.val, v.Field(i), fp)
		}
	case reflect.Pointer:
		if isNull(n) {
			dc.probs.add(path, "null is ambiguous here: leave the key out for \"does not restrict\", or write {} for \"no MCP access\"")
			return
		}
		if n.Kind != yaml.MappingNode {
			dc.typeError(path, "a mapping", n)
			return
		}
		p := reflect.New(v.Type().Elem())
		dc.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			dc.typeError(path, "a list", n)
			return
		}
		if len(n.Content) == 0 {
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			dc.decode(item, s.Index(i), indexPath(path, i))
		}
		v.Set(s)
	case reflect.Map:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			dc.typeError(path, "a mapping", n)
			return
		}
		pairs := dc.pairs(n, path)
		if len(pairs) == 0 {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(pairs))
		for _, p := range pairs {
			e := reflect.New(v.Type().Elem()).Elem()
			dc.decode(p.val, e, keyPath(path, p.key))
			m.SetMapIndex(reflect.ValueOf(p.key).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			dc.typeError(path, "a string", n)
			return
		}
		var s string
		if err := n.Decode(&s); err != nil {
			dc.probs.add(path, "%s", yamlMessage(err))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || isNull(n) || n.Decode(&b) != nil {
			dc.typeError(path, "true or false", n)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			dc.typeError(path, "an integer", n)
			return
		}
		v.SetInt(i)
	default:
		panic(fmt.Sprintf("models: no decoder for %s", v.Type()))
	}
}

// tool decodes a catalogue entry: a bare name or a mapping with name, description and
// input_schema.
func (dc *decoder) tool(n *yaml.Node, t *ToolDoc, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		dc.decode(n, reflect.ValueOf(&t.Name).Elem(), path)
	case yaml.MappingNode:
		for _, p := range dc.pairs(n, path) {
			fp := fieldPath(path, p.key)
			switch p.key {
			case "name":
				dc.decode(p.val, reflect.ValueOf(&t.Name).Elem(), fp)
			case "description":
				dc.decode(p.val, reflect.ValueOf(&t.Description).Elem(), fp)
			case "input_schema":
				t.InputSchema = dc.schema(p.val, fp)
			default:
				dc.probs.add(fp, "unknown field %q", p.key)
			}
		}
	default:
		dc.typeError(path, "a tool name or a mapping with name, description and input_schema", n)
	}
}

// decodeTool reads one catalogue entry on its own, for ToolDoc.UnmarshalYAML.
func decodeTool(n *yaml.Node, t *ToolDoc) error {
	dc := &decoder{budget: 10*countNodes(n) + 10000}
	var tool ToolDoc
	dc.tool(deref(n), &tool, "")
	if len(dc.probs) > 0 {
		return dc.probs
	}
	*t = tool
	return nil
}

type pair struct {
	key string
	val *yaml.Node
}

// pairs lists a mapping's entries, applying merge keys (`<<: *base`; explicit keys win) and
// reporting duplicate and non-string keys.
func (dc *decoder) pairs(n *yaml.Node, path string) []pair {
	if !dc.spend() {
		return nil
	}
	var out, merged []pair
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merged = append(merged, dc.mergeSources(v, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			dc.probs.add(path, "line %d: expected a name as key, got %s", k.Line, describe(k))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			dc.probs.add(keyPath(path, k.Value), "duplicate key %q (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k.Value, v})
	}
	for _, p := range merged {
		if _, dup := seen[p.key]; !dup {
			seen[p.key] = 0
			out = append(out, p)
		}
	}
	return out
}

func (dc *decoder) mergeSources(v *yaml.Node, path string) []pair {
	v = deref(v)
	switch v.Kind {
	case yaml.MappingNode:
		return dc.pairs(v, path)
	case yaml.SequenceNode:
		var out []pair
		for _, item := range v.Content {
			item = deref(item)
			if item.Kind != yaml.MappingNode {
				dc.probs.add(path, "line %d: a merge (<<) takes a mapping or a list of mappings, got %s", item.Line, describe(item))
				continue
			}
			out = append(out, dc.pairs(item, path)...)
		}
		return out
	}
	dc.probs.add(path, "line %d: a merge (<<) takes a mapping or a list of mappings, got %s", v.Line, describe(v))
	return nil
}

// schema reads an input_schema: a mapping or list becomes JSON; a string is taken as JSON text
// and made compact when it is valid JSON (Validate reports it otherwise).
func (dc *decoder) schema(n *yaml.Node, path string) string {
	n = deref(n)
	switch n.Kind {
	case yaml.ScalarNode:
		var s string
		dc.decode(n, reflect.ValueOf(&s).Elem(), path)
		return normalizeSchema(s)
	case yaml.MappingNode, yaml.SequenceNode:
		var b bytes.Buffer
		if dc.toJSON(n, &b, path, map[*yaml.Node]bool{}) {
			return b.String()
		}
		return ""
	}
	dc.typeError(path, "a JSON schema (a mapping, or a string of JSON)", n)
	return ""
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// toJSON writes a YAML node as canonical JSON (see CanonicalJSON), keeping the key order.
func (dc *decoder) toJSON(n *yaml.Node, b *bytes.Buffer, path string, stack map[*yaml.Node]bool) bool {
	if !dc.spend() {
		return false
	}
	n = deref(n)
	if stack[n] {
		dc.probs.add(path, "line %d: the value contains itself through an alias", n.Line)
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		stack[n] = true
		defer delete(stack, n)
		b.WriteByte('{')
		for i, p := range dc.pairs(n, path) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, p.key)
			b.WriteByte(':')
			if !dc.toJSON(p.val, b, keyPath(path, p.key), stack) {
				return false
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		stack[n] = true
		defer delete(stack, n)
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if !dc.toJSON(item, b, indexPath(path, i), stack) {
				return false
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			b.WriteString("null")
		case "!!bool":
			var v bool
			if err := n.Decode(&v); err != nil {
				dc.probs.add(path, "%s", yamlMessage(err))
				return false
			}
			b.WriteString(strconv.FormatBool(v))
		case "!!int", "!!float":
			if jsonNumber.MatchString(n.Value) {
				b.WriteString(n.Value)
				break
			}
			var v any
			if err := n.Decode(&v); err != nil {
				dc.probs.add(path, "%s", yamlMessage(err))
				return false
			}
			switch v := v.(type) {
			case int:
				b.WriteString(strconv.Itoa(v))
			case int64:
				b.WriteString(strconv.FormatInt(v, 10))
			case uint64:
				b.WriteString(strconv.FormatUint(v, 10))
			case float64:
				if math.IsInf(v, 0) || math.IsNaN(v) {
					dc.probs.add(path, "%q is not a JSON number", n.Value)
					return false
				}
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			default:
				dc.probs.add(path, "%q is not a JSON number", n.Value)
				return false
			}
		default:
			writeJSONString(b, n.Value)
		}
	default:
		dc.probs.add(path, "line %d: alias to an unknown anchor", n.Line)
		return false
	}
	return true
}

// ---------------------------------------------------------------------------------------------
// JSON text

// CanonicalJSON re-writes JSON text compactly and canonically: no insignificant space, object
// keys in their original order, numbers exactly as written, strings escaped the way
// encoding/json escapes them (without HTML escaping). It fails on invalid JSON and on objects with
// a repeated key. Input schemas are stored in this form, which is what lets a schema written as a
// YAML mapping and one written as a JSON string compare equal and round-trip unchanged.
func CanonicalJSON(text string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var b bytes.Buffer
	if err := canonValue(dec, &b, 0); err != nil {
		return "", err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("unexpected data after the JSON value")
	}
	return b.String(), nil
}

// normalizeSchema returns the canonical form of a schema, or the text unchanged when it is not
// valid JSON (so Validate can still point at it).
func normalizeSchema(s string) string {
	if c, err := CanonicalJSON(s); err == nil {
		return c
	}
	return s
}

// jsonToken is dec.Token, reporting the end of the input inside a value plainly.
func jsonToken(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = errors.New("unexpected end of JSON input")
	}
	return tok, err
}

func canonValue(dec *json.Decoder, b *bytes.Buffer, depth int) error {
	if depth > 1000 {
		return errors.New("JSON nested too deeply")
	}
	tok, err := jsonToken(dec)
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			b.WriteByte('{')
			seen := map[string]bool{}
			for i := 0; dec.More(); i++ {
				kt, err := jsonToken(dec)
				if err != nil {
					return err
				}
				k, ok := kt.(string)
				if !ok {
					return errors.New("invalid JSON object key")
				}
				if seen[k] {
					return fmt.Errorf("key %q appears twice in one object", k)
				}
				seen[k] = true
				if i > 0 {
					b.WriteByte(',')
				}
				writeJSONString(b, k)
				b.WriteByte(':')
				if err := canonValue(dec, b, depth+1); err != nil {
					return err
				}
			}
			if _, err := jsonToken(dec); err != nil {
				return err
			}
			b.WriteByte('}')
		case '[':
			b.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := canonValue(dec, b, depth+1); err != nil {
					return err
				}
			}
			if _, err := jsonToken(dec); err != nil {
				return err
			}
			b.WriteByte(']')
		default:
			return fmt.Errorf("unexpected %q in JSON", t.String())
		}
	case string:
		writeJSONString(b, t)
	case json.Number:
		b.WriteString(t.String())
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case nil:
		b.WriteString("null")
	default:
		return fmt.Errorf("unexpected JSON token %v", t)
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}

// jsonToNode turns canonical JSON text into YAML nodes, keeping key order.
func jsonToNode(text string) (*yaml.Node, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	return jsonNode(dec)
}

func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		kind := yaml.MappingNode
		if t == '[' {
			kind = yaml.SequenceNode
		}
		n := &yaml.Node{Kind: kind}
		for dec.More() {
			if kind == yaml.MappingNode {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				n.Content = append(n.Content, strNode(k))
			}
			v, err := jsonNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return n, nil
	case string:
		return strNode(t), nil
	case json.Number:
		n := &yaml.Node{Kind: yaml.ScalarNode, Value: t.String()}
		if tag := n.ShortTag(); tag != "!!int" && tag != "!!float" {
			n.Tag = "!!float" // e.g. 1e400, which YAML would otherwise read as a string
		}
		return n, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatBool(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// ---------------------------------------------------------------------------------------------
// Writing

// encodeValue turns a document value into YAML nodes, mirroring the decoder: fields in struct
// order, `omitempty` fields left out when empty (a nil *MCPPermission is left out, an empty one is
// written as {}), map keys sorted. Building the nodes here rather than with yaml.Node.Encode lets
// every string get a style that reads back exactly (see strNode).
func encodeValue(v reflect.Value) *yaml.Node {
	if v.Type() == toolDocType {
		return encodeTool(v.Interface().(ToolDoc))
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		return encodeValue(v.Elem())
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fv := v.Field(i)
			if strings.Contains(","+opts+",", ",omitempty,") && isEmptyValue(fv) {
				continue
			}
			n.Content = append(n.Content, strNode(name), encodeValue(fv))
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for i := 0; i < v.Len(); i++ {
			n.Content = append(n.Content, encodeValue(v.Index(i)))
		}
		return n
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			n.Content = append(n.Content, strNode(k.String()), encodeValue(v.MapIndex(k)))
		}
		return n
	case reflect.String:
		return strNode(v.String())
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}
	case reflect.Int, reflect.Int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}
	}
	panic(fmt.Sprintf("models: no encoder for %s", v.Type()))
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer:
		return v.IsNil()
	case reflect.Slice, reflect.Map, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int64:
		return v.Int() == 0
	}
	return false
}

// encodeTool writes a bare name when the tool carries nothing else, and otherwise a mapping whose
// input_schema is a YAML mapping when it holds a canonical JSON object or array.
func encodeTool(t ToolDoc) *yaml.Node {
	if t.Description == "" && t.InputSchema == "" {
		return strNode(t.Name)
	}
	n := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{strNode("name"), strNode(t.Name)}}
	if t.Description != "" {
		n.Content = append(n.Content, strNode("description"), strNode(t.Description))
	}
	if t.InputSchema != "" {
		schema := strNode(t.InputSchema)
		if c, err := CanonicalJSON(t.InputSchema); err == nil && c == t.InputSchema && (c[0] == '{' || c[0] == '[') {
			if sn, err := jsonToNode(c); err == nil {
				schema = sn
			}
		}
		n.Content = append(n.Content, strNode("input_schema"), schema)
	}
	return n
}

// strNode is a string scalar styled so that it reads back unchanged: text that is not UTF-8 as
// !!binary, multi-line text as a literal block when that is safe and double-quoted otherwise
// (the YAML library mis-writes literal blocks that start with a space or a line break), and
// everything else in whatever style the emitter picks (it quotes values such as "true" or "1").
func strNode(s string) *yaml.Node {
	if !utf8.ValidString(s) {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!binary", Value: base64.StdEncoding.EncodeToString([]byte(s))}
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.ContainsAny(s, "\n\r\u0085\u2028\u2029") {
		if literalSafe(s) {
			n.Style = yaml.LiteralStyle
		} else {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	return n
}

// literalSafe reports whether s can be written as a literal block scalar and read back as is.
func literalSafe(s string) bool {
	if s == "" || s[0] == ' ' || s[0] == '\n' {
		return false
	}
	for _, r := range s {
		if r != '\n' && (!unicode.IsPrint(r) || r == '\u00a0') {
			return false
		}
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasSuffix(line, " ") || strings.HasPrefix(line, " ") {
			return false
		}
	}
	return true
}

const flowWidth = 72

// compactStyle writes short lists of scalars and small mappings in flow style (`[a, b]`,
// `{name: ci-bot, team: platform}`), the way people write policy files by hand. The top mapping
// stays in block style.
func compactStyle(n *yaml.Node, depth int) {
	for _, c := range n.Content {
		compactStyle(c, depth+1)
	}
	if depth > 0 && (n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode) {
		if w, ok := flowLen(n); ok && w <= flowWidth {
			n.Style = yaml.FlowStyle
		}
	}
}

// flowLen estimates the width of n in flow style; ok is false when n cannot be or should not be
// in flow style: a multi-line string, a list holding anything but strings, a mapping holding a
// collection that is itself in block style.
func flowLen(n *yaml.Node) (int, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || strings.ContainsAny(n.Value, "\n\r") {
			return 0, false
		}
		return len(n.Value) + 2, true
	case yaml.SequenceNode, yaml.MappingNode:
		w := 2
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode && (n.Kind == yaml.SequenceNode || c.Style&yaml.FlowStyle == 0) {
				return 0, false
			}
			cw, ok := flowLen(c)
			if !ok {
				return 0, false
			}
			w += cw + 2
		}
		return w, true
	}
	return 0, false
}
