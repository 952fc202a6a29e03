package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/warden-mcp/warden/models/resolver"
)

// writeReplay prints a replay in the chosen format: json (the preview's replay object), text
// (a summary for people) or markdown (a pull-request comment). Like the diff's formats, it
// counts nothing itself: every figure is the resolver's ReplayResult.
func writeReplay(e env, f outputFormat, r resolver.ReplayResult, window string) int {
	var err error
	switch f {
	case formatText:
		err = writeReplayText(e.stdout, r, window)
	case formatMarkdown:
		err = writeReplayMarkdown(e.stdout, r, window)
	default:
		return writeJSON(e, r)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "warden: write: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// replayRows lists at most this many tools and keys a direction.
const replayRows = 20

func writeReplayText(w io.Writer, r resolver.ReplayResult, window string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Warden replay: %s by %s recorded since %s (%s)\n",
		plural(int(r.Calls), "call", "calls"), plural(r.Keys, "key", "keys"), r.Since.UTC().Format("2006-01-02 15:04 MST"), window)
	for _, side := range []struct {
		sign, verb string
		c          resolver.ReplayChange
	}{{"−", "would now be denied", r.NewlyDenied}, {"+", "now denied would be allowed", r.NewlyAllowed}} {
		if side.c.Calls == 0 {
			fmt.Fprintf(&b, "%s no recorded call %s\n", side.sign, side.verb)
			continue
		}
		fmt.Fprintf(&b, "%s %s by %s to %s %s\n", side.sign, plural(int(side.c.Calls), "call", "calls"),
			plural(side.c.Keys, "key", "keys"), plural(len(side.c.ByTool), "tool", "tools"), side.verb)
		for i, t := range side.c.ByTool {
			if i == replayRows {
				fmt.Fprintf(&b, "    … and %d more tools\n", len(side.c.ByTool)-replayRows)
				break
			}
			fmt.Fprintf(&b, "    %s/%s: %s by %s, last %s\n", t.Server, t.Tool, plural(int(t.Calls), "call", "calls"),
				plural(t.Keys, "key", "keys"), t.LastSeen.UTC().Format("2006-01-02 15:04"))
		}
		for i, k := range side.c.ByKey {
			if i == replayRows {
				fmt.Fprintf(&b, "    … and %d more keys\n", len(side.c.ByKey)-replayRows)
				break
			}
			fmt.Fprintf(&b, "    key %s: %s, last %s\n", k.Key, plural(int(k.Calls), "call", "calls"), k.LastSeen.UTC().Format("2006-01-02 15:04"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeReplayMarkdown(w io.Writer, r resolver.ReplayResult, window string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Warden replay\n\nOf **%s** by %s recorded since %s (%s):\n\n",
		plural(int(r.Calls), "call", "calls"), plural(r.Keys, "key", "keys"), r.Since.UTC().Format("2006-01-02 15:04 MST"), window)
	b.WriteString("| | calls | keys | tools |\n| --- | ---: | ---: | ---: |\n")
	fmt.Fprintf(&b, "| would now be denied | %d | %d | %d |\n", r.NewlyDenied.Calls, r.NewlyDenied.Keys, len(r.NewlyDenied.ByTool))
	fmt.Fprintf(&b, "| now denied, would be allowed | %d | %d | %d |\n", r.NewlyAllowed.Calls, r.NewlyAllowed.Keys, len(r.NewlyAllowed.ByTool))
	for _, side := range []struct {
		title string
		c     resolver.ReplayChange
	}{{"Newly denied", r.NewlyDenied}, {"Newly allowed", r.NewlyAllowed}} {
		if side.c.Calls == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n<details><summary>%s: %s by %s</summary>\n\n| tool | calls | keys | last seen |\n| --- | ---: | ---: | --- |\n",
			side.title, plural(int(side.c.Calls), "call", "calls"), plural(side.c.Keys, "key", "keys"))
		for i, t := range side.c.ByTool {
			if i == replayRows {
				fmt.Fprintf(&b, "| … %d more tools | | | |\n", len(side.c.ByTool)-replayRows)
				break
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", mdCode(t.Server+"/"+t.Tool), t.Calls, t.Keys, t.LastSeen.UTC().Format("2006-01-02 15:04"))
		}
		b.WriteString("\n| key | calls | last seen |\n| --- | ---: | --- |\n")
		for i, k := range side.c.ByKey {
			if i == replayRows {
				fmt.Fprintf(&b, "| … %d more keys | | |\n", len(side.c.ByKey)-replayRows)
				break
			}
			fmt.Fprintf(&b, "| %s | %d | %s |\n", mdCode(k.Key), k.Calls, k.LastSeen.UTC().Format("2006-01-02 15:04"))
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
