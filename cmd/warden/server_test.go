package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/seal"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// runCLIStdin is runCLIEnv with standard input.
func runCLIStdin(t *testing.T, stdin string, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := newEnv(func(k string) string { return vars[k] }, &out, &errb)
	e.stdin = strings.NewReader(stdin)
	code := runEnv(context.Background(), e, args)
	return code, out.String(), errb.String()
}

const headerSecret = "Bearer cli-s3cret-42"

func TestServerSetHeaders(t *testing.T) {
	withKey := map[string]string{seal.EnvVar: storetest.SecretKey}
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := storetest.DSN(t, kind)
			if code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, doc)); code != 0 {
				t.Fatalf("import: %s", errs)
			}
			column := func() string {
				st, err := store.Open(context.Background(), db)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				return storetest.QueryString(t, st, "SELECT auth_headers FROM servers WHERE name = 'github'")
			}
			input := "authorization: " + headerSecret + "\r\n\nX-Api-Key:  k-77  \n"

			// Without WARDEN_SECRET_KEY, or with a weak one: refused, saying how to make one.
			for _, vars := range []map[string]string{nil, {seal.EnvVar: "c2hvcnQ="}} {
				code, out, errs := runCLIStdin(t, input, vars, "server", "set-headers", "github", "--db", db)
				if code != exitUsage || out != "" || !strings.Contains(errs, "WARDEN_SECRET_KEY") ||
					!strings.Contains(errs, "openssl rand -base64 32") || strings.Contains(errs, "s3cret") {
					t.Errorf("key %v: exit %d, stdout %q, stderr %q", vars, code, out, errs)
				}
			}
			if c := column(); c != "" {
				t.Fatalf("a refused set-headers wrote %q", c)
			}

			code, out, errs := runCLIStdin(t, input, withKey, "server", "set-headers", "github", "--db", db, "--actor", "ops")
			if code != 0 || out != "" || !strings.Contains(errs, "Authorization, X-Api-Key") || strings.Contains(errs, "s3cret") || strings.Contains(errs, "k-77") {
				t.Fatalf("set: exit %d, stdout %q, stderr %q", code, out, errs)
			}
			if c := column(); !strings.HasPrefix(c, "v1:") || strings.Contains(c, "s3cret") {
				t.Fatalf("column %q", c)
			}
			st, err := store.Open(context.Background(), db, store.WithSecretKey(storetest.Key(t)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.ServerAuthHeaders(context.Background())
			st.Close()
			if h := got["github"]; err != nil || h.Err != nil || h.Headers["Authorization"] != headerSecret || h.Headers["X-Api-Key"] != "k-77" || len(h.Headers) != 2 {
				t.Fatalf("read back %+v %v", h, err)
			}

			// Bad input: the line number, never the value; nothing written.
			before := column()
			for _, c := range []struct{ in, want string }{
				{"X-A: 1\nno colon here\n", "line 2: "},
				{"Bad Name: " + headerSecret + "\n", `line 1: "Bad Name" is not a valid HTTP header name`},
				{"X-Api-Key: a\n\nx-api-key: " + headerSecret + "\n", "line 3: header X-Api-Key is already set on line 1"},
				{"Connection: close\n", "line 1: Connection is a hop-by-hop header"},
				{"X-A: ok\nTransfer-Encoding: chunked\n", "line 2: Transfer-Encoding is a hop-by-hop header"},
				{"Authorization:\n", "line 1: Authorization has an empty value"},
			} {
				code, out, errs := runCLIStdin(t, c.in, withKey, "server", "set-headers", "github", "--db", db)
				if code != exitUsage || out != "" || !strings.Contains(errs, c.want) || strings.Contains(errs, "s3cret") {
					t.Errorf("%q: exit %d, stderr %q, want %q", c.in, code, errs, c.want)
				}
			}
			if column() != before {
				t.Error("refused input changed the row")
			}
			if code, _, errs := runCLIStdin(t, "X-A: 1\n", withKey, "server", "set-headers", "nosuch", "--db", db); code != exitUsage || !strings.Contains(errs, `unknown server "nosuch"`) {
				t.Errorf("unknown server: exit %d %s", code, errs)
			}

			// Empty input clears, with or without a key.
			if code, _, errs := runCLIStdin(t, "\n  \n", nil, "server", "set-headers", "--db", db, "github"); code != 0 || !strings.Contains(errs, "cleared") {
				t.Errorf("clear: exit %d %s", code, errs)
			}
			if c := column(); c != "" {
				t.Errorf("cleared column %q", c)
			}
		})
	}
	for _, args := range [][]string{{"server"}, {"server", "rename", "x"}, {"server", "set-headers"}, {"server", "set-headers", "a", "b"}} {
		if code, _, _ := runCLIStdin(t, "", nil, args...); code != exitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

// A malformed or weak WARDEN_SECRET_KEY stops serve (and every command that writes) before the
// database is touched, saying how to make a good one.
func TestBadSecretKeyRefusedAtStart(t *testing.T) {
	db := storetest.DSN(t, store.KindSQLite)
	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0", "--db", db}, {"import", "--db", db, "-f", writeFile(t, doc)}} {
		code, _, errs := runCLIEnv(t, map[string]string{seal.EnvVar: strings.Repeat("A", 44)}, args...)
		if code != exitUsage || !strings.Contains(errs, "WARDEN_SECRET_KEY does not look random") || !strings.Contains(errs, "openssl rand -base64 32") {
			t.Errorf("%s: exit %d, stderr %q", args[0], code, errs)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a refused start created the database")
	}
}
