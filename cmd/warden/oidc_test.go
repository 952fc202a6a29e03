package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// The --oidc-* flags: environment, flags over it, the secret from the environment only, and
// each incomplete set-up a usage error saying what is missing.
func TestServeOIDCFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (serveConfig, int, bool, string) {
		var errb bytes.Buffer
		cfg, code, ok := parseServe(env2(env, &errb), args)
		return cfg, code, ok, errb.String()
	}
	rules := func(c serveConfig) string {
		var s []string
		for _, r := range c.oidc.roles {
			s = append(s, r.String())
		}
		return strings.Join(s, " | ")
	}
	cfg, _, ok, errs := parse(nil)
	if !ok || cfg.oidc.issuer != "" || cfg.oidc.groupsClaim != "groups" || cfg.oidc.scopes != "openid profile email groups" {
		t.Errorf("defaults: %+v %s", cfg.oidc, errs)
	}
	env := map[string]string{"WARDEN_OIDC_ISSUER": "https://dex.corp.example", "WARDEN_OIDC_CLIENT_ID": "warden",
		"WARDEN_OIDC_CLIENT_SECRET": "s3cret", "WARDEN_OIDC_ROLES": "admin=warden-admins; org_admin:acme=Acme Admins\nviewer=everyone",
		"WARDEN_OIDC_NAME": "Dex", "WARDEN_OIDC_GROUPS_CLAIM": "roles", "WARDEN_OIDC_SCOPES": "openid email"}
	cfg, _, ok, errs = parse(env)
	if !ok || cfg.oidc.issuer != "https://dex.corp.example" || cfg.oidc.clientSecret != "s3cret" || cfg.oidc.name != "Dex" ||
		cfg.oidc.groupsClaim != "roles" || cfg.oidc.scopes != "openid email" ||
		rules(cfg) != "admin=warden-admins | org_admin:acme=Acme Admins | viewer=everyone" {
		t.Errorf("environment: %+v %s", cfg.oidc, errs)
	}
	// --oidc-role given replaces WARDEN_OIDC_ROLES, and repeats.
	cfg, _, ok, errs = parse(env, "--oidc-role", "viewer=staff", "--oidc-role", "org_admin:globex=globex-admins", "--oidc-client-id", "other")
	if !ok || rules(cfg) != "viewer=staff | org_admin:globex=globex-admins" || cfg.oidc.clientID != "other" {
		t.Errorf("flags over environment: %s %+v %s", rules(cfg), cfg.oidc, errs)
	}
	noSecret := map[string]string{"WARDEN_OIDC_ISSUER": "https://dex.corp.example", "WARDEN_OIDC_CLIENT_ID": "warden", "WARDEN_OIDC_ROLES": "viewer=x"}
	for _, bad := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{noSecret, nil, "needs the client secret in env WARDEN_OIDC_CLIENT_SECRET"},
		{nil, []string{"--oidc-issuer", "https://dex.corp.example"}, "--oidc-issuer needs --oidc-client-id"},
		{map[string]string{"WARDEN_OIDC_CLIENT_SECRET": "s"}, []string{"--oidc-issuer", "https://x", "--oidc-client-id", "w"}, "at least one --oidc-role"},
		{nil, []string{"--oidc-role", "viewer=x"}, "need --oidc-issuer"},
		{nil, []string{"--oidc-role", "org_admin=x"}, "org_admin needs its organization"},
		{map[string]string{"WARDEN_OIDC_ROLES": "boss=x"}, nil, `WARDEN_OIDC_ROLES: role mapping "boss=x"`},
	} {
		if _, code, ok, errs := parse(bad.env, bad.args...); ok || code != exitUsage || !strings.Contains(errs, bad.want) {
			t.Errorf("%v %v: ok=%v code=%d %q, want a usage error saying %q", bad.env, bad.args, ok, code, errs, bad.want)
		}
	}
	// There is no flag for the secret: it would show in ps.
	if _, code, ok, _ := parse(nil, "--oidc-client-secret", "s"); ok || code != exitUsage {
		t.Error("--oidc-client-secret accepted")
	}
}

// An issuer that does not answer stops serve before it listens, saying which URL it tried.
func TestServeOIDCUnreachableIssuer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	ln.Close()
	var errb bytes.Buffer
	e := env2(map[string]string{"WARDEN_OIDC_CLIENT_SECRET": "s"}, &errb)
	cfg, _, ok := parseServe(e, []string{"--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "w.db"), "--no-demo",
		"--oidc-issuer", issuer, "--oidc-client-id", "warden", "--oidc-role", "viewer=everyone"})
	if !ok {
		t.Fatal(errb.String())
	}
	cfg.ready = func(string) { t.Error("serve listened with no provider") }
	err = serve(context.Background(), e, cfg)
	if err == nil || !strings.Contains(err.Error(), "single sign-on: discover the OpenID provider at "+issuer+"/.well-known/openid-configuration") {
		t.Fatalf("serve: %v", err)
	}
}
