package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// --log-level and --log-format: defaults, environment, flags over environment, bad values.
func TestLogFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (logConfig, bool, string) {
		var errb bytes.Buffer
		cfg, _, ok := parseServe(env2(env, &errb), args)
		return cfg.log, ok, errb.String()
	}
	if l, ok, errs := parse(nil); !ok || slog.Level(l.level) != slog.LevelInfo || l.format != "text" {
		t.Errorf("defaults: %+v %s", l, errs)
	}
	if l, ok, errs := parse(map[string]string{"WARDEN_LOG_LEVEL": "debug", "WARDEN_LOG_FORMAT": "json"}); !ok || slog.Level(l.level) != slog.LevelDebug || l.format != "json" {
		t.Errorf("environment: %+v %s", l, errs)
	}
	if l, ok, errs := parse(map[string]string{"WARDEN_LOG_LEVEL": "debug", "WARDEN_LOG_FORMAT": "json"}, "--log-level", "warn", "--log-format", "text"); !ok || slog.Level(l.level) != slog.LevelWarn || l.format != "text" {
		t.Errorf("flags over environment: %+v %s", l, errs)
	}
	for _, bad := range [][]string{{"--log-level", "verbose"}, {"--log-format", "xml"}} {
		if _, ok, _ := parse(nil, bad...); ok {
			t.Errorf("%v accepted", bad)
		}
	}
	for _, v := range []string{"WARDEN_LOG_LEVEL", "WARDEN_LOG_FORMAT"} {
		if _, ok, errs := parse(map[string]string{v: "loud"}); ok || !strings.Contains(errs, v) {
			t.Errorf("bad %s: %v %q", v, ok, errs)
		}
	}
}

// `warden serve` logs one line a request by default, with the id the response carries
// (X-Request-Id); --log-format json writes it as JSON; --log-level warn leaves it out.
func TestServeLogsRequests(t *testing.T) {
	db := storetest.DSN(t, store.KindSQLite)
	lines := func(args ...string) ([]string, string) {
		cfg, _, ok := parseServe(env2(nil, io.Discard), append([]string{"--addr", "127.0.0.1:0", "--db", db}, args...))
		if !ok {
			t.Fatalf("parse %v", args)
		}
		addr := make(chan string, 1)
		cfg.ready = func(a string) { addr <- a }
		ctx, cancel := context.WithCancel(context.Background())
		logs := &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- serve(ctx, env2(nil, logs), cfg) }()
		var base string
		select {
		case base = <-addr:
		case err := <-done:
			t.Fatalf("serve returned early: %v\n%s", err, logs)
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not start")
		}
		resp, err := http.Get("http://" + base + "/no-such-page")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var out []string
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		return out, resp.Header.Get("X-Request-Id")
	}

	out, id := lines()
	if id == "" {
		t.Fatal("no X-Request-Id")
	}
	var found bool
	for _, l := range out {
		if strings.Contains(l, "level=INFO msg=http ") && strings.Contains(l, "request_id="+id+" ") && strings.Contains(l, "status=404") {
			found = true
		}
	}
	if !found {
		t.Errorf("no text request line with request_id=%s:\n%s", id, strings.Join(out, "\n"))
	}

	out, id = lines("--log-format", "json")
	found = false
	for _, l := range out {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("--log-format json wrote a line that is not JSON: %q", l)
		}
		if rec["level"] == "INFO" && rec["msg"] == "http" && rec["request_id"] == id && rec["status"] == float64(404) {
			found = true
		}
	}
	if !found {
		t.Errorf("no JSON request line with request_id %s:\n%s", id, strings.Join(out, "\n"))
	}

	out, id = lines("--log-level", "warn")
	for _, l := range out {
		if strings.Contains(l, id) || strings.Contains(l, "level=INFO") {
			t.Errorf("--log-level warn wrote %q", l)
		}
	}
}

// syncBuffer is a bytes.Buffer the server's goroutines may write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
