package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

// The single sign-on tests run Warden's real router against a real OpenID provider in the
// process (mockoidc: discovery, a JWKS, an authorization endpoint that approves the user
// queued for it, a token endpoint that checks the client secret and the PKCE verifier and
// signs RS256 ID tokens). go-oidc and oauth2 run unmodified in Warden; what a test changes is
// the provider: the user it signs in (and the claims it gives them), or the keys it publishes.

// idp is the provider of a test.
type idp struct {
	m *mockoidc.MockOIDC
	// published, when set, is the key set the provider's JWKS shows instead of its signing
	// key's: its tokens are then signed by a key it does not publish.
	published atomic.Pointer[mockoidc.Keypair]
}

func startIDP(t testing.TB) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{m: m}
	if err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if kp := p.published.Load(); kp != nil && r.URL.Path == mockoidc.JWKSEndpoint {
				b, err := kp.JWKS()
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(b)
				return
			}
			next.ServeHTTP(w, r)
		})
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// person is a user at the provider. tamper, when set, changes the ID token's registered
// claims before the provider signs them; groupsClaim, when set, moves the groups to a claim of
// that name.
type person struct {
	mockoidc.MockUser
	tamper      func(c *mockoidc.IDTokenClaims)
	groupsClaim string
}

func (p *person) Claims(scopes []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if p.tamper != nil {
		p.tamper(base)
	}
	c, err := p.MockUser.Claims(scopes, base)
	if err != nil || p.groupsClaim == "" {
		return c, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m jwt.MapClaims
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m[p.groupsClaim] = m["groups"]
	delete(m, "groups")
	return m, nil
}

func jane(groups ...string) *person {
	return &person{MockUser: mockoidc.MockUser{Subject: "00u-jane", Email: "jane@corp.example", EmailVerified: true,
		PreferredUsername: "Jane.Doe", Groups: groups}}
}

// The role mapping of the tests.
var testRules = []string{"admin=warden-admins", "viewer=everyone", "org_admin:acme=acme-admins", "org_admin:globex=globex-admins"}

// demoState puts the demo policy in st and returns its loaded live state.
func demoState(t testing.TB, st *store.Store) *live.State {
	t.Helper()
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	storetest.MustApply(t, st, doc)
	state := live.New(st, live.Options{})
	if err := state.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return state
}

// ssoConsole is Warden with single sign-on through p, on st.
type ssoConsole struct {
	st  *store.Store
	srv *httptest.Server
	p   *idp
}

func newSSOConsole(t testing.TB, st *store.Store, p *idp, tweak func(*handlers.OIDCConfig)) *ssoConsole {
	t.Helper()
	return newSSOConsoleAt(t, st, p, tweak, "http")
}

// newSSOConsoleAt is newSSOConsole served over scheme, http or https (its public URL's scheme:
// over https the cookies are Secure and __Host- named).
func newSSOConsoleAt(t testing.TB, st *store.Store, p *idp, tweak func(*handlers.OIDCConfig), scheme string) *ssoConsole {
	t.Helper()
	state := demoState(t, st)
	// Two replicas behind a round-robin balancer, each with its own go-oidc state (key cache):
	// a sign-in's redirect and its callback are served by different replicas, so the flow must
	// live in the database.
	srv := httptest.NewUnstartedServer(nil)
	var rules []handlers.RoleRule
	for _, s := range testRules {
		r, err := handlers.ParseRoleRule(s)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	cfg := handlers.OIDCConfig{Issuer: p.m.Issuer(), ClientID: p.m.ClientID, ClientSecret: p.m.ClientSecret, Name: "Corp SSO",
		RedirectURL: scheme + "://" + srv.Listener.Addr().String() + handlers.OIDCCallbackPath, Roles: rules}
	if tweak != nil {
		tweak(&cfg)
	}
	var replicas [2]http.Handler
	for i := range replicas {
		sso, err := handlers.NewOIDC(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		replicas[i] = web.New(web.Deps{Store: st, State: state, ListenAddr: srv.Listener.Addr().String(), Auth: web.AuthConfig{OIDC: sso},
			PublicURL: &url.URL{Scheme: scheme, Host: srv.Listener.Addr().String()}})
	}
	var n atomic.Uint64
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		replicas[n.Add(1)%uint64(len(replicas))].ServeHTTP(w, r)
	})
	if scheme == "https" {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return &ssoConsole{st: st, srv: srv, p: p}
}

// client is a browserClient that trusts the console's certificate.
func (w *ssoConsole) client(t testing.TB) *http.Client {
	c := browserClient(t)
	c.Transport = w.srv.Client().Transport
	return c
}

// browserClient keeps cookies and does not follow redirects: each step is checked.
func browserClient(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// reply is one answer of Warden or the provider, as a browser would get it.
type reply struct {
	status   int
	location string
	body     string
	header   http.Header
}

// load GETs u as a page load (Accept: text/html), following no redirect.
func load(t testing.TB, c *http.Client, u string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header.Get("Location"), string(b), resp.Header}
}

// begin starts a sign-in and returns the provider's authorization URL Warden redirects to.
func (w *ssoConsole) begin(t testing.TB, c *http.Client, next string) *url.URL {
	t.Helper()
	r := load(t, c, w.srv.URL+handlers.OIDCLoginPath+"?next="+url.QueryEscape(next))
	if r.status != http.StatusSeeOther {
		t.Fatalf("GET %s: %d, want 303 to the provider\n%s", handlers.OIDCLoginPath, r.status, errorMessage(r.body))
	}
	u, err := url.Parse(r.location)
	if err != nil || !strings.HasPrefix(r.location, w.p.m.AuthorizationEndpoint()+"?") {
		t.Fatalf("redirected to %q, want the provider's authorization endpoint %s", r.location, w.p.m.AuthorizationEndpoint())
	}
	return u
}

// authorize sends the browser to the provider's authorization URL and returns Warden's
// callback URL it comes back with.
func (w *ssoConsole) authorize(t testing.TB, c *http.Client, auth *url.URL) string {
	t.Helper()
	r := load(t, c, auth.String())
	if r.status != http.StatusFound || !strings.HasPrefix(r.location, w.srv.URL+handlers.OIDCCallbackPath+"?") {
		t.Fatalf("provider answered %d to %s, Location %q\n%s", r.status, auth, r.location, r.body)
	}
	return r.location
}

// signIn is a whole sign-in of who: the callback's answer.
func (w *ssoConsole) signIn(t testing.TB, c *http.Client, who mockoidc.User, next string) reply {
	t.Helper()
	w.p.m.QueueUser(who)
	return load(t, c, w.authorize(t, c, w.begin(t, c, next)))
}

// signedInAs says who the client's session is (the account page), "" when it has none.
func (w *ssoConsole) signedInAs(t testing.TB, c *http.Client) string {
	t.Helper()
	r := load(t, c, w.srv.URL+"/account")
	if r.status == http.StatusSeeOther && strings.HasPrefix(r.location, "/login") {
		return ""
	}
	if r.status != http.StatusOK {
		t.Fatalf("GET /account: %d\n%s", r.status, r.body)
	}
	u, err := w.st.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range u {
		if strings.Contains(r.body, ">"+x.Username+"<") {
			return x.Username
		}
	}
	t.Fatalf("the account page names no user:\n%s", r.body)
	return ""
}

// wantRefusal checks a callback's answer is the error page with status and a message
// containing msg, and that it signed nobody in.
func wantRefusal(t testing.TB, r reply, status int, msg string) {
	t.Helper()
	if r.status != status || !strings.Contains(r.body, `data-testid="error-page"`) || !strings.Contains(r.body, msg) {
		t.Fatalf("callback answered %d, want the %d error page saying %q:\n%s", r.status, status, msg, errorMessage(r.body))
	}
	for _, sc := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "warden_session=") && !strings.Contains(sc, "Max-Age=0") {
			t.Fatalf("a refused sign-in set a session cookie: %s", sc)
		}
	}
}

