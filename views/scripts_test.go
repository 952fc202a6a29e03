package views

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
)

func TestMixedScripts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mixed   bool
		scripts string
	}{
		{"get_file", false, "Latin"},
		{"list-issues_v2", false, "Latin"},
		{"2024/09", false, ""},
		{"", false, ""},
		// Cyrillic і (U+0456) in a Latin name: looks like get_file.
		{"get_f\u0456le", true, "Latin and Cyrillic"},
		// Cyrillic е (U+0435) and а (U+0430) in "search".
		{"s\u0435\u0430rch", true, "Latin and Cyrillic"},
		// Greek ο (U+03BF) in "top".
		{"t\u03bfp", true, "Latin and Greek"},
		{"ποιώ", false, "Greek"},
		{"поиск_2", false, "Cyrillic"},
		// Digits and punctuation belong to no script; combining marks to their letter.
		{"поиск-1.0_v", true, "Cyrillic and Latin"},
		{"cafe\u0301", false, "Latin"},
		// Mixes a language writes are not marked: Japanese, Chinese, Korean, each with Latin.
		{"検索_カタカナ_ひらがな_api", false, "Han, Katakana, Hiragana and Latin"},
		{"查询_ㄅㄆ", false, "Han and Bopomofo"},
		{"검색_漢字_db", false, "Hangul, Han and Latin"},
		// ... but not across them (Korean writes Han with Hangul, not with Katakana), nor with
		// Cyrillic.
		{"検索_검색", false, "Han and Hangul"},
		{"검색_カタ", true, "Hangul and Katakana"},
		{"ㄅ_カ", true, "Bopomofo and Katakana"},
		{"поиск_検索", true, "Cyrillic and Han"},
		{"Latin_Ελληνικά_Кириллица", true, "Latin, Greek and Cyrillic"},
	} {
		if got := mixedScripts(tc.name); got != tc.mixed {
			t.Errorf("mixedScripts(%+q) = %v, want %v", tc.name, got, tc.mixed)
		}
		if got := mixedScriptsWords(tc.name); got != tc.scripts {
			t.Errorf("scripts of %+q: %q, want %q", tc.name, got, tc.scripts)
		}
	}
}

func render(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// A server's page marks the tool whose name mixes scripts, in words and with the scripts named
// for a screen reader, and leaves the plain tool alone.
func TestServerPageMarksMixedScriptToolNames(t *testing.T) {
	const spoof = "get_f\u0456le" // Cyrillic і
	doc := render(t, ServerDetailPage(ServerDetailProps{
		Layout: LayoutProps{Title: "Server fs"},
		Name:   "fs",
		Tools:  []ToolRow{{Name: "get_file"}, {Name: spoof}},
	}))
	rows := doc.Find(`[data-testid=tool-row]`)
	if rows.Length() != 2 {
		t.Fatalf("%d tool rows, want 2", rows.Length())
	}
	plain := rows.FilterFunction(func(_ int, s *goquery.Selection) bool { return s.AttrOr("data-name", "") == "get_file" })
	if n := plain.Find(`[data-testid=mixed-script]`).Length(); n != 0 {
		t.Errorf("the plain tool get_file is marked (%d marks)", n)
	}
	mixed := rows.FilterFunction(func(_ int, s *goquery.Selection) bool { return s.AttrOr("data-name", "") == spoof })
	mark := mixed.Find(`[data-testid=mixed-script]`)
	if mark.Length() != 1 {
		t.Fatalf("the tool %+q has %d marks, want 1", spoof, mark.Length())
	}
	if text := strings.Join(strings.Fields(mark.Text()), " "); text != "⚠ mixed scripts: Latin and Cyrillic letters" {
		t.Errorf("mark text %q", text)
	}
	if title := mark.AttrOr("title", ""); !strings.Contains(title, "mixes Latin and Cyrillic letters") {
		t.Errorf("mark title %q", title)
	}
	if doc.Find(`[data-testid=mixed-script]`).Length() != 1 {
		t.Errorf("the page has %d marks, want 1", doc.Find(`[data-testid=mixed-script]`).Length())
	}
}

// The settings page's tool pickers mark a tool whose name mixes scripts: the denied-tools
// option carries the warning as its hint (the combobox shows it), and the tool-limit checkbox
// is followed by the mark.
func TestSettingsPickersMarkMixedScriptToolNames(t *testing.T) {
	const spoof = "s\u0435arch" // Cyrillic е
	s := CatalogueServer{Name: "docs", Tools: []string{"search", spoof}}
	opts := toolOptions(Catalogue{Servers: []CatalogueServer{s}})
	if len(opts) != 2 || opts[0].Hint != "" || opts[1].Hint != "⚠ mixed scripts: Latin and Cyrillic" {
		t.Errorf("tool options %+v", opts)
	}
	doc := render(t, ToolLimit(s, AccessForm{}))
	var marked []string
	doc.Find(`.tool-grid label`).Each(func(_ int, l *goquery.Selection) {
		if l.Find(`[data-testid=mixed-script]`).Length() > 0 {
			marked = append(marked, l.Find("input").AttrOr("value", ""))
		}
	})
	if len(marked) != 1 || marked[0] != "docs/"+spoof {
		t.Errorf("marked tool-limit checkboxes %q, want only docs/%s", marked, spoof)
	}
}
