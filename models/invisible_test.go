package models_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
)

// A name holding a bidirectional control or another invisible character can display as
// another name ("ci-bot\u202etset" shows as "ci-bottest") or as a known one. Every kind of name
// refuses them, and the problem names the path and the code point. Organization, team, key,
// end user and agent names were already limited to ASCII letters, digits and -_.@, and server,
// access group and toolset names to a-z, 0-9, - and _, so they refused these characters with
// the generic "invalid name" problem; tool names (any characters but /, spaces and control
// characters) accepted them.
func TestValidateRefusesInvisibleCharacters(t *testing.T) {
	// Each kind of name: where a name with s in it goes, and the path of its problem.
	kinds := []struct {
		kind, path string
		doc        func(s string) string
	}{
		{"server", "servers[2].name", func(s string) string {
			return strings.Replace(validBase, "    tools: [search]\n", "    tools: [search]\n  - {name: \""+s+"\"}\n", 1)
		}},
		{"tool", `servers[1] "jira".tools[1]`, func(s string) string {
			return strings.Replace(validBase, "tools: [search]", `tools: [search, "`+s+`"]`, 1)
		}},
		{"access group", "access_groups[0].name", func(s string) string {
			return strings.Replace(validBase, "access_groups: [", `access_groups: [{name: "`+s+`"}, `, 1)
		}},
		{"toolset", "toolsets[0].name", func(s string) string {
			return strings.Replace(validBase, "toolsets: [", `toolsets: [{name: "`+s+`"}, `, 1)
		}},
		{"organization", "organizations[1].name", func(s string) string {
			return strings.Replace(validBase, "{name: globex}", `{name: "`+s+`"}`, 1)
		}},
		{"team", "teams[1].name", func(s string) string {
			return strings.Replace(validBase, "{name: loose}", `{name: "`+s+`"}`, 1)
		}},
		{"key", "keys[0].name", func(s string) string { return validBase + "keys: [{name: \"" + s + "\"}]\n" }},
		{"end user", "end_users[0].name", func(s string) string { return validBase + "end_users: [{name: \"" + s + "\"}]\n" }},
		{"agent", "agents[0].name", func(s string) string {
			return strings.Replace(validBase, "{name: triage-agent}", `{name: "`+s+`"}`, 1)
		}},
	}
	chars := []struct {
		r    rune
		name string
	}{
		{0x202A, "LEFT-TO-RIGHT EMBEDDING"}, {0x202B, "RIGHT-TO-LEFT EMBEDDING"}, {0x202C, "POP DIRECTIONAL FORMATTING"},
		{0x202D, "LEFT-TO-RIGHT OVERRIDE"}, {0x202E, "RIGHT-TO-LEFT OVERRIDE"},
		{0x2066, "LEFT-TO-RIGHT ISOLATE"}, {0x2067, "RIGHT-TO-LEFT ISOLATE"}, {0x2068, "FIRST STRONG ISOLATE"}, {0x2069, "POP DIRECTIONAL ISOLATE"},
		{0x200E, "LEFT-TO-RIGHT MARK"}, {0x200F, "RIGHT-TO-LEFT MARK"}, {0x061C, "ARABIC LETTER MARK"},
		{0x200B, "ZERO WIDTH SPACE"}, {0x200C, "ZERO WIDTH NON-JOINER"}, {0x200D, "ZERO WIDTH JOINER"}, {0x2060, "WORD JOINER"},
		{0xFEFF, "ZERO WIDTH NO-BREAK SPACE"}, {0x00AD, "SOFT HYPHEN"}, {0x034F, "COMBINING GRAPHEME JOINER"},
		{0x3164, "HANGUL FILLER"}, {0xFE0F, "VARIATION SELECTOR-16"},
		{0xE0041, "an invisible format character"}, // TAG LATIN CAPITAL LETTER A
		{0xFE00, "an invisible format character"},  // VARIATION SELECTOR-1
	}
	for _, k := range kinds {
		for _, c := range chars {
			t.Run(fmt.Sprintf("%s U+%04X", k.kind, c.r), func(t *testing.T) {
				name := "ci-bot" + string(c.r) + "tset"
				escaped := strings.Trim(strconv.QuoteToASCII(name), `"`) // YAML reads \uXXXX and \UXXXXXXXX
				_, err := models.LoadDocument([]byte(k.doc(escaped)))
				want := fmt.Sprintf("%s: contains U+%04X (%s), which does not show but changes how the name displays: %s",
					k.path, c.r, c.name, strconv.QuoteToASCII(name))
				equalLines(t, problemLines(t, err), []string{want})
			})
		}
		// The same place with a plain name is valid: the rows test the character, not the place.
		t.Run(k.kind+" plain", func(t *testing.T) {
			mustLoad(t, []byte(k.doc("ci-bot-test")))
		})
	}
}

// Visible characters beyond ASCII stay allowed where they were: a tool name in another script.
func TestValidateKeepsVisibleToolNames(t *testing.T) {
	for _, name := range []string{"créer_ticket", "検索", "поиск", "search.v2"} {
		mustLoad(t, []byte(strings.Replace(validBase, "tools: [search]", `tools: [search, "`+name+`"]`, 1)))
	}
}

func TestValidTokenName(t *testing.T) {
	for _, ok := range []string{"ci", "deploy bot (prod)", "Grüße"} {
		if err := models.ValidTokenName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ci\u202Eenod", "a\x00b", "tab\there", string(make([]rune, 65))} {
		if err := models.ValidTokenName(bad); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("%q accepted", bad)
		}
	}
}