// errorMessage is the message of an error page, or the page when it is not one.
func errorMessage(body string) string {
	if _, rest, ok := strings.Cut(body, `data-testid="error-message">`); ok {
		msg, _, _ := strings.Cut(rest, "<")
		return msg
	}
	return body
}

func userNamed(t testing.TB, st *store.Store, name string) *models.User {
	t.Helper()
	u, err := st.UserByName(context.Background(), name)
	if err != nil {
		t.Fatalf("user %q: %v", name, err)
	}
	return u
}

func TestOIDCSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := startIDP(t)
		w := newSSOConsole(t, st, p, nil)
		c := browserClient(t)

		// The sign-in page offers it.
		if r := load(t, c, w.srv.URL+"/login"); !strings.Contains(r.body, "Sign in with Corp SSO") {
			t.Fatalf("the sign-in page has no single sign-on button:\n%s", r.body)
		}

		// The redirect: code flow, our client and callback, the scopes, a state, a nonce and an
		// S256 PKCE challenge; the state also in an HttpOnly SameSite=Lax cookie.
		p.m.QueueUser(jane("everyone", "unrelated"))
		loginReply := load(t, c, w.srv.URL+handlers.OIDCLoginPath+"?next=/keys")
		auth, err := url.Parse(loginReply.location)
		if err != nil {
			t.Fatal(err)
		}
		q := auth.Query()
		for k, want := range map[string]string{"response_type": "code", "client_id": p.m.ClientID,
			"redirect_uri": w.srv.URL + handlers.OIDCCallbackPath, "code_challenge_method": "S256"} {
			if q.Get(k) != want {
				t.Errorf("authorization URL %s = %q, want %q", k, q.Get(k), want)
			}
		}
		if got := strings.Fields(q.Get("scope")); !slices.Equal(got, []string{"openid", "profile", "email", "groups"}) {
			t.Errorf("scopes %v", got)
		}
		for _, k := range []string{"state", "nonce", "code_challenge"} {
			if len(q.Get(k)) < 43 { // 256 bits, base64url
				t.Errorf("%s %q is missing or short", k, q.Get(k))
			}
		}
		if q.Get("state") == q.Get("nonce") {
			t.Error("state and nonce are the same value")
		}
		sc := strings.Join(loginReply.header.Values("Set-Cookie"), "\n")
		if !strings.Contains(sc, "warden_oidc_state="+q.Get("state")) || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
			t.Errorf("state cookie: %s", sc)
		}

		// The provider approves; the callback exchanges the code (the provider checks the PKCE
		// verifier), verifies the ID token, creates the user with the mapped role and signs in.
		callback := w.authorize(t, c, auth)
		r := load(t, c, callback)
		if r.status != http.StatusSeeOther || r.location != "/keys" {
			t.Fatalf("callback: %d to %q, want 303 to /keys\n%s", r.status, r.location, r.body)
		}
		if who := w.signedInAs(t, c); who != "jane.doe" {
			t.Fatalf("signed in as %q, want jane.doe", who)
		}
		u := userNamed(t, st, "jane.doe")
		if u.Role != models.RoleViewer || len(u.Orgs) != 0 || u.OIDCSubject == nil || *u.OIDCSubject != p.m.Issuer()+" 00u-jane" || u.PasswordHash != "" {
			t.Fatalf("created user: role %s orgs %v subject %v hash %q", u.Role, u.Orgs, u.OIDCSubject, u.PasswordHash)
		}
		events, err := st.ListAuditEvents(ctx, store.AuditFilter{EntityKind: models.KindUser, EntityName: "jane.doe"})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action+" by "+e.Actor)
		}
		if !slices.Contains(actions, "create_user by single sign-on ("+p.m.Issuer()+")") || !slices.Contains(actions, "sign_in by jane.doe") {
			t.Errorf("audit events: %v", actions)
		}

		// The same callback again: its state was used (the cookie put back, as an attacker
		// replaying a captured callback from the same browser would).
		cbURL, _ := url.Parse(callback)
		c.Jar.SetCookies(cbURL, []*http.Cookie{{Name: "warden_oidc_state", Value: cbURL.Query().Get("state"), Path: "/"}})
		wantRefusal(t, load(t, c, callback), http.StatusBadRequest, "already used")

		// Groups change at the provider: each sign-in re-reads them. Highest role wins; an
		// org_admin administers the union of its groups' organizations.
		for _, tc := range []struct {
			groups []string
			role   models.Role
			orgs   []string
		}{
			{[]string{"everyone", "warden-admins"}, models.RoleAdmin, nil},
			{[]string{"globex-admins", "everyone", "acme-admins"}, models.RoleOrgAdmin, []string{"acme", "globex"}},
			{[]string{"acme-admins"}, models.RoleOrgAdmin, []string{"acme"}},
			{[]string{"acme-admins", "warden-admins"}, models.RoleAdmin, nil},
		} {
			c := browserClient(t)
			if r := w.signIn(t, c, jane(tc.groups...), "/"); r.status != http.StatusSeeOther || r.location != "/" {
				t.Fatalf("groups %v: callback %d %q\n%s", tc.groups, r.status, r.location, r.body)
			}
			if u := userNamed(t, st, "jane.doe"); u.Role != tc.role || !slices.Equal(u.Orgs, tc.orgs) {
				t.Errorf("groups %v: role %s of %v, want %s of %v", tc.groups, u.Role, u.Orgs, tc.role, tc.orgs)
			}
		}

		// A personal API token, then the groups stop mapping to any role: refused, with every
		// session and token of the user ended.
		u = userNamed(t, st, "jane.doe")
		secret := handlers.TokenPrefix + "test-token-of-jane"
		if err := st.CreateAPIToken(ctx, &models.APIToken{UserID: u.ID, Name: "ci", TokenHash: models.HashSecret(secret), Prefix: secret[:8]}, u.Username); err != nil {
			t.Fatal(err)
		}
		other := browserClient(t)
		wantRefusal(t, w.signIn(t, other, jane("contractors"), "/"), http.StatusForbidden, "(contractors) give you no role in Warden")
		if who := w.signedInAs(t, c); who != "" {
			t.Errorf("the earlier session still signs in as %q", who)
		}
		toks, err := st.APITokens(ctx, u.ID)
		if err != nil || len(toks) != 1 || toks[0].Active(time.Now()) {
			t.Errorf("API tokens after the refusal: %+v, %v", toks, err)
		}
		events, err = st.ListAuditEvents(ctx, store.AuditFilter{EntityKind: models.KindUser, EntityName: "jane.doe", Limit: 1})
		if err != nil || len(events) != 1 || events[0].Action != "sign_in_refused" {
			t.Errorf("last audit event: %+v, %v", events, err)
		}
		// A first sign-in in no mapped group creates nobody.
		wantRefusal(t, w.signIn(t, other, &person{MockUser: mockoidc.MockUser{Subject: "00u-bob", PreferredUsername: "bob", Groups: []string{"contractors"}}}, "/"),
			http.StatusForbidden, "give you no role")
		if _, err := st.UserByName(ctx, "bob"); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("bob: %v, want not found", err)
		}
	})
}

func TestOIDCRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := startIDP(t)
		w := newSSOConsole(t, st, p, nil)
		m := p.m

		tamper := func(f func(c *mockoidc.IDTokenClaims)) *person {
			u := jane("warden-admins")
			u.tamper = f
			return u
		}
		for _, tc := range []struct {
			name   string
			who    *person
			status int
			msg    string
		}{
			{"issuer", tamper(func(c *mockoidc.IDTokenClaims) { c.Issuer = "https://impostor.example/oidc" }),
				http.StatusUnauthorized, "issued by a different provider"},
			{"audience", tamper(func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-app"} }),
				http.StatusUnauthorized, "expected audience"},
			{"several audiences, no azp", tamper(func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{m.ClientID, "another-app"} }),
				http.StatusUnauthorized, "authorized party (azp)"},
			// Beyond go-oidc's leeway (none on exp) by far: an hour-old token.
			{"expired", tamper(func(c *mockoidc.IDTokenClaims) {
				at := time.Now().Add(-2 * time.Hour)
				c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(at), jwt.NewNumericDate(at), jwt.NewNumericDate(at.Add(time.Hour))
			}), http.StatusUnauthorized, "token is expired"},
			{"username not valid", &person{MockUser: mockoidc.MockUser{Subject: "00u-x", PreferredUsername: "Jane Doe!", Groups: []string{"everyone"}}},
				http.StatusUnprocessableEntity, "cannot be a Warden username"},
			{"no username", &person{MockUser: mockoidc.MockUser{Subject: "00u-y", Groups: []string{"everyone"}}},
				http.StatusUnprocessableEntity, "neither a preferred_username nor an email"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := browserClient(t)
				wantRefusal(t, w.signIn(t, c, tc.who, "/"), tc.status, tc.msg)
				if who := w.signedInAs(t, c); who != "" {
					t.Errorf("signed in as %q", who)
				}
			})
		}
		if n, err := st.CountUsers(ctx); err != nil || n != 0 {
			t.Fatalf("users after the refusals: %d, %v", n, err)
		}

		t.Run("signature", func(t *testing.T) {
			// A provider publishing a key it does not sign with, to a Warden that has not
			// seen its real key (go-oidc keeps the keys it fetched, and fetches again for a
			// key it does not know: it finds only the published one).
			p := startIDP(t)
			other, err := mockoidc.RandomKeypair(2048)
			if err != nil {
				t.Fatal(err)
			}
			p.published.Store(other)
			w := newSSOConsole(t, storetest.Open(t, st.Kind()), p, nil)
			wantRefusal(t, w.signIn(t, browserClient(t), jane("warden-admins"), "/"), http.StatusUnauthorized, "failed to verify signature")
			// The same provider publishing its signing key again: the same sign-in passes (so
			// the refusal was the key's).
			p.published.Store(nil)
			if r := w.signIn(t, browserClient(t), jane("warden-admins"), "/"); r.status != http.StatusSeeOther {
				t.Fatalf("with the right key published: %d %s", r.status, errorMessage(r.body))
			}
		})

		t.Run("nonce of another flow", func(t *testing.T) {
			// Two sign-ins started; the provider is sent the second's request carrying the
			// first's nonce: the ID token it returns is not the second flow's.
			c := browserClient(t)
			first := w.begin(t, c, "/")
			second := w.begin(t, c, "/")
			q := second.Query()
			q.Set("nonce", first.Query().Get("nonce"))
			second.RawQuery = q.Encode()
			m.QueueUser(jane("warden-admins"))
			wantRefusal(t, load(t, c, w.authorize(t, c, second)), http.StatusUnauthorized, "nonce differs")
		})

		t.Run("PKCE challenge altered", func(t *testing.T) {
			// The provider checks the verifier Warden sends against the challenge it was
			// given: a challenge not Warden's cannot be redeemed.
			c := browserClient(t)
			auth := w.begin(t, c, "/")
			q := auth.Query()
			q.Set("code_challenge", strings.Repeat("A", 43))
			auth.RawQuery = q.Encode()
			m.QueueUser(jane("warden-admins"))
			wantRefusal(t, load(t, c, w.authorize(t, c, auth)), http.StatusBadGateway, "invalid_grant")
		})

		t.Run("callback in another browser", func(t *testing.T) {
			// Login CSRF: an attacker starts a sign-in as themselves and sends the victim's
			// browser the callback. The victim's browser has no state cookie.
			attacker, victim := browserClient(t), browserClient(t)
			m.QueueUser(jane("warden-admins"))
			callback := w.authorize(t, attacker, w.begin(t, attacker, "/"))
			wantRefusal(t, load(t, victim, callback), http.StatusBadRequest, "not started in this browser")
			// Nor does the victim's own state cookie of another sign-in make it pass.
			w.begin(t, victim, "/")
			wantRefusal(t, load(t, victim, callback), http.StatusBadRequest, "not started in this browser")
		})

		t.Run("state not ours", func(t *testing.T) {
			c := browserClient(t)
			w.begin(t, c, "/")
			u, _ := url.Parse(w.srv.URL)
			c.Jar.SetCookies(u, []*http.Cookie{{Name: "warden_oidc_state", Value: "made-up", Path: "/"}})
			wantRefusal(t, load(t, c, w.srv.URL+handlers.OIDCCallbackPath+"?code=x&state=made-up"), http.StatusBadRequest, "already used")
		})

		t.Run("provider error", func(t *testing.T) {
			c := browserClient(t)
			state := w.begin(t, c, "/").Query().Get("state")
			r := load(t, c, w.srv.URL+handlers.OIDCCallbackPath+"?"+url.Values{"state": {state}, "error": {"access_denied"},
				"error_description": {"The user is not assigned to this application"}}.Encode())
			wantRefusal(t, r, http.StatusForbidden, "Corp SSO did not sign you in (access_denied): The user is not assigned to this application")
			// The same answer in a browser that did not start the sign-in (a link someone
			// sent): its words are not shown.
			r = load(t, browserClient(t), w.srv.URL+handlers.OIDCCallbackPath+"?"+url.Values{"state": {"x"}, "error": {"access_denied"},
				"error_description": {"Call the help desk at +1 555 0100"}}.Encode())
			wantRefusal(t, r, http.StatusBadRequest, "not started in this browser")
			if strings.Contains(r.body, "help desk") {
				t.Error("a made-up error_description was shown")
			}
			// The flow ended with it.
			if _, err := st.TakeOIDCFlow(ctx, models.HashSecret(state), time.Hour); models.ErrorCode(err) != models.ENotFound {
				t.Errorf("the flow outlived the provider's error: %v", err)
			}
		})

		t.Run("username of a local user", func(t *testing.T) {
			if _, err := st.CreateUser(ctx, store.NewUser{Username: "sam", Role: models.RoleViewer, PasswordHash: "x"}, "test"); err != nil {
				t.Fatal(err)
			}
			sam := &person{MockUser: mockoidc.MockUser{Subject: "00u-sam", PreferredUsername: "sam", Groups: []string{"warden-admins"}}}
			wantRefusal(t, w.signIn(t, browserClient(t), sam, "/"), http.StatusConflict, "already exists")
			if u := userNamed(t, st, "sam"); u.Role != models.RoleViewer || u.OIDCSubject != nil {
				t.Errorf("the local user changed: %+v", u)
			}
		})
	})
}

