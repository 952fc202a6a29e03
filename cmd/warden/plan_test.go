package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/store/storetest"
)

// changed is doc with create_issue denied to acme as well: ci-bot, platform and acme lose it.
var changed = strings.Replace(doc, "deny_tools: [github/delete_repo]", "deny_tools: [github/delete_repo, github/create_issue]", 1)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// mustRun runs the binary and fails the test unless it exits with want.
func mustRun(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	code, out, errs := runCLI(t, args...)
	if code != want {
		t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, out, errs)
	}
	return out, errs
}

func readPlanJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPlanApply(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := storetest.DSN(t, kind)
			mustRun(t, 0, "import", "--db", db, "-f", writeFile(t, doc))
			base, _ := mustRun(t, 0, "export", "--db", db)
			plan := filepath.Join(t.TempDir(), "plan.json")
			out, _ := mustRun(t, 0, "plan", "-f", writeFile(t, changed), "--db", db, "-o", plan)

			// What plan prints: the base, the hashes and the same diff policy diff computes.
			var printed struct {
				BaseRevision   int64           `json:"base_revision"`
				BaseSHA256     string          `json:"base_sha256"`
				DocumentSHA256 string          `json:"document_sha256"`
				Changed        bool            `json:"changed"`
				Diff           json.RawMessage `json:"diff"`
				Document       *string         `json:"document"`
			}
			if err := json.Unmarshal([]byte(out), &printed); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			diff, _ := mustRun(t, 0, "policy", "diff", "--db", db, "--after", writeFile(t, changed))
			var d1, d2 any
			json.Unmarshal(printed.Diff, &d1)
			json.Unmarshal([]byte(diff), &d2)
			if b1, _ := json.Marshal(d1); string(b1) != mustJSON(t, d2) {
				t.Errorf("plan's diff\n%s\nis not policy diff's\n%s", b1, diff)
			}
			if printed.BaseRevision != 1 || printed.BaseSHA256 != sha(base) || !printed.Changed || printed.Document != nil {
				t.Errorf("plan output %+v: want base revision 1, base sha256 of the export, no document", printed)
			}
			saved := readPlanJSON(t, plan)
			if saved["document_sha256"] != printed.DocumentSHA256 || sha(saved["document"].(string)) != printed.DocumentSHA256 {
				t.Errorf("the saved plan's document does not hash to %s", printed.DocumentSHA256)
			}

			out, _ = mustRun(t, 0, "apply", plan, "--db", db, "--actor", "ci")
			if !strings.Contains(out, "revision: 2") || !strings.Contains(out, "applied plan "+printed.DocumentSHA256[:12]) {
				t.Errorf("apply output:\n%s", out)
			}
			// The database now holds exactly the planned document.
			now, _ := mustRun(t, 0, "export", "--db", db)
			if sha(now) != printed.DocumentSHA256 || now != saved["document"] {
				t.Errorf("after apply the export is not the planned document:\n%s", now)
			}
			// The plan is spent: the policy is no longer at its base revision.
			_, errs := mustRun(t, exitConflict, "apply", "--db", db, plan)
			if !strings.Contains(errs, "revision 1, now 2") || !strings.Contains(errs, "  ci  ") {
				t.Errorf("re-applying a plan:\n%s", errs)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestApplyRefusesStalePlan: a write between plan and apply makes apply exit 3, say who
// changed what since the plan's revision, and write nothing.
func TestApplyRefusesStalePlan(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := storetest.DSN(t, kind)
			mustRun(t, 0, "import", "--db", db, "-f", writeFile(t, doc))
			plan := filepath.Join(t.TempDir(), "plan.json")
			mustRun(t, 0, "plan", "-f", writeFile(t, changed), "--db", db, "-o", plan)

			// Someone else blocks billing-svc meanwhile.
			other := strings.Replace(doc, "{name: billing-svc, organization: acme, mcp: {}}", "{name: billing-svc, organization: acme, mcp: {}, blocked: true}", 1)
			mustRun(t, 0, "import", "--db", db, "-f", writeFile(t, other), "--actor", "bob")
			before, _ := mustRun(t, 0, "export", "--db", db)

			out, errs := mustRun(t, exitConflict, "apply", plan, "--db", db)
			for _, want := range []string{
				"the policy changed since the plan was made (revision 1, now 2",
				"changes since revision 1:",
				`bob  update key "billing-svc"`,
				"nothing was written",
			} {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
			if out != "" {
				t.Errorf("stdout %q", out)
			}
			if after, _ := mustRun(t, 0, "export", "--db", db); after != before {
				t.Errorf("a stale plan changed the database:\n%s", after)
			}
		})
	}
}

// TestApplyRefusesTamperedPlan: a plan whose document was edited after planning, or that is
// not a plan at all, is refused before the database is touched.
func TestApplyRefusesTamperedPlan(t *testing.T) {
	db := storetest.DSN(t, "sqlite")
	mustRun(t, 0, "import", "--db", db, "-f", writeFile(t, doc))
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	mustRun(t, 0, "plan", "-f", writeFile(t, changed), "--db", db, "-o", plan)
	good, _ := os.ReadFile(plan)
	before, _ := mustRun(t, 0, "export", "--db", db)

	edit := func(name string, f func(m map[string]any)) string {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		p := filepath.Join(dir, name+".json")
		os.WriteFile(p, b, 0o600)
		return p
	}
	for _, c := range []struct {
		name, want string
		plan       string
	}{
		{"tampered", "does not match its hash", edit("tampered", func(m map[string]any) {
			m["document"] = strings.Replace(m["document"].(string), "github/create_issue", "github/list_issues", 1)
		})},
		{"no document", "carries no document", edit("nodoc", func(m map[string]any) { delete(m, "document") })},
		{"unknown field", `unknown field "extra"`, edit("extra", func(m map[string]any) { m["extra"] = 1 })},
		{"other format", `plan format "warden-plan/9"`, edit("format", func(m map[string]any) { m["format"] = "warden-plan/9" })},
		{"not json", "not a plan file", writeFile(t, "version: 1\n")},
	} {
		_, errs := mustRun(t, exitUsage, "apply", c.plan, "--db", db)
		if !strings.Contains(errs, c.want) {
			t.Errorf("%s: stderr lacks %q:\n%s", c.name, c.want, errs)
		}
	}
	if _, errs := mustRun(t, exitUsage, "apply", "--db", db); !strings.Contains(errs, "usage: warden apply PLAN") {
		t.Errorf("no plan: %s", errs)
	}
	if after, _ := mustRun(t, 0, "export", "--db", db); after != before {
		t.Errorf("a refused plan changed the database")
	}
	// The untouched plan still applies.
	mustRun(t, 0, "apply", plan, "--db", db)
}

// TestPlanNoChange: planning the document the database holds says so, and applying it writes
// nothing.
func TestPlanNoChange(t *testing.T) {
	db := storetest.DSN(t, "sqlite")
	mustRun(t, 0, "import", "--db", db, "-f", writeFile(t, doc))
	plan := filepath.Join(t.TempDir(), "plan.json")
	out, _ := mustRun(t, 0, "plan", "-f", writeFile(t, doc), "--db", db, "-o", plan, "--format", "text")
	if !strings.Contains(out, "No changes: the database already holds this document") || !strings.Contains(out, "No access changes.") {
		t.Errorf("plan of the current state:\n%s", out)
	}
	out, _ = mustRun(t, 0, "apply", plan, "--db", db)
	if !strings.Contains(out, "no change; revision stays 1") {
		t.Errorf("apply:\n%s", out)
	}
}
