package mcpgw

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models/enforce"
	"github.com/warden-mcp/warden/models/live"
)

// Where a request's secret is read from; X-Warden-Key wins over a bearer token.
func TestSecretFrom(t *testing.T) {
	for _, c := range []struct {
		headers []string
		want    string
	}{
		{nil, ""},
		{[]string{"Authorization", "Bearer wdn_a"}, "wdn_a"},
		{[]string{"Authorization", "bearer  wdn_a "}, "wdn_a"},
		{[]string{"Authorization", "Basic d2RuX2E="}, ""},
		{[]string{"Authorization", "Bearer "}, ""},
		{[]string{KeyHeader, " wdn_b "}, "wdn_b"},
		{[]string{KeyHeader, "wdn_b", "Authorization", "Bearer wdn_a"}, "wdn_b"},
		{[]string{KeyHeader, "  ", "Authorization", "Bearer wdn_a"}, "wdn_a"},
	} {
		h := http.Header{}
		for i := 0; i+1 < len(c.headers); i += 2 {
			h.Set(c.headers[i], c.headers[i+1])
		}
		if got := SecretFrom(h); got != c.want {
			t.Errorf("%v: %q, want %q", c.headers, got, c.want)
		}
	}
}

// A request without a secret is told where to send one; the end user and agent come from their
// headers.
func TestPrincipalFrom(t *testing.T) {
	pol := enforce.NewPolicy(testView(t, 1, map[string]live.Upstream{}))
	_, err := PrincipalFrom(pol, http.Header{}, time.Now())
	var ae *enforce.AuthError
	if !errors.As(err, &ae) || ae.Message != "missing Warden key: send Authorization: Bearer <secret> or X-Warden-Key" {
		t.Errorf("no secret: %v", err)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+secretDev)
	h.Set(EndUserHeader, " alice ")
	h.Set(AgentHeader, "shouter")
	pr, err := PrincipalFrom(pol, h, time.Now())
	if err != nil || pr != (enforce.Principal{Key: "dev", EndUser: "alice", Agent: "shouter"}) {
		t.Errorf("principal %+v %v", pr, err)
	}
}