// Over https (the public URL's scheme) the state cookie is Secure and named __Host-, like the
// session cookie, and the whole sign-in works with them.
func TestOIDCOverHTTPS(t *testing.T) {
	w := newSSOConsoleAt(t, storetest.Open(t, store.KindSQLite), startIDP(t), nil, "https")
	c := w.client(t)
	r := load(t, c, w.srv.URL+handlers.OIDCLoginPath)
	sc := strings.Join(r.header.Values("Set-Cookie"), "\n")
	if !strings.HasPrefix(sc, "__Host-warden_oidc_state=") || !strings.Contains(sc, "; Secure") || !strings.Contains(sc, "Path=/;") {
		t.Fatalf("state cookie over https: %s", sc)
	}
	w.p.m.QueueUser(jane("everyone"))
	auth, _ := url.Parse(r.location)
	r = load(t, c, w.authorize(t, c, auth))
	if sc := strings.Join(r.header.Values("Set-Cookie"), "\n"); r.status != http.StatusSeeOther ||
		!strings.Contains(sc, "__Host-warden_session=") || !strings.Contains(sc, "__Host-warden_oidc_state=; Path=/; Max-Age=0") {
		t.Fatalf("callback over https: %d %s\n%s", r.status, sc, errorMessage(r.body))
	}
	if who := w.signedInAs(t, c); who != "jane.doe" {
		t.Fatalf("signed in as %q", who)
	}
}

