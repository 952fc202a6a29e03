package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// The limits and timeouts of `warden serve`: defaults, environment, flags.
func TestServeFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (serveConfig, int, bool, string) {
		var errb bytes.Buffer
		cfg, code, ok := parseServe(env2(env, &errb), args)
		return cfg, code, ok, errb.String()
	}
	cfg, _, ok, errs := parse(nil)
	if !ok {
		t.Fatal(errs)
	}
	if cfg.readHeaderTimeout != 10*time.Second || cfg.readTimeout != 30*time.Second || cfg.writeTimeout != 60*time.Second ||
		cfg.idleTimeout != 120*time.Second || cfg.maxBody != 4<<20 || cfg.maxSessionsPerKey != 16 || cfg.sessionTimeout != 30*time.Minute {
		t.Errorf("defaults: %+v", cfg)
	}
	srv := httpServer(cfg, http.NotFoundHandler())
	if srv.ReadHeaderTimeout != cfg.readHeaderTimeout || srv.ReadTimeout != cfg.readTimeout || srv.WriteTimeout != cfg.writeTimeout || srv.IdleTimeout != cfg.idleTimeout {
		t.Errorf("http.Server: %+v", srv)
	}

	cfg, _, ok, errs = parse(map[string]string{"WARDEN_READ_TIMEOUT": "5s", "WARDEN_MAX_BODY": "64KiB", "WARDEN_MAX_SESSIONS_PER_KEY": "3",
		"WARDEN_WRITE_TIMEOUT": "7s", "WARDEN_IDLE_TIMEOUT": "8s", "WARDEN_READ_HEADER_TIMEOUT": "2s", "WARDEN_SESSION_TIMEOUT": "1m"})
	if !ok || cfg.readTimeout != 5*time.Second || cfg.maxBody != 64<<10 || cfg.maxSessionsPerKey != 3 || cfg.writeTimeout != 7*time.Second ||
		cfg.idleTimeout != 8*time.Second || cfg.readHeaderTimeout != 2*time.Second || cfg.sessionTimeout != time.Minute {
		t.Errorf("environment: %+v %s", cfg, errs)
	}
	cfg, _, ok, errs = parse(map[string]string{"WARDEN_MAX_BODY": "64KiB"}, "--max-body", "1000", "--read-timeout", "1s", "--max-sessions-per-key", "2")
	if !ok || cfg.maxBody != 1000 || cfg.readTimeout != time.Second || cfg.maxSessionsPerKey != 2 {
		t.Errorf("flags over environment: %+v %s", cfg, errs)
	}
	for _, bad := range [][]string{{"--max-body", "0"}, {"--max-body", "4MB"}, {"--max-sessions-per-key", "0"}, {"--read-timeout", "soon"}} {
		if _, code, ok, _ := parse(nil, bad...); ok || code != exitUsage {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, code, ok, errs := parse(map[string]string{"WARDEN_MAX_BODY": "lots"}); ok || code != exitUsage || !strings.Contains(errs, "WARDEN_MAX_BODY") {
		t.Errorf("bad WARDEN_MAX_BODY: %v %s", ok, errs)
	}
}

// The body budget of `warden serve`: defaults, environment, flags, and a budget too small for
// the body limit refused at start.
func TestServeBodyBudgetFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (serveConfig, int, bool, string) {
		var errb bytes.Buffer
		cfg, code, ok := parseServe(env2(env, &errb), args)
		return cfg, code, ok, errb.String()
	}
	cfg, _, ok, errs := parse(nil)
	if !ok || cfg.maxBodyInflightPerKey != 32<<20 || cfg.maxBodyInflight != 256<<20 {
		t.Errorf("defaults: %+v %s", cfg, errs)
	}
	cfg, _, ok, errs = parse(map[string]string{"WARDEN_MAX_BODY_INFLIGHT_PER_KEY": "8MiB", "WARDEN_MAX_BODY_INFLIGHT": "64MiB"})
	if !ok || cfg.maxBodyInflightPerKey != 8<<20 || cfg.maxBodyInflight != 64<<20 {
		t.Errorf("environment: %+v %s", cfg, errs)
	}
	cfg, _, ok, errs = parse(map[string]string{"WARDEN_MAX_BODY_INFLIGHT_PER_KEY": "8MiB"},
		"--max-body-inflight-per-key", "5MiB", "--max-body-inflight", "1GiB")
	if !ok || cfg.maxBodyInflightPerKey != 5<<20 || cfg.maxBodyInflight != 1<<30 {
		t.Errorf("flags over environment: %+v %s", cfg, errs)
	}
	for _, bad := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--max-body-inflight-per-key", "1MiB"}, "must be at least --max-body"},
		{nil, []string{"--max-body", "64MiB"}, "must be at least --max-body"},
		{nil, []string{"--max-body-inflight", "16MiB"}, "must be at least --max-body-inflight-per-key"},
		{nil, []string{"--max-body-inflight", "0"}, "positive size"},
		{map[string]string{"WARDEN_MAX_BODY_INFLIGHT": "much"}, nil, "WARDEN_MAX_BODY_INFLIGHT"},
	} {
		if _, code, ok, errs := parse(bad.env, bad.args...); ok || code != exitUsage || !strings.Contains(errs, bad.want) {
			t.Errorf("%v %v accepted or unexplained: %s", bad.env, bad.args, errs)
		}
	}
}

