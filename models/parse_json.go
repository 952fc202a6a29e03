package models

import (
	"bytes"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"go.yaml.in/yaml/v3"
)

// parseJSONFast reads a document written as JSON without the YAML library, for speed: a
// 100,000-key document is ~15 MB of JSON, which the YAML parser turns into millions of nodes
// (seconds and hundreds of megabytes) before the decoder walks them.
//
// It is a shortcut, not a second parser: it succeeds only for input that ParseDocument would
// read, through the YAML path, to the same Document with no problem at all, and it gives up
// (ok false) on anything else, leaving the YAML path to decode it and word every problem. So it
// is deliberately conservative: it declines any character YAML reads differently from JSON
// (NEL, U+2028, U+2029, the byte order mark, characters YAML refuses), escapes YAML refuses
// (\\/, surrogate pairs), tabs and lone carriage returns, keys too long or split from their colon
// for YAML's implicit keys, null, numbers anywhere but an integer field, unknown or repeated
// fields, and deep nesting. FuzzJSONFastPath holds it to that promise.
func parseJSONFast(data []byte) (doc *Document, ok bool) {
	if !jsonFastEligible(data) {
		return nil, false
	}
	jd := &jsonDecoder{data: data, dec: jsontext.NewDecoder(bytes.NewReader(data))}
	var d Document
	if !jd.decode(reflect.ValueOf(&d).Elem(), 0) {
		return nil, false
	}
	// Exactly one value: anything after it (a second document, stray text) is the YAML
	// path's to report.
	if _, err := jd.dec.ReadToken(); err != io.EOF {
		return nil, false
	}
	return &d, true
}

// yamlRefusedEscape finds the JSON escapes YAML refuses: \/ and \u escapes of UTF-16
// surrogates (which JSON pairs up). An escaped backslash before either text matches too, which
// only sends such a document down the YAML path.
var yamlRefusedEscape = regexp.MustCompile(`\\(/|u[dD][89abAB])`)

// jsonFastEligible reports whether data is a JSON object whose every character YAML reads as
// JSON does (see parseJSONFast).
func jsonFastEligible(data []byte) bool {
	start := bytes.TrimLeft(data, " \n\r")
	if len(start) == 0 || start[0] != '{' {
		return false
	}
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\r' && (i+1 == len(data) || data[i+1] != '\n'):
				return false
			case c < 0x20 && c != '\n' && c != '\r', c == 0x7f:
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return false
		case r == 0xFEFF, r == 0x2028, r == 0x2029:
			return false
		case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false // C1 controls (NEL among them), non-characters
		}
		i += size
	}
	return !yamlRefusedEscape.Match(data)
}

// maxFastDepth bounds nesting on the fast path; deeper documents take the YAML path.
const maxFastDepth = 64

// maxFastKey bounds the bytes from a key's opening quote to its colon: YAML gives up on an
// implicit key longer than 1024 characters.
const maxFastKey = 512

type jsonDecoder struct {
	data []byte
	dec  *jsontext.Decoder
}

// decode reads one value into v, mirroring decoder.decode for the inputs it accepts.
func (jd *jsonDecoder) decode(v reflect.Value, depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	if v.Type() == toolDocType {
		return jd.tool(v.Addr().Interface().(*ToolDoc), depth)
	}
	switch v.Kind() {
	case reflect.Struct:
		fields := fieldsOf(v.Type())
		return jd.object(func(name string) bool {
			i, ok := fields[name]
			return ok && jd.decode(v.Field(i), depth+1)
		})
	case reflect.Pointer:
		if jd.dec.PeekKind() != '{' {
			return false
		}
		p := reflect.New(v.Type().Elem())
		if !jd.decode(p.Elem(), depth) {
			return false
		}
		v.Set(p)
		return true
	case reflect.Slice:
		if jd.dec.PeekKind() != '[' {
			return false
		}
		s := reflect.New(v.Type()).Elem()
		if !jd.array(func() bool {
			n := s.Len()
			s.Grow(1)
			s.SetLen(n + 1)
			return jd.decode(s.Index(n), depth+1)
		}) {
			return false
		}
		if s.Len() > 0 {
			v.Set(s)
		}
		return true
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return false
		}
		m := reflect.MakeMap(v.Type())
		if !jd.object(func(name string) bool {
			e := reflect.New(v.Type().Elem()).Elem()
			if !jd.decode(e, depth+1) {
				return false
			}
			m.SetMapIndex(reflect.ValueOf(name).Convert(v.Type().Key()), e)
			return true
		}) {
			return false
		}
		if m.Len() > 0 {
			v.Set(m)
		}
		return true
	case reflect.String:
		s, ok := jd.str()
		if ok {
			v.SetString(s)
		}
		return ok
	case reflect.Bool:
		tok, err := jd.dec.ReadToken()
		if err != nil || (tok.Kind() != 't' && tok.Kind() != 'f') {
			return false
		}
		v.SetBool(tok.Bool())
		return true
	case reflect.Int, reflect.Int64:
		tok, err := jd.dec.ReadToken()
		if err != nil || tok.Kind() != '0' {
			return false
		}
		// Only what YAML resolves to !!int and reads back as the same number.
		text := tok.String()
		if len(text) > 18 || !plainInt.MatchString(text) {
			return false
		}
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil || v.OverflowInt(i) {
			return false
		}
		v.SetInt(i)
		return true
	}
	return false
}

