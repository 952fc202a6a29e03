package models

import (
	"errors"
	"regexp"
	"strconv"

	goccy "github.com/goccy/go-yaml"
	goccyparser "github.com/goccy/go-yaml/parser"
	"go.yaml.in/yaml/v3"
)

var yamlLinePrefix = regexp.MustCompile(`^line (\d+): (.*)$`)

// syntaxMessage is yamlMessage for an error from reading data, with the line of the fault.
//
// The YAML library numbers a syntax error by the start of the block it was reading, not by
// where the fault is (its parser prefers the error's context mark to its problem mark): a
// misindented key on line 900 of a list that starts on line 2 is reported at line 2. A second
// parser, which tracks the position of every token, finds the faulty line; its message is not
// used, so the text stays the YAML library's. When the second parser finds no fault, or one
// before the block the library names (so not the same fault), the library's line stands.
func syntaxMessage(data []byte, err error) string {
	msg := yamlMessage(err)
	if errors.As(err, new(*yaml.TypeError)) {
		return msg
	}
	m := yamlLinePrefix.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	context, _ := strconv.Atoi(m[1])
	_, perr := goccyparser.ParseBytes(data, 0)
	var se *goccy.SyntaxError
	if !errors.As(perr, &se) || se.Token == nil || se.Token.Position == nil {
		return msg
	}
	if line := se.Token.Position.Line; line > context {
		return "line " + strconv.Itoa(line) + ": " + m[2]
	}
	return msg
}
