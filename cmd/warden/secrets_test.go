package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/seal"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// The secrets grep test: run the flows that touch upstream credentials with known values —
// set-headers, serve's start (which seals a plain-text row an older Warden left) and view
// build, a relayed gateway call, the console's server pages, the audit log, an error page,
// /metrics, /healthz, export — then grep every output, the logs, and the SQLite file and its
// WAL for the values: zero hits. The upstream must receive them, or the test proves nothing.
func TestSecretsGrep(t *testing.T) {
	const (
		secret   = "Bearer grep-S3CRET-9b1e77" // stored by set-headers
		legacy   = "legacy-T0KEN-44aa10"       // a plain-text row from before sealing
		password = "grep-Passw0rd-31c7e2"      // a console user's, set by user create
		wrongPw  = "grep-Wr0ngpw-8d2f11"       // a failed sign-in's
	)
	var mu sync.Mutex
	got := map[string]string{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path] = r.Header.Get("Authorization") + "|" + r.Header.Get("X-Legacy")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	defer upstream.Close()

	db := storetest.DSN(t, store.KindSQLite)
	vars := map[string]string{seal.EnvVar: storetest.SecretKey, "WARDEN_LOG_LEVEL": "debug"}
	var outputs bytes.Buffer
	record := func(what string, parts ...string) {
		for _, p := range parts {
			outputs.WriteString("\n--- " + what + "\n" + p)
		}
	}
	policy := strings.NewReplacer("{name: github,", "{name: github, url: "+upstream.URL+"/github,",
		"{name: jira,", "{name: jira, url: "+upstream.URL+"/jira,").Replace(doc)
	policy = strings.Replace(policy, "mcp: {servers: [github]}", "mcp: {servers: [github, jira]}", 1)
	code, out, errs := runCLIEnv(t, vars, "import", "--db", db, "-f", writeFile(t, policy))
	record("import", out, errs)
	if code != 0 {
		t.Fatalf("import: %s", errs)
	}
	code, out, errs = runCLIStdin(t, "Authorization: "+secret+"\n", vars, "server", "set-headers", "github", "--db", db)
	record("set-headers", out, errs)
	if code != 0 {
		t.Fatalf("set-headers: %s", errs)
	}
	code, keySecret, errs := runCLIEnv(t, vars, "key", "secret", "ci-bot", "--db", db)
	record("key secret (stderr)", errs)
	if code != 0 {
		t.Fatalf("key secret: %s", errs)
	}
	keySecret = strings.TrimSpace(keySecret)
	code, out, errs = runCLIStdin(t, password+"\n", vars, "user", "create", "--username", "alice", "--role", "admin", "--password-stdin", "--db", db)
	record("user create", out, errs)
	if code != 0 {
		t.Fatalf("user create: %s", errs)
	}
	raw, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Exec(t, raw, `UPDATE servers SET auth_headers = '{"X-Legacy":"`+legacy+`"}' WHERE name = 'jira'`)
	raw.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var logs lockedWriter
	e := newEnv(func(k string) string { return vars[k] }, io.Discard, &logs)
	cfg, code, ok := parseServe(e, []string{"--addr", "127.0.0.1:0", "--db", db, "--no-demo"})
	if !ok {
		t.Fatalf("parse serve: %d", code)
	}
	cfg.ready = func(a string) { addr <- a }
	go func() { done <- serve(ctx, e, cfg) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve returned early: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	// Sign in as alice (a failed attempt first) and make a personal API token: the answers
	// that carry the session cookie and the token, once, by design, are not recorded; every
	// other answer, the logs and the database are searched for them.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	signIn := func(pw string) *http.Response {
		resp, err := browser.PostForm(base+"/login", url.Values{"username": {"alice"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp
	}
	if resp := signIn(wrongPw); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %s", resp.Status)
	} else {
		b, _ := io.ReadAll(resp.Body)
		record("failed sign-in", resp.Status, string(b))
	}
	if resp := signIn(password); resp.Request.URL.Path != "/orgs" {
		t.Fatalf("signing in led to %s", resp.Request.URL)
	}
	baseURL, _ := url.Parse(base)
	var session string
	for _, c := range jar.Cookies(baseURL) {
		if c.Name == models.SessionCookie {
			session = c.Value
		}
	}
	if len(session) < 40 {
		t.Fatalf("no session cookie: %v", jar.Cookies(baseURL))
	}
	resp, err := browser.PostForm(base+"/account/tokens", url.Values{"name": {"grep"}, "expires_in": {"720h"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	apiToken := regexp.MustCompile(`wdt_[A-Za-z0-9_-]{40,}`).FindString(string(page))
	if resp.StatusCode != http.StatusCreated || apiToken == "" {
		t.Fatalf("creating a token: %s, no token on the page", resp.Status)
	}

	fetch := func(method, path, body string) string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		client := browser
		switch {
		case strings.HasPrefix(path, "/mcp"):
			req.Header.Set("Authorization", "Bearer "+keySecret)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			client = http.DefaultClient
		case strings.HasPrefix(path, "/token"):
			// A script with the personal API token.
			req.URL.Path = strings.TrimPrefix(path, "/token")
			req.Header.Set("Authorization", "Bearer "+apiToken)
			req.Header.Set("Accept", "application/json")
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var hdr bytes.Buffer
		resp.Header.Write(&hdr)
		record(method+" "+path, resp.Status+"\n"+hdr.String()+"\n"+string(b))
		return resp.Status
	}
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	for _, s := range []string{"github", "jira"} {
		if st := fetch("POST", "/mcp/"+s, ping); st != "200 OK" {
			t.Errorf("POST /mcp/%s: %s", s, st)
		}
	}
	for _, p := range []string{"/servers", "/servers/github", "/servers/jira", "/servers/nosuch", "/audit", "/metrics", "/healthz", "/keys/ci-bot",
		"/account", "/users", "/token/orgs/acme/settings", "/token/no-such-page"} {
		if st := fetch("GET", p, ""); p != "/servers/nosuch" && p != "/token/no-such-page" && st != "200 OK" {
			t.Errorf("GET %s: %s", p, st)
		}
	}
	fetch("POST", "/logout", "")
	mu.Lock()
	if got["/github"] != secret+"|" || got["/jira"] != "|"+legacy {
		t.Errorf("the upstream received %q: the gateway must add the stored headers, or this test proves nothing", got)
	}
	mu.Unlock()
	if !strings.Contains(logs.String(), "encrypted the upstream headers an older Warden stored in plain text") {
		t.Errorf("serve did not log sealing the plain-text row:\n%s", logs.String())
	}
	files := map[string][]byte{}
	readFiles := func(when string) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if b, err := os.ReadFile(db + suffix); err == nil {
				files[when+" "+db+suffix] = b
			}
		}
	}
	readFiles("while serving")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
	code, out, errs = runCLIEnv(t, vars, "export", "--db", db)
	record("export", out, errs)
	if code != 0 {
		t.Fatalf("export: %s", errs)
	}
	readFiles("after shutdown")
	record("serve logs", logs.String())

	all := outputs.String()
	for _, v := range []string{secret, strings.TrimPrefix(secret, "Bearer "), legacy, password, wrongPw, session, apiToken} {
		if i := strings.Index(all, v); i >= 0 {
			t.Errorf("an output holds %q:\n%s", v, all[max(0, i-300):min(len(all), i+100)])
		}
	}
	for name, b := range files {
		// The plain-text row was in the file before serve sealed it: SQLite may keep its old
		// bytes in a free page, so only the value set-headers stored is held to zero hits here
		// (the README tells admins to rotate credentials stored by an older Warden).
		if bytes.Contains(b, []byte(strings.TrimPrefix(secret, "Bearer "))) {
			t.Errorf("%s holds the upstream secret", name)
		}
		for what, v := range map[string]string{"password": password, "wrong password": wrongPw, "session id": session, "API token": apiToken} {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds the %s", name, what)
			}
		}
	}
	if len(files) < 2 {
		t.Errorf("read only %d database files", len(files))
	}
}

// lockedWriter is a bytes.Buffer safe for the concurrent writes of a server's logger.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
