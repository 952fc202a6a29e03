package main

import (
	"bytes"
	"context"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// --public-url and --trust-proxy: defaults, environment, flags over it, and each mistake a
// usage error naming the flag and the problem.
func TestServePublicURLFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (serveConfig, int, bool, string) {
		var errb bytes.Buffer
		cfg, code, ok := parseServe(env2(env, &errb), args)
		return cfg, code, ok, errb.String()
	}
	cfg, _, ok, errs := parse(nil)
	if !ok || cfg.publicURL != nil || cfg.trustProxy != nil {
		t.Errorf("defaults (public URL from the bound address, no proxy): %v %v %s", cfg.publicURL, cfg.trustProxy, errs)
	}
	cfg, _, ok, errs = parse(map[string]string{"WARDEN_PUBLIC_URL": "https://Warden.Corp.example/", "WARDEN_TRUST_PROXY": "10.0.0.0/8, 192.0.2.7"})
	if !ok || cfg.publicURL.String() != "https://warden.corp.example" ||
		len(cfg.trustProxy) != 2 || cfg.trustProxy[1] != netip.MustParsePrefix("192.0.2.7/32") {
		t.Errorf("environment: %v %v %s", cfg.publicURL, cfg.trustProxy, errs)
	}
	cfg, _, ok, errs = parse(map[string]string{"WARDEN_PUBLIC_URL": "https://warden.corp.example", "WARDEN_TRUST_PROXY": "10.0.0.0/8"},
		"--public-url", "http://127.0.0.1:9000", "--trust-proxy", "")
	if !ok || cfg.publicURL.String() != "http://127.0.0.1:9000" || cfg.trustProxy != nil {
		t.Errorf("flags over environment: %v %v %s", cfg.publicURL, cfg.trustProxy, errs)
	}
	for _, bad := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--public-url", "warden.corp.example"}, "--public-url: \"warden.corp.example\": want an http:// or https:// URL"},
		{nil, []string{"--public-url", "https://warden.corp.example/console"}, `--public-url: "https://warden.corp.example/console": path "/console"`},
		{nil, []string{"--public-url", "https://warden.corp.example/?a=1"}, "give no query"},
		{nil, []string{"--public-url", "https://warden.corp.example/#x"}, "give no fragment"},
		{nil, []string{"--public-url", "https://admin:pw@warden.corp.example"}, "user name or password"},
		{map[string]string{"WARDEN_PUBLIC_URL": "ftp://x"}, nil, "--public-url: \"ftp://x\""},
		{nil, []string{"--trust-proxy", "10.0.0.1/8"}, "--trust-proxy: \"10.0.0.1/8\" has bits set beyond its /8; did you mean 10.0.0.0/8?"},
		{map[string]string{"WARDEN_TRUST_PROXY": "proxy.internal"}, nil, "--trust-proxy: \"proxy.internal\" is not an IP address or prefix"},
	} {
		if _, code, ok, errs := parse(bad.env, bad.args...); ok || code != exitUsage || !strings.Contains(errs, bad.want) {
			t.Errorf("%v %v: ok=%v code=%d %q, want a usage error saying %q", bad.env, bad.args, ok, code, errs, bad.want)
		}
	}
	// --allowed-hosts is gone: --public-url names the console's host.
	if _, code, ok, _ := parse(nil, "--allowed-hosts", "warden.corp.example"); ok || code != exitUsage {
		t.Errorf("--allowed-hosts accepted")
	}
}

// `warden serve` wires the flags: with the default public URL the console answers under
// 127.0.0.1 and localhost on its port; with --public-url under that host; with --trust-proxy
// under the host a trusted proxy forwards, and under no other.
func TestServeConsoleHosts(t *testing.T) {
	db := storetest.DSN(t, store.KindSQLite)
	start := func(cfg serveConfig) string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		addr := make(chan string, 1)
		done := make(chan error, 1)
		var logs bytes.Buffer
		cfg.addr, cfg.db, cfg.noDemo, cfg.ready = "127.0.0.1:0", db, true, func(a string) { addr <- a }
		cfg.readHeaderTimeout, cfg.readTimeout, cfg.writeTimeout, cfg.idleTimeout = 10*time.Second, 10*time.Second, 10*time.Second, 10*time.Second
		cfg.maxBody, cfg.maxSessionsPerKey = 1<<20, 16
		go func() { done <- serve(ctx, env{getenv: os.Getenv, stdout: &bytes.Buffer{}, stderr: &logs}, cfg) }()
		t.Cleanup(func() { cancel(); <-done })
		select {
		case a := <-addr:
			return a
		case err := <-done:
			done <- err
			t.Fatalf("serve returned early: %v\n%s", err, logs.String())
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not start")
		}
		return ""
	}
	get := func(addr, host string, headers ...string) int {
		t.Helper()
		req, err := http.NewRequest("GET", "http://"+addr+"/orgs", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	addr := start(serveConfig{})
	port := addr[strings.LastIndex(addr, ":"):]
	for host, want := range map[string]int{addr: 200, "localhost" + port: 200, "rebind.example" + port: 421, "localhost:1": 421} {
		if code := get(addr, host); code != want {
			t.Errorf("default public URL, Host %s: %d, want %d", host, code, want)
		}
	}
	cfg, _, ok := parseServe(env2(nil, &bytes.Buffer{}), []string{"--public-url", "https://warden.corp.example", "--trust-proxy", "127.0.0.1"})
	if !ok {
		t.Fatal("flags refused")
	}
	addr = start(cfg)
	port = addr[strings.LastIndex(addr, ":"):]
	for _, c := range []struct {
		host    string
		headers []string
		want    int
	}{
		{"warden.corp.example", nil, 200},
		{"localhost" + port, nil, 200},
		{addr, []string{"X-Forwarded-Host", "warden.corp.example", "X-Forwarded-Proto", "https"}, 200},
		{addr, []string{"X-Forwarded-Host", "rebind.example"}, 421},
		{"rebind.example", nil, 421},
	} {
		if code := get(addr, c.host, c.headers...); code != c.want {
			t.Errorf("--public-url, Host %s %v: %d, want %d", c.host, c.headers, code, c.want)
		}
	}
}
