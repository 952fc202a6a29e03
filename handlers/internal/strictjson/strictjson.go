// Package strictjson is the one way Warden reads a JSON body it decides on: the gateway's
// JSON-RPC messages and the decision API's check requests.
//
// Two readers that disagree about one document are a vulnerability: a gateway checks one value,
// the server behind it uses another. Warden therefore reads every decision input the way the
// strictest reader behind it would, and refuses what any common reader could read differently:
//
//   - exactly one JSON value per body (nothing but whitespace after it);
//   - valid UTF-8 (raw and in escapes);
//   - no object with two members of the same name, at any depth;
//   - member names matched byte for byte, and a member whose name equals a name Warden reads under
//     case folding (Unicode simple folding as encoding/json does it, so "ſ" matches "s" and the
//     Kelvin sign matches "k"; also the Turkish dotted and dotless i) without being byte-equal is
//     refused, since a case-insensitive reader could take it for the field Warden read.
//
// The decoding is github.com/go-json-experiment/json (the basis of encoding/json/v2), which is
// case-sensitive and refuses duplicates and invalid UTF-8 by default; this package adds the
// folding check and errors that say what is wrong and where.
package strictjson

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Error is why a body was refused and where. Names in it are quoted with non-ASCII characters
// escaped, so look-alikes show ("\u017f" is the long s).
type Error struct {
	// Pointer is the JSON value the problem is in, as a JSON Pointer ("" for the body itself).
	Pointer jsontext.Pointer
	// Offset is the byte offset in the body where the problem was found, -1 when not known
	// (problems found after the body was re-encoded).
	Offset int64
	// Problem says what is wrong.
	Problem string
	// Syntax is set when the body is not JSON at all (as opposed to JSON Warden refuses to read).
	Syntax bool
}

