package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// wantRules is who may use every route the router registers. A route missing here, or
// registered with another rule, fails TestRouteRoles: adding a route means deciding here who
// may use it.
var wantRules = func() map[string]access {
	m := map[string]access{
		"GET /static/*filepath":      public,
		"HEAD /static/*filepath":     public,
		"GET /favicon.ico":           public,
		"GET /healthz":               public,
		"GET /metrics":               public,
		"POST /api/v1/check":         public,
		"GET /api/v1/access":         public,
		"GET /api/v1/policy":         signedIn,
		"POST /api/v1/policy":        admin,
		"POST /api/v1/policy/replay": signedIn,

		"GET /login":                                 guest,
		"POST /login":                                guest,
		"POST /logout":                               signedIn,
		"GET /auth/oidc/login":                       guest,
		"GET /auth/oidc/callback":                    guest,
		"GET /account":                               signedIn,
		"POST /account/password":                     signedIn,
		"POST /account/tokens":                       signedIn,
		"POST /account/tokens/:id/revoke":            signedIn,
		"GET /users":                                 admin,
		"POST /users":                                admin,
		"POST /users/:name/delete":                   admin,
		"GET /":                                      signedIn,
		"GET /orgs":                                  signedIn,
		"GET /orgs/:org/settings":                    signedIn,
		"POST /orgs/:org/settings/preview":           signedIn,
		"POST /orgs/:org/settings":                   writer,
		"POST /orgs/:org/settings/rebase":            writer,
		"POST /orgs/:org/settings/why":               signedIn,
		"GET /orgs/:org/settings/tool-limit/:server": signedIn,
		"GET /teams":                                 signedIn,
		"GET /keys":                                  signedIn,
		"GET /keys/:key":                             signedIn,
		"GET /servers":                               signedIn,
		"GET /servers/:server":                       signedIn,
		"GET /toolsets":                              signedIn,
		"GET /access-groups":                         signedIn,
		"GET /audit":                                 signedIn,
		"GET /guards":                                signedIn,
		"GET /guards/new":                            signedIn,
		"POST /guards/new":                           admin,
		"POST /guards/preview":                       signedIn,
		"GET /guards/:guard":                         signedIn,
		"POST /guards/:guard":                        admin,
		"POST /guards/:guard/delete":                 admin,
		"GET /access/tools":                          signedIn,
		"GET /access/tools.csv":                      signedIn,
		"GET /access/unused":                         signedIn,
		"GET /access/unused.csv":                     signedIn,
		"GET /decisions":                             signedIn,
		"GET /decisions.csv":                         signedIn,

		"GET /servers/new":                           signedIn,
		"POST /servers":                              admin,
		"GET /servers/:server/settings":              signedIn,
		"POST /servers/:server/settings/preview":     signedIn,
		"POST /servers/:server/settings":             admin,
		"POST /servers/:server/settings/why":         signedIn,
		"POST /servers/:server/delete":               admin,
		"POST /servers/:server/headers":              admin,
		"POST /servers/:server/sync":                 admin,
		"POST /servers/:server/sync/apply":           admin,
		"GET /access-groups/new":                     signedIn,
		"POST /access-groups":                        admin,
		"GET /access-groups/:name/settings":          signedIn,
		"POST /access-groups/:name/settings/preview": signedIn,
		"POST /access-groups/:name/settings":         admin,
		"POST /access-groups/:name/settings/why":     signedIn,
		"POST /access-groups/:name/delete":           admin,
		"GET /toolsets/new":                          signedIn,
		"POST /toolsets":                             admin,
		"GET /toolsets/:name/settings":               signedIn,
		"POST /toolsets/:name/settings/preview":      signedIn,
		"POST /toolsets/:name/settings":              admin,
		"POST /toolsets/:name/settings/why":          signedIn,
		"POST /toolsets/:name/delete":                admin,
		"GET /audit/:id":                             signedIn,
		"GET /audit/:id/revert":                      signedIn,
		"GET /import":                                signedIn,
		"POST /import":                               signedIn,
		"POST /import/apply":                         admin,
		"GET /export":                                signedIn,
	}
	// Principals below the organization: every signed-in role reads and previews; teams and
	// keys are written by their organizations' org_admins, end users and agents by admins.
	for _, k := range []struct {
		path, one string
		write     access
	}{{"/teams", "/teams/:team", writer}, {"/keys", "/keys/:key", writer}, {"/end-users", "/end-users/:user", admin}, {"/agents", "/agents/:agent", admin}} {
		for _, r := range []string{"GET " + k.path + "/new", "POST " + k.path + "/new/preview", "POST " + k.path + "/new/why",
			"GET " + k.path + "/new/tool-limit/:server", "GET " + k.one + "/settings", "POST " + k.one + "/settings/preview",
			"POST " + k.one + "/settings/why", "GET " + k.one + "/settings/tool-limit/:server", "GET " + k.one + "/delete"} {
			m[r] = signedIn
		}
		for _, r := range []string{"POST " + k.path, "POST " + k.one + "/settings", "POST " + k.one + "/settings/rebase", "POST " + k.one + "/delete"} {
			m[r] = k.write
		}
	}
	m["GET /end-users"], m["GET /agents"] = signedIn, signedIn
	m["POST /keys/:key/secret"], m["POST /keys/:key/revoke"] = writer, writer
	for _, p := range []string{"/mcp", "/mcp/:server"} {
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "HEAD", "OPTIONS", "DELETE", "CONNECT", "TRACE"} {
			m[method+" "+p] = public
		}
	}
	return m
}()