func env2(vars map[string]string, stderr io.Writer) env {
	return newEnv(func(k string) string { return vars[k] }, io.Discard, stderr)
}

// `warden serve` with tiny timeouts: a request trickling its headers or its body is cut (with
// a valid key and without one), a form post over --max-body gets 413, while an event stream
// through the gateway that stays silent for longer than every timeout still arrives.
func TestServeTimeouts(t *testing.T) {
	// The upstream: a GET stream silent for a second, then one event.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"late\"}}\n\n")
	}))
	defer up.Close()
	db := storetest.DSN(t, store.KindSQLite)
	policy := fmt.Sprintf(`version: 1
servers:
  - {name: slow, url: %q, tools: [echo]}
organizations:
  - {name: acme, mcp: {servers: [slow]}}
keys:
  - {name: k, organization: acme}
`, up.URL+"/mcp")
	if code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, policy)); code != 0 {
		t.Fatal(errs)
	}
	code, secret, errs := runCLI(t, "key", "secret", "k", "--db", db)
	if code != 0 {
		t.Fatal(errs)
	}
	secret = strings.TrimSpace(secret)

	const tiny = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	cfg := serveConfig{addr: "127.0.0.1:0", db: db, noDemo: true, ready: func(a string) { addr <- a },
		readHeaderTimeout: tiny, readTimeout: tiny, writeTimeout: tiny, idleTimeout: tiny, maxBody: 1024, maxSessionsPerKey: 16}
	go func() { done <- serve(ctx, env{getenv: os.Getenv, stdout: io.Discard, stderr: &logs}, cfg) }()
	var base string
	select {
	case a := <-addr:
		base = a
	case err := <-done:
		t.Fatalf("serve returned early: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}

	for _, c := range []struct{ name, head string }{
		{"headers", "GET /orgs HTTP/1.1\r\nHost: x\r\nX-Slow: "},
		{"body without a key", "POST /mcp/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"},
		{"body with a key", "POST /mcp/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"},
		{"console form", "POST /orgs/acme/settings/preview HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 900\r\n\r\na="},
	} {
		if !trickleIsCut(t, base, c.head) {
			t.Errorf("%s: a trickling request held its connection", c.name)
		}
	}

	// A form post over --max-body.
	resp, err := http.Post("http://"+base+"/orgs/acme/settings/preview", "application/x-www-form-urlencoded", strings.NewReader("a="+strings.Repeat("x", 2000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("form post over --max-body: %d", resp.StatusCode)
	}

	// The silent stream.
	req, _ := http.NewRequest(http.MethodGet, "http://"+base+"/mcp/slow", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Accept", "text/event-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	got := ""
	for sc.Scan() {
		got += sc.Text() + "\n"
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(got, `"data":"late"`) || sc.Err() != nil {
		t.Errorf("stream silent for longer than the timeouts: %d %q %v", resp.StatusCode, got, sc.Err())
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// trickleIsCut sends head and then a byte every 50 ms, and reports whether the server closed
// the connection before 200 bytes went (10 s, against timeouts of 300 ms).
func trickleIsCut(t *testing.T, addr, head string) bool {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, head)
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(closed)
	}()
	for i := 0; i < 200; i++ {
		select {
		case <-closed:
			return true
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := c.Write([]byte("x")); err != nil {
			return true
		}
	}
	return false
}