var plainInt = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

func (jd *jsonDecoder) str() (string, bool) {
	tok, err := jd.dec.ReadToken()
	if err != nil || tok.Kind() != '"' {
		return "", false
	}
	return tok.String(), true
}

// object reads an object, calling member for each name with the decoder before its value.
func (jd *jsonDecoder) object(member func(name string) bool) bool {
	tok, err := jd.dec.ReadToken()
	if err != nil || tok.Kind() != '{' {
		return false
	}
	for jd.dec.PeekKind() != '}' {
		start := jd.keyStart()
		tok, err := jd.dec.ReadToken()
		if err != nil || tok.Kind() != '"' || !jd.keyFitsYAML(start) {
			return false
		}
		if !member(tok.String()) {
			return false
		}
	}
	_, err = jd.dec.ReadToken()
	return err == nil
}

// keyStart is the offset of the next key's opening quote.
func (jd *jsonDecoder) keyStart() int {
	i := int(jd.dec.InputOffset())
	for i < len(jd.data) && (jd.data[i] == ' ' || jd.data[i] == '\n' || jd.data[i] == '\r' || jd.data[i] == ',') {
		i++
	}
	return i
}

// keyFitsYAML reports whether the key just read, which started at start, is one YAML takes as
// an implicit key: its colon on the same line and close enough.
func (jd *jsonDecoder) keyFitsYAML(start int) bool {
	i := int(jd.dec.InputOffset())
	for i < len(jd.data) && jd.data[i] == ' ' {
		i++
	}
	return i < len(jd.data) && jd.data[i] == ':' && i-start <= maxFastKey
}

func (jd *jsonDecoder) array(item func() bool) bool {
	tok, err := jd.dec.ReadToken()
	if err != nil || tok.Kind() != '[' {
		return false
	}
	for jd.dec.PeekKind() != ']' {
		if jd.dec.PeekKind() == 0 || !item() {
			return false
		}
	}
	_, err = jd.dec.ReadToken()
	return err == nil
}

// tool reads a catalogue entry as decoder.tool does: a bare name, or an object of name,
// description and input_schema.
func (jd *jsonDecoder) tool(t *ToolDoc, depth int) bool {
	switch jd.dec.PeekKind() {
	case '"':
		s, ok := jd.str()
		t.Name = s
		return ok
	case '{':
		return jd.object(func(name string) bool {
			var ok bool
			switch name {
			case "name":
				t.Name, ok = jd.str()
			case "description":
				t.Description, ok = jd.str()
			case "input_schema":
				t.InputSchema, ok = jd.schema(depth + 1)
			}
			return ok
		})
	}
	return false
}

// schema reads an input_schema as decoder.schema does: a string is JSON text made canonical,
// an object or array is turned into the YAML nodes the YAML library would have built for it
// and written out by decoder.toJSON itself, so both paths agree on every number and string.
func (jd *jsonDecoder) schema(depth int) (string, bool) {
	switch jd.dec.PeekKind() {
	case '"':
		s, ok := jd.str()
		return normalizeSchema(s), ok
	case '{', '[':
		n, ok := jd.node(depth)
		if !ok {
			return "", false
		}
		dc := &decoder{budget: 10*countNodes(n) + 10000}
		var b bytes.Buffer
		if !dc.toJSON(n, &b, "", map[*yaml.Node]bool{}) || len(dc.probs) > 0 {
			return "", false
		}
		return b.String(), true
	}
	return "", false
}

// node reads one value as the YAML node the YAML library makes of the same JSON text: strings
// are double-quoted scalars, numbers, true, false and null plain ones (their tag resolved by the
// library, as for parsed text).
func (jd *jsonDecoder) node(depth int) (*yaml.Node, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	switch jd.dec.PeekKind() {
	case '{':
		n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		ok := jd.object(func(name string) bool {
			v, ok := jd.node(depth + 1)
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Value: name}, v)
			return ok
		})
		return n, ok
	case '[':
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		ok := jd.array(func() bool {
			v, ok := jd.node(depth + 1)
			n.Content = append(n.Content, v)
			return ok
		})
		return n, ok
	case '"':
		s, ok := jd.str()
		return &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Value: s}, ok
	}
	tok, err := jd.dec.ReadToken()
	if err != nil {
		return nil, false
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: tok.String()}, true
}
