package strictjson

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

func TestFolds(t *testing.T) {
	fields := []string{"key", "server", "end_user", "id"}
	for name, want := range map[string]string{
		"key": "", "KEY": "key", "Key": "key", "\u212aey": "key", // Kelvin sign
		"ſerver": "server", "SERVER": "server", "serveR": "server", "End_User": "end_user",
		"ID": "id", "ıd": "id", "İD": "id", // dotless i, dotted capital I
		"keys": "", "ke": "", "endUser": "", "end-user": "", "": "", "ſ": "",
	} {
		got, ok := Folds(name, fields)
		if got != want || ok != (want != "") {
			t.Errorf("Folds(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

func TestValue(t *testing.T) {
	for in, want := range map[string]string{
		` { "a" : "n\u0061me\/x", "b" : [ 1.50e3 , -0, 12345678901234567890123 ] } `: `{"a":"name/x","b":[1.50e3,-0,12345678901234567890123]}`,
		`"\u00e9\u2028<>&"`: "\"\u00e9\u2028<>&\"",
		"\t[]\n":            `[]`,
	} {
		v, err := Value([]byte(in))
		if err != nil || string(v) != want {
			t.Errorf("Value(%q) = %s, %v; want %s", in, v, err, want)
		}
	}
	for in, want := range map[string]string{
		`{"a":1} {"a":2}`:               "data after the first JSON value at offset 8",
		`{"a":{"b":1,"b":2}}`:           `a: duplicate name "b" at offset 12`,
		"{\"a\":\"\xe9\"}":              "invalid UTF-8 at offset 6",
		`{"a":"\udfff"}`:                "a: invalid Unicode",
		`{"a":}`:                        "a: invalid JSON",
		`{"a":1`:                        "the JSON value ends early at offset 6",
		`[1,2]]`:                        "data after the first JSON value at offset 5",
		`{"a":[{"x":1},{"x":1,"x":2}]}`: `a.1: duplicate name "x"`,
	} {
		_, err := Value([]byte(in))
		var se *Error
		if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
			t.Errorf("Value(%q): %v; want %q", in, err, want)
		}
	}
}

func TestMembers(t *testing.T) {
	var names []string
	err := Members(jsontext.Value(`{"name":"x","Arguments":{"NAME":1},"other":2}`), "/params", []string{"name"}, func(n string, v jsontext.Value) error {
		names = append(names, n+"="+string(v))
		return nil
	})
	if err != nil || strings.Join(names, " ") != `name="x" Arguments={"NAME":1} other=2` {
		t.Errorf("%v %v", names, err)
	}
	err = Members(jsontext.Value(`{"name":"x","NAME":"y"}`), "/params", []string{"name"}, func(string, jsontext.Value) error { return nil })
	if err == nil || err.Error() != `params: name "NAME" differs from "name" only by case` {
		t.Errorf("%v", err)
	}
	err = Members(jsontext.Value(`[1]`), "/0", nil, func(string, jsontext.Value) error { return nil })
	if err == nil || err.Error() != "0: want a JSON object, got an array" {
		t.Errorf("%v", err)
	}
}

func TestUnmarshal(t *testing.T) {
	type req struct {
		Key  string `json:"key"`
		Tool string `json:"tool"`
	}
	var r req
	if err := Unmarshal([]byte(`{"key":"a","tool":null}`), &r, "key", "tool"); err != nil || r != (req{Key: "a"}) {
		t.Errorf("%+v %v", r, err)
	}
	for in, want := range map[string]string{
		`{"key":"a","KEY":"b"}`:   `name "KEY" differs from "key" only by case`,
		`{"key":"a","other":"b"}`: `unknown name "other"`,
		`{"key":"a","key":"b"}`:   `duplicate name "key"`,
		`{"key":"a"}{}`:           "data after the first JSON value at offset 11",
		`{"key":1}`:               "key: want a string, got a number",
		`[]`:                      "want an object, got an array",
	} {
		var r req
		err := Unmarshal([]byte(in), &r, "key", "tool")
		var se *Error
		if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
			t.Errorf("Unmarshal(%q): %v; want %q", in, err, want)
		}
	}
}

func TestLastString(t *testing.T) {
	for in, want := range map[string]string{
		`{"key":"a","key":"b"}`:       "b",
		`{"KEY":"a"}`:                 "",
		`{"key":"a","x":{"key":"c"}}`: "a",
		"{\"key\":\"\xff\"} trailing": "\ufffd",
		`{"key":1}`:                   "",
		`[{"key":"a"}]`:               "",
	} {
		if got, _ := LastString([]byte(in), "key"); got != want {
			t.Errorf("LastString(%q) = %q, want %q", in, got, want)
		}
	}
}

// ValueMangled re-encodes strings that are not valid Unicode as U+FFFD and keeps every other rule.
func TestValueMangled(t *testing.T) {
	for in, want := range map[string]string{
		`{"t":"cut \ud83d"}`:     "{\"t\":\"cut \uFFFD\"}",
		"{\"t\":\"a\xffb\"}":     "{\"t\":\"a\uFFFDb\"}",
		`{"t" : "\ud83d\ude00"}`: "{\"t\":\"\U0001F600\"}",
	} {
		got, err := ValueMangled([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("ValueMangled(%q) = %q, %v; want %q", in, got, err, want)
		}
		if _, err := Value([]byte(in)); err == nil && in != `{"t" : "\ud83d\ude00"}` {
			t.Errorf("Value(%q) read it", in)
		}
	}
	for _, in := range []string{`{"a":1,"a":2}`, `{"a":1} {}`, `{"a":`} {
		if _, err := ValueMangled([]byte(in)); err == nil {
			t.Errorf("ValueMangled(%q) read it", in)
		}
	}
}
