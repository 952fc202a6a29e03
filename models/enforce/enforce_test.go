package enforce

import (
	"errors"
	"fmt"
	"go/build"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
)

// testPolicy is the document of these tests. "gone" has a secret hash in the view but is no
// key of the document (a key deleted, or whose secret was replaced, since the hashes were read).
const testPolicy = `version: 1
servers:
  - name: gosrv
    tools: [add, shout, secret]
  - name: closed
    tools: [nothing]
  - name: empty
organizations:
  - name: acme
    mcp: {servers: [gosrv]}
    deny_tools: [gosrv/secret]
keys:
  - {name: dev, organization: acme, mcp: {servers: [gosrv]}}
  - {name: stale, organization: acme, expires_at: "2020-01-01T00:00:00Z", mcp: {servers: [gosrv]}}
  - {name: later, organization: acme, expires_at: "2030-06-01T12:00:00Z", mcp: {servers: [gosrv]}}
  - {name: garbled, organization: acme, expires_at: "2999-01-01T00:00:00Z", mcp: {servers: [gosrv]}}
  - {name: frozen, organization: acme, blocked: true, mcp: {servers: [gosrv]}}
end_users:
  - {name: eve, deny_tools: [gosrv/add]}
agents:
  - {name: shouter, mcp: {tools: {gosrv: [shout]}}}
`

// now is the clock of the tests: after stale's expiry, before later's.
var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testView builds the view of testPolicy at revision rev. garbled's expiry is replaced by text
// that is no time after validation, as a row edited by hand in the database would be.
func testView(t testing.TB, rev int64) *live.View {
	t.Helper()
	doc, err := models.LoadDocument([]byte(testPolicy))
	if err != nil {
		t.Fatalf("test policy: %v", err)
	}
	for i := range doc.Keys {
		if doc.Keys[i].Name == "garbled" {
			doc.Keys[i].ExpiresAt = "next tuesday"
		}
	}
	keys := map[string]string{}
	for _, name := range []string{"dev", "stale", "later", "garbled", "frozen", "gone"} {
		keys[models.HashSecret("wdn_"+name)] = name
	}
	return &live.View{Revision: rev, Snapshot: resolver.Build(doc), Doc: doc, KeysByHash: keys}
}

func TestAuthenticate(t *testing.T) {
	p := NewPolicy(testView(t, 1))
	cases := []struct {
		name, secret string
		at           time.Time
		key          string // the key authenticated, "" when refused
		want         string // the refusal
		keyFor       string // what KeyFor says when it differs from Authenticate ("" = same)
	}{
		{"valid", "wdn_dev", now, "dev", "", ""},
		{"missing", "", now, "", "missing Warden key", ""},
		{"unknown", "wdn_nope", now, "", "unknown or revoked Warden key", ""},
		{"hash of no key of the document", "wdn_gone", now, "", "unknown or revoked Warden key", ""},
		{"expired", "wdn_stale", now, "", `key "stale" expired at 2020-01-01T00:00:00Z`, ""},
		{"before its expiry", "wdn_later", now, "later", "", ""},
		{"a second before its expiry", "wdn_later", time.Date(2030, 6, 1, 11, 59, 59, 0, time.UTC), "later", "", ""},
		{"at its expiry", "wdn_later", time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC), "", `key "later" expired at 2030-06-01T12:00:00Z`, ""},
		{"expiry in another zone", "wdn_later", time.Date(2030, 6, 1, 13, 0, 0, 0, time.FixedZone("CET", 3600)), "", `key "later" expired at 2030-06-01T12:00:00Z`, ""},
		{"unreadable expiry fails closed", "wdn_garbled", now, "", `key "garbled" has an unreadable expiry and is refused`, ""},
		{"blocked", "wdn_frozen", now, "", `key "frozen" is refused: key "frozen" is blocked: no MCP access`, "frozen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, err := p.Authenticate(c.secret, c.at)
			check(t, "Authenticate", key, err, c.key, c.want)
			if c.keyFor != "" {
				key, err = p.KeyFor(c.secret, c.at)
				check(t, "KeyFor", key, err, c.keyFor, "")
			} else {
				key, err = p.KeyFor(c.secret, c.at)
				check(t, "KeyFor", key, err, c.key, c.want)
			}
		})
	}
}

func check(t *testing.T, fn, key string, err error, wantKey, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil || key != wantKey {
			t.Errorf("%s = %q, %v; want %q", fn, key, err, wantKey)
		}
		return
	}
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Error() != wantErr || key != "" {
		t.Errorf("%s = %q, %v (%T); want *AuthError %q", fn, key, err, err, wantErr)
	}
}

// The access cache holds at most maxCachedAccesses principals: the end user and agent are named
// by clients, so more distinct names must not grow it, and a principal beyond the bound still
// gets its access.
func TestAccessCacheBound(t *testing.T) {
	p := NewPolicy(testView(t, 1))
	for i := range maxCachedAccesses + 50 {
		a, err := p.Access(Principal{Key: "dev", EndUser: fmt.Sprintf("user-%d", i)})
		if err != nil || a.Count() != 2 {
			t.Fatalf("user-%d: %v %v", i, a, err)
		}
	}
	if n := p.cachedAccesses(); n != maxCachedAccesses {
		t.Errorf("the cache holds %d accesses, want %d", n, maxCachedAccesses)
	}
	a, err := p.Access(Principal{Key: "dev", EndUser: "eve"})
	if err != nil || !slices.Equal(a["gosrv"], []string{"shout"}) || a.Count() != 1 {
		t.Errorf("eve beyond the bound: %v %v", a, err)
	}
	if n := p.cachedAccesses(); n != maxCachedAccesses {
		t.Errorf("after eve the cache holds %d accesses", n)
	}
}

