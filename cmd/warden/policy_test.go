package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func TestPolicyValidate(t *testing.T) {
	if code, _, errs := runCLI(t, "policy", "validate", "-f", writeFile(t, doc)); code != 0 {
		t.Fatalf("valid document: exit %d: %s", code, errs)
	}
	bad := strings.Replace(doc, "team: platform}", "team: plat}", 1)
	code, _, errs := runCLI(t, "policy", "validate", "-f", writeFile(t, bad))
	if code != 2 || !strings.Contains(errs, `keys[0] "ci-bot".team: unknown team "plat"`) {
		t.Fatalf("invalid document: exit %d: %s", code, errs)
	}
}

func TestPolicyAccess(t *testing.T) {
	code, out, errs := runCLI(t, "policy", "access", "-f", writeFile(t, doc))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got map[string]map[string]map[string][]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// acme limits to github and denies delete_repo; billing-svc has mcp: {} (no access).
	want := `{"organizations":{"acme":{"github":["create_issue","list_issues"]}},` +
		`"teams":{"platform":{"github":["create_issue","list_issues"]}},` +
		`"keys":{"billing-svc":{},"ci-bot":{"github":["create_issue","list_issues"]}}}`
	b, _ := json.Marshal(got)
	var w map[string]map[string]map[string][]string
	json.Unmarshal([]byte(want), &w)
	wb, _ := json.Marshal(w)
	if string(b) != string(wb) {
		t.Errorf("access:\n%s\nwant\n%s", b, wb)
	}
}

func TestPolicyCheck(t *testing.T) {
	f := writeFile(t, doc)
	type result struct {
		Allowed     bool            `json:"allowed"`
		DecidedBy   *string         `json:"decided_by"`
		Explanation json.RawMessage `json:"explanation"`
	}
	check := func(args ...string) (int, result, string) {
		code, out, errs := runCLI(t, append([]string{"policy", "check", "-f", f}, args...)...)
		var r result
		if code != 2 {
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("check %v: %v\n%s", args, err, out)
			}
		}
		return code, r, errs
	}
	code, r, _ := check("--key", "ci-bot", "--server", "github", "--tool", "create_issue")
	if code != 0 || !r.Allowed || r.DecidedBy != nil || len(r.Explanation) < 10 {
		t.Errorf("allowed call: exit %d %+v", code, r)
	}
	code, r, _ = check("--key", "ci-bot", "--server", "github", "--tool", "delete_repo")
	if code != 1 || r.Allowed || r.DecidedBy == nil || *r.DecidedBy != "organization" {
		t.Errorf("denied call: exit %d %+v", code, r)
	}
	code, r, _ = check("--key", "billing-svc", "--server", "github", "--tool", "list_issues")
	if code != 1 || r.DecidedBy == nil || *r.DecidedBy != "key" {
		t.Errorf("mcp {} key: exit %d %+v", code, r)
	}
	code, r, _ = check("--key", "ci-bot", "--server", "jira", "--tool", "search")
	if code != 1 || r.DecidedBy == nil || *r.DecidedBy != "organization" {
		t.Errorf("server outside the org's selection: exit %d %+v", code, r)
	}
	if code, _, errs := check("--key", "nobody", "--server", "github", "--tool", "list_issues"); code != 2 || !strings.Contains(errs, "nobody") {
		t.Errorf("unknown key: exit %d %s", code, errs)
	}
	if code, _, errs := check("--key", "ci-bot"); code != 2 || !strings.Contains(errs, "--server is required") {
		t.Errorf("missing flag: exit %d %s", code, errs)
	}
}

func TestPolicyDiff(t *testing.T) {
	before := writeFile(t, doc)
	after := writeFile(t, strings.Replace(doc, "deny_tools: [github/delete_repo]", "deny_tools: [github/delete_repo, github/create_issue]", 1))
	code, out, errs := runCLI(t, "policy", "diff", "--before", before, "--after", after)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var d struct {
		Principals []struct {
			Kind, Name   string
			Gained, Lost map[string][]string
		} `json:"principals"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range d.Principals {
		names = append(names, p.Kind+":"+p.Name)
		if len(p.Gained) != 0 || strings.Join(p.Lost["github"], ",") != "create_issue" {
			t.Errorf("%s %s: gained %v lost %v", p.Kind, p.Name, p.Gained, p.Lost)
		}
	}
	if strings.Join(names, " ") != "organization:acme team:platform key:ci-bot" {
		t.Errorf("principals %v (ordered organizations, teams, keys)", names)
	}
	if d.Summary["keys_losing"] != 1 {
		t.Errorf("summary %v", d.Summary)
	}

	// --db: the live database is "before".
	db := storetest.DSN(t, store.KindSQLite)
	if code, _, errs := runCLI(t, "import", "--db", db, "-f", before); code != 0 {
		t.Fatal(errs)
	}
	code, out2, errs := runCLI(t, "policy", "diff", "--db", db, "--after", after)
	if code != 0 || out2 != out {
		t.Errorf("diff against the database: exit %d %s\n%s", code, errs, out2)
	}
	code, acc, _ := runCLI(t, "policy", "access", "--db", db)
	_, accFile, _ := runCLI(t, "policy", "access", "-f", before)
	if code != 0 || acc != accFile {
		t.Errorf("access --db differs from access -f of the imported file")
	}
}
