package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
)

// decodeCheck reads a check request: a flat JSON object of string fields, no others. The common
// case (plain strings without escapes) is read in place; anything else (escapes, null, numbers,
// nesting, odd spacing) goes through encoding/json with DisallowUnknownFields, so the two always
// agree (see FuzzDecodeCheck).
func decodeCheck(b []byte) (CheckRequest, error) {
	if r, ok := fastCheck(b); ok {
		return r, nil
	}
	var r CheckRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return CheckRequest{}, err
	}
	if skipSpace(b, int(dec.InputOffset())) != len(b) {
		return CheckRequest{}, errors.New("data after the JSON object")
	}
	return r, nil
}

// fastCheck parses {"k":"v",...} with plain ASCII strings; ok is false for anything else.
func fastCheck(b []byte) (r CheckRequest, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return r, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return r, skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return r, false
		}
		j = skipSpace(b, j)
		if j >= len(b) || b[j] != ':' {
			return r, false
		}
		val, k, ok := plainString(b, skipSpace(b, j+1))
		if !ok {
			return r, false
		}
		switch string(key) {
		case "key":
			r.Key = string(val)
		case "server":
			r.Server = string(val)
		case "tool":
			r.Tool = string(val)
		case "end_user":
			r.EndUser = string(val)
		case "agent":
			r.Agent = string(val)
		default:
			return r, false // unknown (or differently cased) field: let encoding/json say so
		}
		k = skipSpace(b, k)
		if k >= len(b) {
			return r, false
		}
		switch b[k] {
		case ',':
			i = skipSpace(b, k+1)
		case '}':
			return r, skipSpace(b, k+1) == len(b)
		default:
			return r, false
		}
	}
}

// plainString reads a JSON string at b[i] made of printable ASCII without escapes.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
