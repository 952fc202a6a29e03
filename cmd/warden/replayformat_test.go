package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/resolver"
)

// The replay's text and markdown say what the resolver's ReplayResult says, nothing more.
func TestReplayFormats(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	r := resolver.ReplayResult{Since: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), Calls: 120, Keys: 7,
		NewlyDenied: resolver.ReplayChange{Calls: 12, Keys: 2,
			ByTool: []resolver.ReplayTool{{Server: "github", Tool: "delete_repo", Calls: 12, Keys: 2, LastSeen: at}},
			ByKey:  []resolver.ReplayKey{{Key: "ci-bot", Calls: 10, LastSeen: at}, {Key: "deploy|x", Calls: 2, LastSeen: at}}},
	}
	var out, errb bytes.Buffer
	e := env{stdout: &out, stderr: &errb}
	if code := writeReplay(e, formatText, r, "168h0m0s"); code != 0 {
		t.Fatal(errb.String())
	}
	want := `Warden replay: 120 calls by 7 keys recorded since 2026-11-24 10:00 UTC (168h0m0s)
− 12 calls by 2 keys to 1 tool would now be denied
    github/delete_repo: 12 calls by 2 keys, last 2026-11-30 09:15
    key ci-bot: 10 calls, last 2026-11-30 09:15
    key deploy|x: 2 calls, last 2026-11-30 09:15
+ no recorded call now denied would be allowed
`
	if out.String() != want {
		t.Errorf("text:\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if code := writeReplay(e, formatMarkdown, r, "168h0m0s"); code != 0 {
		t.Fatal(errb.String())
	}
	md := out.String()
	for _, s := range []string{
		"| would now be denied | 12 | 2 | 1 |",
		"| now denied, would be allowed | 0 | 0 | 0 |",
		"<details><summary>Newly denied: 12 calls by 2 keys</summary>",
		"| `github/delete_repo` | 12 | 2 | 2026-11-30 09:15 |",
		"| `deploy\\|x` | 2 | 2026-11-30 09:15 |",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	if strings.Contains(md, "Newly allowed") {
		t.Error("markdown has a section for a direction with no calls")
	}
}