// Error reads like `params: duplicate name "name" at offset 57`.
func (e *Error) Error() string {
	var b strings.Builder
	if w := Where(e.Pointer); w != "" {
		b.WriteString(w)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	if e.Offset >= 0 {
		b.WriteString(" at offset ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
	}
	return b.String()
}

// Where renders a JSON Pointer for a person: "/params/name" is "params.name", "/2/params" is
// "2.params", the empty pointer is "".
func Where(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// Value reads b, which must hold exactly one JSON value under the rules of the package (all but
// the name folding, which depends on what is read: see Members), and returns it re-encoded
// minimally: no whitespace, every string in its shortest form ("n\u0061me" becomes "name"),
// numbers exactly as written. What Warden forwards is this re-encoding, so the upstream sees the
// value Warden judged and nothing else.
func Value(b []byte) (jsontext.Value, error) {
	v := jsontext.Value(bytes.Clone(b))
	if err := v.Format(); err != nil {
		return nil, diagnose(b, err)
	}
	return v, nil
}

// ValueMangled is Value for a body from a peer whose strings need not be valid Unicode: invalid
// UTF-8 and lone surrogate escapes ("\ud83d", as JavaScript writes a string cut inside an emoji)
// are re-encoded as U+FFFD instead of refused. Every other rule holds. It suits bodies Warden
// relays but does not decide on: no name Warden compares can match a mangled string.
func ValueMangled(b []byte) (jsontext.Value, error) {
	v := jsontext.Value(bytes.Clone(b))
	if err := v.Format(jsontext.AllowInvalidUTF8(true)); err != nil {
		return nil, diagnose(b, err)
	}
	return v, nil
}

// Members reads the members of the JSON object obj (a value returned by Value, or part of one)
// in order, calling fn with each name and value; the value is only valid during the call. A
// member whose name equals one of fields under case folding without being byte-equal is refused
// before fn sees it. at locates obj in the body, for errors.
func Members(obj jsontext.Value, at jsontext.Pointer, fields []string, fn func(name string, val jsontext.Value) error) error {
	dec := jsontext.NewDecoder(bytes.NewReader(obj))
	tok, err := dec.ReadToken()
	if err != nil {
		return diagnose(obj, err)
	}
	if tok.Kind() != '{' {
		return &Error{Pointer: at, Offset: -1, Problem: "want a JSON object, got " + kindName(tok.Kind())}
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return diagnose(obj, err)
		}
		name := tok.String()
		if f, ok := Folds(name, fields); ok {
			return &Error{Pointer: at, Offset: -1, Problem: fmt.Sprintf("name %+q differs from %q only by case", name, f)}
		}
		val, err := dec.ReadValue()
		if err != nil {
			return diagnose(obj, err)
		}
		if err := fn(name, val); err != nil {
			return err
		}
	}
	return nil
}

// String reads a JSON string value; at locates it, for the error.
func String(val jsontext.Value, at jsontext.Pointer) (string, error) {
	if val.Kind() != '"' {
		return "", &Error{Pointer: at, Offset: -1, Problem: "want a JSON string, got " + kindName(val.Kind())}
	}
	s, err := jsontext.AppendUnquote(nil, val)
	if err != nil {
		return "", &Error{Pointer: at, Offset: -1, Problem: "unreadable string"}
	}
	return string(s), nil
}

// Unmarshal decodes b, which must hold exactly one JSON object, into the struct v points to with
// the package's rules; a member that is not a field of v is refused. fields are the names of v's
// fields, so that a member folding to one of them is reported as such.
func Unmarshal(b []byte, v any, fields ...string) error {
	err := json.Unmarshal(b, v, json.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	var se *json.SemanticError
	if errors.As(err, &se) {
		switch {
		case errors.Is(se.Err, json.ErrUnknownName):
			name := se.JSONPointer.LastToken()
			at := se.JSONPointer.Parent()
			if f, ok := Folds(name, fields); ok {
				return &Error{Pointer: at, Offset: -1, Problem: fmt.Sprintf("name %+q differs from %q only by case", name, f)}
			}
			return &Error{Pointer: at, Offset: -1, Problem: fmt.Sprintf("unknown name %q", name)}
		case se.Err == nil && se.GoType != nil:
			return &Error{Pointer: se.JSONPointer, Offset: se.ByteOffset,
				Problem: fmt.Sprintf("want %s, got %s", goKindName(se.GoType), kindName(se.JSONKind))}
		}
		return &Error{Pointer: se.JSONPointer, Offset: se.ByteOffset, Problem: trimPrefix(se.Error())}
	}
	return diagnose(b, err)
}

// LastString is a lenient reading of b for attribution only, never for a decision: the string
// member name of the top-level object as a reader that keeps the last duplicate would see it
// (invalid UTF-8 replaced). ok is false when there is none.
func LastString(b []byte, name string) (s string, ok bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return "", false
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return s, ok
		}
		if tok.String() == name && dec.PeekKind() == '"' { // tok is read before PeekKind voids it
			v, err := dec.ReadToken()
			if err != nil {
				return s, ok
			}
			s, ok = v.String(), true
			continue
		}
		if err := dec.SkipValue(); err != nil {
			return s, ok
		}
	}
	return s, ok
}

// Folds reports whether name equals one of fields under case folding without being byte-equal,
// and which. Folding is Unicode simple folding (what encoding/json and strings.EqualFold use:
// "ſ" ~ "s", Kelvin sign ~ "k"), and also upper-then-lower casing (what case-insensitive readers
// built on ToUpper, such as .NET's, use: "ı" ~ "i").
func Folds(name string, fields []string) (string, bool) {
	for _, f := range fields {
		if name == f {
			return "", false
		}
	}
	for _, f := range fields {
		if strings.EqualFold(name, f) || upperLowerEqual(name, f) {
			return f, true
		}
	}
	return "", false
}

func upperLowerEqual(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb && unicode.ToLower(unicode.ToUpper(ra)) != unicode.ToLower(unicode.ToUpper(rb)) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b == ""
}

// diagnose turns a decoding error of b into an *Error naming the problem: invalid UTF-8,
// a duplicate name, data after the first value, or a syntax error.
func diagnose(b []byte, err error) *Error {
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, n := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return &Error{Offset: int64(off), Problem: "invalid UTF-8"}
	}
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	_, rerr := dec.ReadValue()
	end := dec.InputOffset()
	if rerr != nil {
		err = rerr
	} else if _, terr := dec.ReadToken(); terr != io.EOF {
		off := end
		for off < int64(len(b)) && strings.IndexByte(" \t\r\n", b[off]) >= 0 {
			off++
		}
		return &Error{Offset: off, Problem: "data after the first JSON value"}
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		if errors.Is(se.Err, jsontext.ErrDuplicateName) {
			return &Error{Pointer: se.JSONPointer.Parent(), Offset: se.ByteOffset,
				Problem: fmt.Sprintf("duplicate name %q", se.JSONPointer.LastToken())}
		}
		if strings.Contains(se.Err.Error(), "surrogate") {
			// Valid JSON syntax, but it does not stand for valid Unicode (as invalid UTF-8 does not).
			return &Error{Pointer: se.JSONPointer, Offset: se.ByteOffset, Problem: "invalid Unicode: " + se.Err.Error()}
		}
		if errors.Is(se.Err, io.ErrUnexpectedEOF) {
			return &Error{Pointer: se.JSONPointer, Offset: se.ByteOffset, Problem: "the JSON value ends early", Syntax: true}
		}
		return &Error{Pointer: se.JSONPointer, Offset: se.ByteOffset, Problem: "invalid JSON: " + se.Err.Error(), Syntax: true}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Offset: int64(len(b)), Problem: "the JSON value ends early", Syntax: true}
	}
	return &Error{Offset: -1, Problem: trimPrefix(err.Error()), Syntax: true}
}

func trimPrefix(s string) string {
	s = strings.TrimPrefix(s, "jsontext: ")
	return strings.TrimPrefix(s, "json: ")
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "nothing"
}

func goKindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "a boolean"
	}
	return "a " + t.Kind().String()
}
