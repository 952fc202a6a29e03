package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", t.Name(), path, got, want)
	}
}

var (
	goldenBefore = filepath.Join("testdata", "golden", "before.yaml")
	goldenAfter  = filepath.Join("testdata", "golden", "after.yaml")
)

func TestDiffFormatsGolden(t *testing.T) {
	for _, f := range []string{"json", "text", "markdown"} {
		t.Run(f, func(t *testing.T) {
			out, _ := mustRun(t, 0, "policy", "diff", "--before", goldenBefore, "--after", goldenAfter, "--format", f)
			golden(t, "diff."+f, out)
		})
	}
	// JSON is what diff printed before --format existed.
	plain, _ := mustRun(t, 0, "policy", "diff", "--before", goldenBefore, "--after", goldenAfter)
	golden(t, "diff.json", plain)
	// An empty diff says so.
	out, _ := mustRun(t, 0, "policy", "diff", "--before", goldenBefore, "--after", goldenBefore, "--format", "text")
	if out != "Policy diff\nNo access changes.\n" {
		t.Errorf("empty diff:\n%s", out)
	}
	if code, _, errs := runCLI(t, "policy", "diff", "--before", goldenBefore, "--after", goldenAfter, "--format", "html"); code != exitUsage || !strings.Contains(errs, "want json, text or markdown") {
		t.Errorf("--format html: exit %d %s", code, errs)
	}
}

var createdAt = regexp.MustCompile(`"created_at": "[^"]+"`)

func TestPlanFormatsGolden(t *testing.T) {
	db := storetest.DSN(t, store.KindSQLite)
	mustRun(t, 0, "import", "--db", db, "-f", goldenBefore)
	for _, f := range []string{"json", "text", "markdown"} {
		t.Run(f, func(t *testing.T) {
			out, _ := mustRun(t, 0, "plan", "-f", goldenAfter, "--db", db, "--format", f)
			golden(t, "plan."+f, createdAt.ReplaceAllString(out, `"created_at": "(time)"`))
		})
	}
}

func TestCheckFormatsGolden(t *testing.T) {
	denied := []string{"policy", "check", "-f", goldenAfter, "--key", "dba", "--server", "postgres", "--tool", "execute"}
	allowed := []string{"policy", "check", "-f", goldenAfter, "--key", "pager", "--server", "github", "--tool", "list_issues", "--agent", "triage", "--end-user", "on-call"}
	for _, c := range []struct {
		name string
		code int
		args []string
	}{
		{"check-denied.text", exitFailure, append(denied, "--format", "text")},
		{"check-denied-explain.text", exitFailure, append(denied, "--format", "text", "--explain")},
		{"check-denied-explain.markdown", exitFailure, append(denied, "--format", "markdown", "--explain")},
		{"check-allowed.text", exitOK, append(allowed, "--format", "text")},
		{"check-allowed.json", exitOK, allowed},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _ := mustRun(t, c.code, c.args...)
			golden(t, c.name, out)
		})
	}
}

// TestMarkdownFitsAComment: a diff too large for one GitHub comment (65,536 characters) is
// cut at whole organizations, and says so.
func TestMarkdownFitsAComment(t *testing.T) {
	var before, after strings.Builder
	servers := "servers:\n  - {name: big, tools: [" + strings.Repeat("t", 0)
	var tools []string
	for i := range 40 {
		tools = append(tools, fmt.Sprintf("tool%02d", i))
	}
	servers += strings.Join(tools, ", ") + "]}\n"
	for _, b := range []*strings.Builder{&before, &after} {
		b.WriteString("version: 1\n" + servers + "organizations:\n")
	}
	for i := range 60 {
		fmt.Fprintf(&before, "  - {name: org%02d, mcp: {servers: [big]}}\n", i)
		fmt.Fprintf(&after, "  - {name: org%02d, mcp: {}}\n", i)
	}
	for _, b := range []*strings.Builder{&before, &after} {
		b.WriteString("teams:\n")
	}
	for i := range 60 {
		for j := range 5 {
			fmt.Fprintf(&before, "  - {name: team%02d-%d, organization: org%02d}\n", i, j, i)
			fmt.Fprintf(&after, "  - {name: team%02d-%d, organization: org%02d}\n", i, j, i)
		}
	}
	out, _ := mustRun(t, 0, "policy", "diff", "--before", writeFile(t, before.String()), "--after", writeFile(t, after.String()), "--format", "markdown")
	if len(out) > maxMarkdown || !strings.Contains(out, "more organizations not shown") {
		t.Fatalf("%d bytes; tail:\n%s", len(out), out[max(0, len(out)-300):])
	}
	if strings.Count(out, "<details>") != strings.Count(out, "</details>") || !strings.Contains(out, "| `org59` |") {
		t.Errorf("sections cut mid-way, or the summary table lacks organizations")
	}
}

func TestMdCode(t *testing.T) {
	for in, want := range map[string]string{
		"ci-bot":  "`ci-bot`",
		"a|b":     "`a\\|b`",
		"x`y":     "``x`y``",
		"`start":  "`` `start ``",
		"@ops-me": "`@ops-me`",
	} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// The text form only groups what the resolver computed: its totals are DiffSummary's.
func TestTextSummaryIsTheResolverSummary(t *testing.T) {
	out, _ := mustRun(t, 0, "policy", "diff", "--before", goldenBefore, "--after", goldenAfter, "--format", "text")
	a, _ := readDocument(goldenBefore)
	b, _ := readDocument(goldenAfter)
	s := resolver.Diff(resolver.Build(a), resolver.Build(b)).Summary
	want := fmt.Sprintf("%d principals change access", s.Principals)
	lost := fmt.Sprintf("(%d tools in all)", s.ToolsLost)
	if !strings.Contains(out, want) || !strings.Contains(out, lost) {
		t.Errorf("text summary does not carry the resolver's totals (%+v):\n%s", s, out)
	}
}