// The groups claim is configurable (Entra ID and others name it "roles", Keycloak what the
// mapper says), and email stands in for a missing preferred_username.
func TestOIDCGroupsClaimAndEmail(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	p := startIDP(t)
	w := newSSOConsole(t, st, p, func(c *handlers.OIDCConfig) { c.GroupsClaim = "roles" })
	who := &person{MockUser: mockoidc.MockUser{Subject: "00u-kim", Email: "Kim@Corp.Example", Groups: []string{"warden-admins"}}, groupsClaim: "roles"}
	c := browserClient(t)
	if r := w.signIn(t, c, who, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("callback %d\n%s", r.status, r.body)
	}
	if u := userNamed(t, st, "kim@corp.example"); u.Role != models.RoleAdmin {
		t.Fatalf("role %s", u.Role)
	}
	// Under the default claim name the same token carries no groups.
	w2 := newSSOConsole(t, storetest.Open(t, store.KindSQLite), p, nil)
	wantRefusal(t, w2.signIn(t, browserClient(t), who, "/"), http.StatusForbidden, "(none) give you no role")
}

func TestOIDCDiscovery(t *testing.T) {
	p := startIDP(t)
	rule, _ := handlers.ParseRoleRule("viewer=everyone")
	base := handlers.OIDCConfig{ClientID: "warden", ClientSecret: "s", Roles: []handlers.RoleRule{rule}}

	cfg := base
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/oidc"
	ln.Close()
	cfg.Issuer = dead
	if _, err := handlers.NewOIDC(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "discover the OpenID provider at "+dead+"/.well-known/openid-configuration") {
		t.Errorf("unreachable issuer: %v", err)
	}

	// The provider's issuer under another name: its discovery document names the real one.
	cfg.Issuer = strings.Replace(p.m.Issuer(), "127.0.0.1", "localhost", 1)
	if _, err := handlers.NewOIDC(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "names the issuer \""+p.m.Issuer()+"\"") {
		t.Errorf("issuer mismatch: %v", err)
	}

	cfg.Issuer = p.m.Issuer()
	cfg.Roles = nil
	if _, err := handlers.NewOIDC(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "--oidc-role") {
		t.Errorf("no roles: %v", err)
	}
}

// BenchmarkOIDCSignIn is one whole single sign-on of a returning user: Warden's redirect, the
// provider's approval, and the callback (code exchange, ID token verification, role update,
// new session), on SQLite, provider and Warden in the process.
func BenchmarkOIDCSignIn(b *testing.B) {
	st := storetest.Open(b, store.KindSQLite)
	w := newSSOConsole(b, st, startIDP(b), nil)
	c := browserClient(b)
	for b.Loop() {
		if r := w.signIn(b, c, jane("everyone"), "/"); r.status != http.StatusSeeOther {
			b.Fatalf("callback %d: %s", r.status, errorMessage(r.body))
		}
	}
}
