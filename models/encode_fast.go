package models

import (
	"bytes"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// writeSimple writes the top-level mapping {name: seq} (without its first line when continued)
// the way the YAML library's emitter does, for the nodes of ordinary documents: mappings and
// lists in block or flow style whose scalars are names, numbers and booleans that the emitter
// writes plain. It reports false, having written nothing, for anything else, which the emitter
// then writes itself: the emitter keeps every event of an Encode in memory and spends most of
// an export's time doing it, while the layout of such nodes is simple and fixed (two-space
// indentation, lists indented under their key, flow collections on one line). The test
// TestWriteDocumentInChunks holds the two to the same bytes.
func writeSimple(b *bytes.Buffer, name string, seq *yaml.Node, continued bool) bool {
	if !simpleNode(seq) || !plainSafe(name) {
		return false
	}
	if !continued {
		b.WriteString(name)
		b.WriteString(":\n")
	}
	for _, item := range seq.Content {
		blockItem(b, item, 2)
	}
	return true
}

// plainWord is a string the emitter writes plain and unquoted in every context: it starts
// with a letter or _ (so it is no number, time, null or indicator) and holds no character the
// emitter treats specially. Words YAML reads as booleans or null are left out below.
var plainWord = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.@/-]*$`)

func plainSafe(s string) bool {
	if len(s) > 100 || !plainWord.MatchString(s) {
		return false
	}
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF",
		"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL":
		return false
	}
	return true
}

// simpleNode reports whether writeSimple can write n and everything under it.
func simpleNode(n *yaml.Node) bool {
	if n.Anchor != "" || n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" {
		return false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return n.Style == 0 && plainSafe(n.Value)
		case "!!bool":
			return n.Style == 0 && (n.Value == "true" || n.Value == "false")
		case "!!int":
			return n.Style == 0 && plainInt.MatchString(n.Value)
		}
		return false
	case yaml.MappingNode:
		if n.Style != 0 && n.Style != yaml.FlowStyle || len(n.Content)%2 != 0 {
			return false
		}
		for i := 0; i < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || !simpleNode(k) || !simpleNode(v) {
				return false
			}
			// A block collection under a flow one, or an empty block one, is laid out
			// otherwise; compactStyle makes neither.
			if n.Style == yaml.FlowStyle && v.Kind != yaml.ScalarNode && v.Style != yaml.FlowStyle {
				return false
			}
			if v.Kind != yaml.ScalarNode && v.Style != yaml.FlowStyle && len(v.Content) == 0 {
				return false
			}
		}
		return true
	case yaml.SequenceNode:
		if n.Style != 0 && n.Style != yaml.FlowStyle {
			return false
		}
		for _, c := range n.Content {
			if !simpleNode(c) {
				return false
			}
			switch {
			case c.Kind == yaml.SequenceNode && n.Style != yaml.FlowStyle && c.Style != yaml.FlowStyle:
				return false // a block list in a block list ("- - x")
			case c.Kind != yaml.ScalarNode && n.Style == yaml.FlowStyle && c.Style != yaml.FlowStyle:
				return false
			case c.Kind != yaml.ScalarNode && c.Style != yaml.FlowStyle && len(c.Content) == 0:
				return false
			}
		}
		return true
	}
	return false
}

func indent(b *bytes.Buffer, n int) {
	for ; n > 0; n-- {
		b.WriteByte(' ')
	}
}

// blockItem writes a block list entry whose dash is at column at.
func blockItem(b *bytes.Buffer, n *yaml.Node, at int) {
	indent(b, at)
	b.WriteString("- ")
	if n.Kind == yaml.MappingNode && n.Style != yaml.FlowStyle {
		blockPairs(b, n, at+2, true)
		return
	}
	flow(b, n)
	b.WriteByte('\n')
}

// blockPairs writes a block mapping's entries at column at; the first follows a list dash
// already written when inline.
func blockPairs(b *bytes.Buffer, n *yaml.Node, at int, inline bool) {
	for i := 0; i < len(n.Content); i += 2 {
		if i > 0 || !inline {
			indent(b, at)
		}
		k, v := n.Content[i], n.Content[i+1]
		b.WriteString(k.Value)
		b.WriteByte(':')
		switch {
		case v.Kind == yaml.ScalarNode || v.Style == yaml.FlowStyle:
			b.WriteByte(' ')
			flow(b, v)
			b.WriteByte('\n')
		case v.Kind == yaml.MappingNode:
			b.WriteByte('\n')
			blockPairs(b, v, at+2, false)
		default:
			b.WriteByte('\n')
			for _, item := range v.Content {
				blockItem(b, item, at+2)
			}
		}
	}
}

// flow writes a scalar, or a collection in flow style: {a: b, c: [d, e]}.
func flow(b *bytes.Buffer, n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		b.WriteString(n.Value)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(n.Content[i].Value)
			b.WriteString(": ")
			flow(b, n.Content[i+1])
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteString(", ")
			}
			flow(b, c)
		}
		b.WriteByte(']')
	}
}