// params fills a route's parameters with names from the demo policy, all of acme's (so an
// org_admin of acme may write them and one of globex may not).
var params = map[string]string{
	":org": "acme", ":server": "github", ":key": "ci-bot", ":team": "platform", ":name": "nobody-here",
	":id": "1", "*filepath": "warden.css", ":guard": "few-executors",
	":user": "alice", ":agent": "triage-agent",
}

// role is one kind of caller of TestRouteRoles.
type role struct {
	name   string
	cookie func(t *testing.T, st *store.Store) *http.Cookie // nil: anonymous
}

var roles = []role{
	{"anonymous", nil},
	{"viewer", func(t *testing.T, st *store.Store) *http.Cookie {
		return storetest.Session(t, st, "vera", models.RoleViewer)
	}},
	{"org_admin of acme", func(t *testing.T, st *store.Store) *http.Cookie {
		return storetest.Session(t, st, "olga", models.RoleOrgAdmin, "acme")
	}},
	{"org_admin of globex", func(t *testing.T, st *store.Store) *http.Cookie {
		return storetest.Session(t, st, "gus", models.RoleOrgAdmin, "globex")
	}},
	{"admin", func(t *testing.T, st *store.Store) *http.Cookie {
		return storetest.Session(t, st, "ada", models.RoleAdmin)
	}},
}

// noOrganization are the writer routes whose target, with the table's body ("x=1"), belongs to
// no organization: creating a team or key without one.
var noOrganization = map[string]bool{"POST /teams": true, "POST /keys": true}

// allowed is whether a role passes a rule on a route whose target belongs to acme.
func allowed(rule access, role string) bool {
	switch rule {
	case public, guest:
		return true
	case signedIn:
		return role != "anonymous"
	case writer:
		return role == "admin" || role == "org_admin of acme"
	}
	return role == "admin"
}

