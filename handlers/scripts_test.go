package handlers_test

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/warden-mcp/warden/models/store"
)

// spoofTool is "get_file" with a Cyrillic і (U+0456): it displays as the plain tool's name.
const spoofTool = "get_f\u0456le"

// mixedScriptPolicy has a server whose catalogue holds a plain tool and one that passes for it,
// a toolset naming both and a key granted the toolset.
const mixedScriptPolicy = `version: 1
servers:
  - name: fs
    url: https://mcp.example.com/fs
    tools:
      - {name: get_file}
      - {name: "` + spoofTool + `"}
toolsets:
  - {name: files, tools: [fs/get_file, "fs/` + spoofTool + `"]}
organizations:
  - name: acme
    mcp: {servers: [fs]}
teams:
  - {name: platform, organization: acme}
keys:
  - {name: ci-bot, team: platform, mcp: {toolsets: [files]}}
`

// markedTools lists the tools on a page that carry the mixed-scripts mark, as the text of the
// element the mark follows.
func markedTools(d *goquery.Document) []string {
	var out []string
	d.Find(`[data-testid=mixed-script]`).Each(func(_ int, m *goquery.Selection) {
		out = append(out, strings.TrimSpace(m.Prev().Text()))
	})
	return out
}

// Every page showing tool names marks the one that mixes scripts, and only that one.
func TestMixedScriptToolNamesAreMarked(t *testing.T) {
	a := newApp(t, store.KindSQLite, mixedScriptPolicy)
	for _, path := range []string{"/servers/fs", "/toolsets", "/keys/ci-bot"} {
		_, d := a.get(t, path, false, 200)
		if got := markedTools(d); len(got) != 1 || got[0] != spoofTool {
			t.Errorf("%s: marked %+q, want only %+q", path, got, spoofTool)
		}
	}
	// The settings page: the denied-tools option carries the warning as its hint, and the
	// tool-limit checkbox of the spoof is followed by the mark.
	_, d := a.get(t, "/orgs/acme/settings", false, 200)
	var hints []string
	d.Find(`#deny-tools option`).Each(func(_ int, o *goquery.Selection) {
		if h := o.AttrOr("data-hint", ""); h != "" {
			hints = append(hints, o.AttrOr("value", "")+" "+h)
		}
	})
	if want := "fs/" + spoofTool + " ⚠ mixed scripts: Latin and Cyrillic"; len(hints) != 1 || hints[0] != want {
		t.Errorf("deny-tools hints %q, want [%q]", hints, want)
	}
	if n := d.Find(`.tool-grid [data-testid=mixed-script]`).Length(); n != 1 {
		t.Errorf("the tool limits show %d marks, want 1", n)
	}
}