// A cached access is the one computed for that exact principal.
func TestAccessCachedPerPrincipal(t *testing.T) {
	p := NewPolicy(testView(t, 1))
	for range 2 {
		for pr, want := range map[Principal][]string{
			{Key: "dev"}:                   {"add", "shout"},
			{Key: "dev", EndUser: "eve"}:   {"shout"},
			{Key: "dev", Agent: "shouter"}: {"shout"},
			{Key: "frozen"}:                nil,
		} {
			a, err := p.Access(pr)
			if err != nil || !slices.Equal(a["gosrv"], want) {
				t.Errorf("%+v: %v %v, want %v", pr, a, err, want)
			}
		}
	}
	if _, err := p.Access(Principal{Key: "dev", Agent: "ghost"}); err == nil || !strings.Contains(err.Error(), `unknown agent "ghost"`) {
		t.Errorf("unknown agent: %v", err)
	}
	if n := p.cachedAccesses(); n != 4 {
		t.Errorf("the cache holds %d accesses, want 4 (an error is not cached)", n)
	}
}

func TestDecide(t *testing.T) {
	p := NewPolicy(testView(t, 1))
	cases := []struct {
		pr           Principal
		tool         string
		allowed      bool
		by           resolver.DecidedBy
		reasonSubstr string
	}{
		{Principal{Key: "dev"}, "add", true, "", ""},
		{Principal{Key: "dev"}, "secret", false, resolver.ByOrganization, `tool gosrv/secret is denied by organization "acme"`},
		{Principal{Key: "dev", EndUser: "eve"}, "add", false, resolver.ByEndUser, `denied by end user "eve"`},
		{Principal{Key: "dev", Agent: "ghost"}, "add", false, resolver.ByAgent, `unknown agent "ghost"`},
	}
	for _, c := range cases {
		d, reason := p.Decide(c.pr, "gosrv", c.tool)
		if d.Allowed != c.allowed || (!c.allowed && d.DecidedBy != c.by) || !strings.Contains(reason, c.reasonSubstr) || (c.allowed && reason != "") {
			t.Errorf("%+v %s: %+v %q", c.pr, c.tool, d, reason)
		}
	}
}

func TestNoAccessReason(t *testing.T) {
	p := NewPolicy(testView(t, 1))
	for server, want := range map[string]string{
		"closed": `tool closed/nothing is denied by organization "acme"`,
		"empty":  `server "empty" has no tools in its catalogue`,
	} {
		if got := p.NoAccessReason(Principal{Key: "dev"}, server); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", server, got, want)
		}
	}
	for server, want := range map[string]bool{"gosrv": true, "closed": true, "empty": true, "nowhere": false} {
		if p.Known(server) != want {
			t.Errorf("Known(%s) = %v", server, !want)
		}
	}
}

// views is a Views whose answer the test sets.
type views struct {
	v   *live.View
	err error
}

func (v *views) View() (*live.View, error) { return v.v, v.err }

// The Enforcer fails closed without a view to trust, reports the revision of a view it refuses,
// and derives a Policy once per view.
func TestEnforcerPolicy(t *testing.T) {
	vs := &views{}
	e := NewEnforcer(vs, func() time.Time { return now })
	if e.Now() != now {
		t.Errorf("Now = %v", e.Now())
	}
	if p, rev, err := e.Policy(); p != nil || rev != 0 || err == nil || err.Error() != "no policy loaded" {
		t.Errorf("no view: %v %d %v", p, rev, err)
	}
	v1 := testView(t, 7)
	vs.v, vs.err = v1, &live.StaleError{Revision: 7, Age: time.Minute, MaxStale: time.Second}
	if p, rev, err := e.Policy(); p != nil || rev != 7 || err == nil {
		t.Errorf("stale view: %v %d %v", p, rev, err)
	}
	vs.err = nil
	p1, rev, err := e.Policy()
	if err != nil || rev != 7 || p1.View != v1 {
		t.Fatalf("view: %v %d %v", p1, rev, err)
	}
	if p, _, _ := e.Policy(); p != p1 {
		t.Error("the same view derived a new Policy")
	}
	vs.v = testView(t, 8)
	if p, rev, _ := e.Policy(); p == p1 || rev != 8 || p.View != vs.v {
		t.Errorf("a new view kept the old Policy (rev %d)", rev)
	}
	if _, _, err := NewEnforcer(StaticViews{}, nil).Policy(); err == nil {
		t.Error("StaticViews without a view gave a policy")
	}
}

// A stale view's cause (a database error, which may name its host) is not shown to clients.
func TestPolicyError(t *testing.T) {
	err := fmt.Errorf("view: %w", &live.StaleError{Revision: 7, Age: time.Minute, MaxStale: time.Second,
		Cause: "dial tcp 10.1.2.3:5432: connect: connection refused"})
	got := PolicyError(err)
	if strings.Contains(got, "10.1.2.3") || !strings.Contains(got, "revision 7") {
		t.Errorf("PolicyError = %q", got)
	}
	if got := PolicyError(errors.New("no policy loaded")); got != "no policy loaded" {
		t.Errorf("PolicyError = %q", got)
	}
}

// The package holds no HTTP: every enforcement point, whatever its transport, can use it.
func TestNoHTTP(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "net/http") || strings.Contains(imp, "gin-gonic") || strings.Contains(imp, "warden/handlers") {
			t.Errorf("package enforce imports %s", imp)
		}
	}
}
