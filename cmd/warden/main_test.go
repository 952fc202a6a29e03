package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// runCLI runs the binary's entry point in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const doc = `version: 1
servers:
  - {name: github, tools: [create_issue, list_issues, delete_repo]}
  - {name: jira, tools: [search]}
organizations:
  - {name: acme, mcp: {servers: [github]}, deny_tools: [github/delete_repo]}
teams:
  - {name: platform, organization: acme}
keys:
  - {name: ci-bot, team: platform}
  - {name: billing-svc, organization: acme, mcp: {}}
`

func TestImportExport(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := storetest.DSN(t, kind)
			code, out, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, doc))
			if code != 0 {
				t.Fatalf("import exit %d: %s", code, errs)
			}
			if !strings.Contains(strings.Join(strings.Fields(out), " "), "keys: 2 created") || !strings.Contains(out, "revision: 1") {
				t.Errorf("import summary:\n%s", out)
			}
			code, exported, errs := runCLI(t, "export", "--db", db)
			if code != 0 {
				t.Fatalf("export exit %d: %s", code, errs)
			}
			if !strings.HasPrefix(exported, "version: 1\n") || !strings.Contains(exported, "mcp: {}") {
				t.Errorf("export:\n%s", exported)
			}
			code, out, _ = runCLI(t, "import", "--db", db, "-f", writeFile(t, exported))
			if code != 0 || !strings.Contains(out, "no change; revision stays 1") {
				t.Errorf("re-import of the export: exit %d\n%s", code, out)
			}

			// A bad document: every problem, one a line with its path; exit 2; nothing written.
			bad := strings.Replace(doc, "team: platform}", "team: plat}", 1)
			bad = strings.Replace(bad, "[github]}", "[github, gitlab]}", 1)
			bad = strings.Replace(bad, "version: 1", "version: 1\ncolour: red", 1)
			code, _, errs = runCLI(t, "import", "--db", db, "-f", writeFile(t, bad))
			if code != 2 {
				t.Fatalf("bad import exit %d, want 2; stderr:\n%s", code, errs)
			}
			for _, want := range []string{`colour: unknown field "colour"`} {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
			_, again, _ := runCLI(t, "export", "--db", db)
			if again != exported {
				t.Errorf("a failed import changed the state:\n%s", again)
			}
		})
	}
}

func TestImportReportsEveryProblem(t *testing.T) {
	db := storetest.DSN(t, store.KindSQLite)
	bad := strings.Replace(doc, "team: platform}", "team: plat}", 1)
	bad = strings.Replace(bad, "[github]}", "[github, gitlab]}", 1)
	code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, bad))
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{
		`organizations[0] "acme".mcp.servers[1]: unknown server "gitlab"`,
		`keys[0] "ci-bot".team: unknown team "plat"`,
		"2 problem(s); nothing was written",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	cfg := serveConfig{addr: "127.0.0.1:0", db: storetest.DSN(t, store.KindSQLite), ready: func(a string) { addr <- a }}
	go func() { done <- serve(ctx, env{getenv: os.Getenv, stdout: io.Discard, stderr: &logs}, cfg) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve returned early: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Status   string `json:"status"`
		Database string `json:"database"`
		Revision int64  `json:"revision"`
	}
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health.Status != "ok" || health.Database != "sqlite" || health.Revision != 1 {
		t.Errorf("healthz: %d %+v (the demo import should make revision 1)", resp.StatusCode, health)
	}

	// A fresh console has one user, admin, whose password the log shows once. Signed out, the
	// console sends a person to the sign-in page; signed in, it opens on the organizations.
	m := regexp.MustCompile(`created the first console user.* username=admin password=([a-z0-9-]+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("the log does not show the first admin's password:\n%s", logs.String())
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err = client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("signed out, / led to %s, want /login", resp.Request.URL)
	}
	resp, err = client.PostForm(base+"/login", url.Values{"username": {"admin"}, "password": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/orgs" || !strings.Contains(string(body), "Signed in as") {
		t.Fatalf("signing in as admin led to %s (%d):\n%.400s", resp.Request.URL, resp.StatusCode, body)
	}
	resp, err = client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/orgs" {
		t.Errorf("/ led to %s, want /orgs", resp.Request.URL.Path)
	}
	for _, want := range []string{`href="/orgs/acme/settings"`, `href="/orgs/globex/settings"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("organizations page lacks %q", want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}