// Every route the router registers × every role (and anonymous): allowed or refused as
// wantRules says. Refused: anonymous gets the sign-in page (a page load) or 401, a signed-in
// role 403 with the error page, and nothing is written (the policy revision and the audit log
// stay as they were). Allowed: anything but those refusals. Public routes answer every caller
// alike (the gateway authenticates by key secret, never by console session).
func TestRouteRoles(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.KindSQLite)
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustApply(t, st, doc)
	state := live.New(st, live.Options{})
	if err := state.Load(ctx); err != nil {
		t.Fatal(err)
	}
	metrics := live.NewMetrics(func() float64 { return 0 })
	// Single sign-on configured, so its routes are in the table (a real provider: discovery
	// runs at configuration).
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	sso, err := handlers.NewOIDC(ctx, handlers.OIDCConfig{Issuer: idp.Issuer(), ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		RedirectURL: "http://example.com" + handlers.OIDCCallbackPath, Roles: []handlers.RoleRule{{Role: models.RoleViewer, Group: "everyone"}}})
	if err != nil {
		t.Fatal(err)
	}
	h, rules := newEngine(Deps{Store: st, State: state, Metrics: metrics, Logger: slog.New(slog.DiscardHandler), PublicURL: &url.URL{Scheme: "http", Host: "example.com"},
		Auth: AuthConfig{OIDC: sso}})

	// The table and the router agree, route for route.
	registered := map[string]bool{}
	for _, r := range h.Routes() {
		key := r.Method + " " + r.Path
		registered[key] = true
		want, ok := wantRules[key]
		switch got, has := rules[key]; {
		case !has:
			t.Errorf("%s is registered without an access rule (use the router's get/post/handle)", key)
		case !ok:
			t.Errorf("%s (%s) is not in wantRules: decide who may use it", key, got)
		case got != want:
			t.Errorf("%s is %s, want %s", key, got, want)
		}
	}
	for key := range wantRules {
		if !registered[key] {
			t.Errorf("wantRules lists %s, which the router does not register", key)
		}
	}

	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		rule := rules[key]
		method, path, _ := strings.Cut(key, " ")
		for p, v := range params {
			path = strings.ReplaceAll(path, p, v)
		}
		publicStatus := 0
		for _, ro := range roles {
			rev, _ := st.Revision(ctx)
			events := auditCount(t, st)
			req := httptest.NewRequest(method, "http://example.com"+path, strings.NewReader("x=1"))
			if method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if ro.cookie != nil {
				req.AddCookie(ro.cookie(t, st))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			code, loc := w.Code, w.Header().Get("Location")
			// Only a page load is sent to sign in; POST /logout's own answer goes there too.
			toLogin := (method == http.MethodGet || method == http.MethodHead) && code == http.StatusSeeOther && strings.HasPrefix(loc, "/login")
			refused := code == http.StatusUnauthorized || code == http.StatusForbidden || toLogin
			if rule == public {
				if publicStatus == 0 {
					publicStatus = code
				} else if code != publicStatus {
					t.Errorf("%s as %s: %d, but %d for anonymous: a public route must not depend on the console session", key, ro.name, code, publicStatus)
				}
				continue
			}
			want := allowed(rule, ro.name)
			if noOrganization[key] {
				// The table's body names no organization: what it would create belongs to
				// none, which only an admin may write (handlers.allowOrgs with no names).
				want = ro.name == "admin"
			}
			switch {
			case want && refused:
				t.Errorf("%s as %s: refused (%d %s), want allowed (rule %s)", key, ro.name, code, loc, rule)
			case !want && !refused:
				t.Errorf("%s as %s: %d, want refused (rule %s)", key, ro.name, code, rule)
			case !want:
				if ro.name == "anonymous" && !(toLogin || code == http.StatusUnauthorized) {
					t.Errorf("%s anonymous: %d, want the sign-in page or 401", key, code)
				}
				if ro.name != "anonymous" && (code != http.StatusForbidden || !strings.Contains(w.Body.String(), `data-testid="error-page"`)) {
					t.Errorf("%s as %s: %d, want 403 with the error page:\n%.300s", key, ro.name, code, w.Body.String())
				}
				if now, _ := st.Revision(ctx); now != rev || auditCount(t, st) != events {
					t.Errorf("%s as %s was refused but wrote: revision %d→%d, audit events %d→%d", key, ro.name, rev, now, events, auditCount(t, st))
				}
			}
		}
	}
}

func auditCount(t *testing.T, st *store.Store) int {
	t.Helper()
	ev, err := st.ListAuditEvents(context.Background(), store.AuditFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}
