package views

import (
	"sort"
	"strings"
	"unicode"
)

// Names that mix scripts. A tool name comes from an upstream server and may hold any letters
// (models.Validate refuses only invisible and control characters in it), so "get_fіle" with a
// Cyrillic і displays as the Latin "get_file" and can pass for it. The console marks such names
// (MixedScriptMark). Other names are ASCII by validation and never mix.
//
// The rule is that of Unicode's "highly restrictive" profile (UTS #39, section 5.2): a name's
// letters are of one script, or of Latin with Han, Hiragana and Katakana (Japanese), with Han
// and Bopomofo (Chinese), or with Han and Hangul (Korean) — the mixes a language writes. Digits,
// punctuation and symbols belong to no script (Common), combining marks to the letter they sit
// on (Inherited); neither counts.

// scriptNames are Unicode's scripts, Common and Inherited aside, sorted so that a name's
// scripts are named the same way every time.
var scriptNames = func() []string {
	var out []string
	for name := range unicode.Scripts {
		if name != "Common" && name != "Inherited" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}()

// scriptOf is the script of a letter, or "" for a rune of no particular script.
func scriptOf(r rune) string {
	if r < 0x80 {
		if ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return "Latin"
		}
		return ""
	}
	if !unicode.IsLetter(r) {
		return ""
	}
	for _, name := range scriptNames {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	return ""
}

// nameScripts lists the scripts of a name's letters in the order they first appear.
func nameScripts(name string) []string {
	var out []string
	for _, r := range name {
		if s := scriptOf(r); s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// allowedMixes are the mixes of scripts a language writes (see the rule above).
var allowedMixes = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// mixedScripts reports whether a name's letters mix scripts in a way no language writes them,
// the mark of a name made to look like another.
func mixedScripts(name string) bool {
	scripts := nameScripts(name)
	if len(scripts) < 2 {
		return false
	}
	for _, mix := range allowedMixes {
		all := true
		for _, s := range scripts {
			if !contains(mix, s) {
				all = false
				break
			}
		}
		if all {
			return false
		}
	}
	return true
}

// mixedScriptsWords names the scripts a name mixes: "Latin and Cyrillic".
func mixedScriptsWords(name string) string {
	s := nameScripts(name)
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// mixedScriptsTitle says what the mark next to a name means.
func mixedScriptsTitle(name string) string {
	return "This name mixes " + mixedScriptsWords(name) + " letters, so it can look like another name"
}

// mixedScriptsHint is a picker option's hint for a name that mixes scripts, or "".
func mixedScriptsHint(name string) string {
	if !mixedScripts(name) {
		return ""
	}
	return "⚠ mixed scripts: " + mixedScriptsWords(name)
}
