package main

import (
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/store/storetest"
)

// violating is doc with guards that ci-bot, which may call github's create_issue and
// list_issues, breaks.
const violating = doc + `guards:
  - {name: no-creates, forbid: ["*/create_*"]}
  - {name: holds, forbid: [github/delete_repo]}
  - {name: no-listers, tool: github/list_issues, at_most: 0, for: {teams: [platform]}}
`

const violations = `guards[0]: guard no-creates: key "ci-bot" may call github/create_issue, which it forbids
guards[2]: guard no-listers: key "ci-bot" may call github/list_issues; 1 key may, at most 0
`

func TestPolicyValidateGuards(t *testing.T) {
	code, _, errs := runCLI(t, "policy", "validate", "-f", writeFile(t, violating))
	if code != 2 || !strings.HasPrefix(errs, violations) {
		t.Fatalf("a document breaking its guards: exit %d:\n%s\nwant the lines\n%s", code, errs, violations)
	}
	holding := strings.Replace(violating, `"*/create_*"`, `"*/drop_*"`, 1)
	holding = strings.Replace(holding, "at_most: 0", "at_most: 1", 1)
	if code, _, errs := runCLI(t, "policy", "validate", "-f", writeFile(t, holding)); code != 0 {
		t.Fatalf("a document keeping its guards: exit %d: %s", code, errs)
	}
}

// TestImportGuards: import refuses a document breaking its own guards, writing nothing, and
// round-trips one that keeps them; validate --db checks the stored guards too.
func TestImportGuards(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := storetest.DSN(t, kind)
			if code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, doc)); code != 0 {
				t.Fatalf("import exit %d: %s", code, errs)
			}
			_, before, _ := runCLI(t, "export", "--db", db)
			code, out, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, violating))
			if code != 2 || !strings.HasPrefix(errs, violations) || out != "" {
				t.Fatalf("import of a violating document: exit %d\nstdout %s\nstderr %s", code, out, errs)
			}
			if _, after, _ := runCLI(t, "export", "--db", db); after != before {
				t.Fatalf("a refused import changed the database:\n%s", after)
			}
			holding := strings.Replace(violating, `"*/create_*"`, `"*/drop_*"`, 1)
			holding = strings.Replace(holding, "at_most: 0", "at_most: 1", 1)
			code, out, errs = runCLI(t, "import", "--db", db, "-f", writeFile(t, holding))
			if code != 0 || !strings.Contains(strings.Join(strings.Fields(out), " "), "guards: 3 created") {
				t.Fatalf("import exit %d: %s%s", code, out, errs)
			}
			_, exported, _ := runCLI(t, "export", "--db", db)
			if !strings.Contains(exported, "guards:\n  - {name: holds, forbid: [github/delete_repo]}\n") ||
				!strings.Contains(exported, "  - {name: no-creates, forbid: ['*/drop_*']}\n") {
				t.Errorf("export:\n%s", exported)
			}
			if code, out, _ := runCLI(t, "import", "--db", db, "-f", writeFile(t, exported)); code != 0 || !strings.Contains(out, "no change") {
				t.Errorf("import(export()): exit %d %s", code, out)
			}
			if code, _, errs := runCLI(t, "policy", "validate", "--db", db); code != 0 {
				t.Errorf("validate --db: exit %d %s", code, errs)
			}
		})
	}
}
