package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/seal"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

const upstreamSecret = "Bearer up-s3cret-7f3a"

// Upstream headers go into the database sealed, bound to their server: the column never holds
// the value, they read back with the key, and read under no key, another key, altered, or moved
// to another server's row, they fail for that server alone, naming it.
func TestUpstreamHeadersSealedAtRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		set := map[string]string{"Authorization": upstreamSecret, "X-Api-Key": "k-9911"}
		if err := st.SetServerAuthHeaders(ctx, "github", set, "test"); err != nil {
			t.Fatal(err)
		}
		if err := st.SetServerAuthHeaders(ctx, "jira", map[string]string{"X-Api-Key": "jira-key-5"}, "test"); err != nil {
			t.Fatal(err)
		}
		raw := storetest.QueryString(t, st, "SELECT auth_headers FROM servers WHERE name = 'github'")
		if !strings.HasPrefix(raw, "v1:") || strings.Contains(raw, "s3cret") || strings.Contains(raw, "k-9911") || strings.Contains(raw, "Authorization") {
			t.Fatalf("the column holds %q", raw)
		}
		got, err := st.ServerAuthHeaders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h := got["github"]; h.Err != nil || h.Headers["Authorization"] != upstreamSecret || h.Headers["X-Api-Key"] != "k-9911" {
			t.Fatalf("github read back %+v", h)
		}
		audit := storetest.QueryString(t, st, "SELECT after || ' ' || summary FROM audit_events WHERE action = 'set_auth_headers' AND entity_name = 'github'")
		if strings.Contains(audit, "s3cret") || !strings.Contains(audit, "Authorization, X-Api-Key") {
			t.Errorf("audit event %q", audit)
		}

		// The same database through stores with no key and with another key.
		other, _ := seal.ParseKey("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo=")
		for _, c := range []struct {
			name string
			opts []store.Option
			want string
		}{
			{"no key", nil, "WARDEN_SECRET_KEY is not set"},
			{"another key", []store.Option{store.WithSecretKey(other)}, "sealed under another WARDEN_SECRET_KEY"},
		} {
			s2, err := store.Open(ctx, st.DSN(), c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s2.ServerAuthHeaders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, srv := range []string{"github", "jira"} {
				h := got[srv]
				if h.Err == nil || h.Headers != nil || !strings.Contains(h.Err.Error(), c.want) || !strings.Contains(h.Err.Error(), `server "`+srv+`"`) {
					t.Errorf("%s: %s read back %+v, want an error naming it saying %q", c.name, srv, h, c.want)
				}
			}
			if c.opts == nil {
				err = s2.SetServerAuthHeaders(ctx, "github", map[string]string{"Authorization": "x"}, "test")
				if models.ErrorCode(err) != models.EInvalid || !strings.Contains(err.Error(), "openssl rand -base64 32") {
					t.Errorf("storing without a key: %v", err)
				}
			}
			s2.Close()
		}

		// github's sealed value copied into jira's row does not open there; github still does.
		storetest.Exec(t, st, "UPDATE servers SET auth_headers = (SELECT auth_headers FROM servers WHERE name = 'github') WHERE name = 'jira'")
		got, _ = st.ServerAuthHeaders(ctx)
		if h := got["jira"]; h.Err == nil || !strings.Contains(h.Err.Error(), `server "jira"`) || !strings.Contains(h.Err.Error(), "copied from another row") {
			t.Errorf("moved value: %+v", h)
		}
		if got["github"].Err != nil {
			t.Errorf("github after jira broke: %v", got["github"].Err)
		}
		// One character of the ciphertext altered.
		b := []byte(raw)
		if b[len(b)-3] == 'A' {
			b[len(b)-3] = 'B'
		} else {
			b[len(b)-3] = 'A'
		}
		storetest.Exec(t, st, "UPDATE servers SET auth_headers = '"+string(b)+"' WHERE name = 'github'")
		got, _ = st.ServerAuthHeaders(ctx)
		if h := got["github"]; h.Err == nil || !strings.Contains(h.Err.Error(), "altered") {
			t.Errorf("altered value: %+v", h)
		}

		// Clearing needs no key and leaves the column empty.
		if err := st.SetServerAuthHeaders(ctx, "github", nil, "test"); err != nil {
			t.Fatal(err)
		}
		if raw := storetest.QueryString(t, st, "SELECT auth_headers FROM servers WHERE name = 'github'"); raw != "" {
			t.Errorf("cleared column %q", raw)
		}
		// Headers the gateway may not add are refused, naming the header, never the value.
		for _, h := range []map[string]string{{"Connection": "close"}, {"Bad Name": "v"}, {"X-A": "v\nX-B: w"}} {
			if err := st.SetServerAuthHeaders(ctx, "github", h, "test"); models.ErrorCode(err) != models.EInvalid {
				t.Errorf("%v: %v", h, err)
			}
		}
		if err := st.SetServerAuthHeaders(ctx, "nosuch", map[string]string{"X-A": "v"}, "test"); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("unknown server: %v", err)
		}
	})
}

// Rows an older Warden wrote in plain text are not used until sealed; SealPlaintextHeaders
// seals them in place, in one transaction, bumping the revision.
func TestSealPlaintextHeaders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		if err := st.SetServerAuthHeaders(ctx, "jira", map[string]string{"X-Api-Key": "jira-key-5"}, "test"); err != nil {
			t.Fatal(err)
		}
		sealedJira := storetest.QueryString(t, st, "SELECT auth_headers FROM servers WHERE name = 'jira'")
		storetest.Exec(t, st, `UPDATE servers SET auth_headers = '{"Authorization":"`+upstreamSecret+`"}' WHERE name = 'github'`)
		got, _ := st.ServerAuthHeaders(ctx)
		if h := got["github"]; h.Err == nil || !strings.Contains(h.Err.Error(), "plain text") || !strings.Contains(h.Err.Error(), "warden server set-headers github") {
			t.Fatalf("plain-text row read as %+v", h)
		}
		noKey, err := store.Open(ctx, st.DSN())
		if err != nil {
			t.Fatal(err)
		}
		defer noKey.Close()
		if _, err := noKey.SealPlaintextHeaders(ctx, "test"); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("sealing without a key: %v", err)
		}
		rev, _ := st.Revision(ctx)
		names, err := st.SealPlaintextHeaders(ctx, "test")
		if err != nil || len(names) != 1 || names[0] != "github" {
			t.Fatalf("sealed %v, %v", names, err)
		}
		if after, _ := st.Revision(ctx); after != rev+1 {
			t.Errorf("revision %d -> %d", rev, after)
		}
		raw := storetest.QueryString(t, st, "SELECT auth_headers FROM servers WHERE name = 'github'")
		if !strings.HasPrefix(raw, "v1:") || strings.Contains(raw, "s3cret") {
			t.Errorf("github's column %q", raw)
		}
		if storetest.QueryString(t, st, "SELECT auth_headers FROM servers WHERE name = 'jira'") != sealedJira {
			t.Error("an already sealed row was rewritten")
		}
		got, _ = st.ServerAuthHeaders(ctx)
		if h := got["github"]; h.Err != nil || h.Headers["Authorization"] != upstreamSecret {
			t.Errorf("github after sealing %+v", h)
		}
		if names, err := st.SealPlaintextHeaders(ctx, "test"); err != nil || len(names) != 0 {
			t.Errorf("second run sealed %v, %v", names, err)
		}
		if after, _ := st.Revision(ctx); after != rev+1 {
			t.Errorf("a run with nothing to seal bumped the revision to %d", after)
		}
	})
}
