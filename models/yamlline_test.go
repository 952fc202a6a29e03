package models

import (
	"strings"
	"testing"
)

// TestSyntaxErrorLines: a syntax error names the line of the fault, not the line where the
// enclosing block starts (which is what the YAML library reports on its own).
func TestSyntaxErrorLines(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		// A key indented one space too little, three lines into the list.
		{"version: 1\nservers:\n  - name: github\n    url: https://x\n   tools: [a]\n", "line 5: did not find expected '-' indicator"},
		{"version: 1\nkeys:\n  - name: a\n  team: b\n", "line 4: did not find expected '-' indicator"},
		{"version: 1\nservers:\n  - name: a\n    tools:\n      - x\n     - y\n", "line 6: did not find expected key"},
		// An unclosed flow mapping, found at the next line.
		{"version: 1\nkeys:\n  - name: a\n    mcp: {servers: [x]\n  - name: b\n", "line 5: did not find expected ',' or '}'"},
		{"version: 1\nservers:\n  - {name: github, tools: [a, b}\nteams: []\n", "line 3: did not find expected ',' or ']'"},
		// JSON is YAML: a missing comma between two objects.
		{"{\"version\": 1,\n \"servers\": [\n  {\"name\": \"a\"}\n  {\"name\": \"b\"}\n ]\n}\n", "line 4: did not find expected ',' or ']'"},
		// Already right before: kept as they were.
		{"version: 1\nkeys:\n  - name: a\n    team: x: y\n", "line 4: mapping values are not allowed in this context"},
		{"version: 1\n\tservers: []", "line 2: found a tab character that violates indentation"},
		{"version: 1\nservers: [", "line 2: did not find expected node content"},
	} {
		_, err := ParseDocument([]byte(c.doc))
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\n got %v\nwant %s", c.doc, err, c.want)
		}
	}
	// Deep in a large document the line is still the fault's.
	var b strings.Builder
	b.WriteString("version: 1\nkeys:\n")
	for i := range 5000 {
		b.WriteString("  - name: k" + strings.Repeat("x", i%7) + "\n")
	}
	b.WriteString("   team: oops\n")
	if _, err := ParseDocument([]byte(b.String())); err == nil || !strings.HasPrefix(err.Error(), "line 5003: ") {
		t.Errorf("large document: %v, want line 5003", err)
	}
}
