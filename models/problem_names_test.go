package models

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestProblemsNameTheEntity: a problem inside a list entry names the entry next to its index;
// the path itself, which programs match on, is unchanged.
func TestProblemsNameTheEntity(t *testing.T) {
	_, err := LoadDocument([]byte("version: 1\nteams: [{name: platform}]\nkeys:\n" +
		"  - {name: a, team: platform}\n  - {name: b}\n  - {name: c}\n  - {name: d}\n" +
		"  - {name: ci-bot, team: plat}\n" + // keys[4]
		"  - {name: \"ci\\u200bbot\", team: plat}\n" + // a name with an invisible character is not repeated
		"  - {name: ci-bot, colour: red}\n")) // a duplicate is a valid name: named
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	got := ps.Error()
	for _, want := range []string{
		`keys[4] "ci-bot".team: unknown team "plat"`,
		`keys[5].name: contains U+200B (ZERO WIDTH SPACE)`,
		`keys[5].team: unknown team "plat"`,
		`keys[6] "ci-bot".colour: unknown field "colour"`,
		`keys[6].name: duplicate key "ci-bot" (first at keys[4])`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	for _, p := range ps {
		if p.Path == "keys[4].team" && p.Entity != "ci-bot" {
			t.Errorf("keys[4].team: path %q entity %q", p.Path, p.Entity)
		}
	}
	b, _ := json.Marshal(Problem{Path: "keys[4].team", Entity: "ci-bot", Message: "m"})
	if string(b) != `{"path":"keys[4].team","entity":"ci-bot","message":"m"}` {
		t.Errorf("JSON %s", b)
	}
}
