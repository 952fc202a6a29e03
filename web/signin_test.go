package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

// signInConsole serves the demo policy with sign-in limits small enough to reach in a test
// and no delay (the delay's schedule is not what these tests are about).
func signInConsole(t *testing.T, public *url.URL, limits handlers.LoginLimits) (*httptest.Server, *store.Store) {
	t.Helper()
	st := storetest.Open(t, store.KindSQLite)
	state := demoState(t, st)
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = web.New(web.Deps{Store: st, State: state, ListenAddr: srv.Listener.Addr().String(), PublicURL: public,
		Auth: web.AuthConfig{Limits: limits}})
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, st
}

var testLimits = handlers.LoginLimits{PerAccount: 3, PerAddress: 5, Window: time.Hour}

// client is a browser without JavaScript: a cookie jar, and redirects not followed, so each
// answer can be looked at.
func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestSignInAndOut(t *testing.T) {
	srv, st := signInConsole(t, nil, testLimits)
	pw := newPerson(t, st, "alice", models.RoleAdmin)
	c := client()

	// Signed out, a page sends the person to sign in, and back after.
	resp, _ := get(t, c, srv.URL+"/orgs/acme/settings?x=1")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Forgs%2Facme%2Fsettings%3Fx%3D1" {
		t.Fatalf("signed out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A script (or a form post) gets 401, never a page to follow.
	req, _ := http.NewRequest("GET", srv.URL+"/orgs", nil)
	req.Header.Set("Accept", "application/json")
	if r, err := c.Do(req); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("JSON signed out: %v %v", r.StatusCode, err)
	}
	if r, _ := post(t, c, srv.URL+"/orgs/acme/settings", url.Values{}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a post signed out: %d", r.StatusCode)
	}

	resp, body := get(t, c, srv.URL+"/login?next=/orgs/acme/settings")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="username"`) || !strings.Contains(body, `name="password"`) || strings.Contains(body, `aria-label="Main"`) {
		t.Fatalf("sign-in page: %d\n%.500s", resp.StatusCode, body)
	}
	resp, _ = post(t, c, srv.URL+"/login", url.Values{"username": {"alice"}, "password": {pw}, "next": {"/orgs/acme/settings"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/orgs/acme/settings" {
		t.Fatalf("sign in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == models.SessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.Path != "/" || len(cookie.Value) < 43 {
		t.Fatalf("session cookie %+v", cookie)
	}
	if n := storetest.QueryString(t, st, "SELECT COUNT(*) FROM sessions WHERE token_hash = ?", cookie.Value); n != "0" {
		t.Fatal("the session id is stored as it is, not as a hash")
	}
	resp, body = get(t, c, srv.URL+"/orgs")
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="signed-in-user">alice<`) || !strings.Contains(body, `action="/logout"`) {
		t.Fatalf("signed in: %d, no Signed in as alice / Sign out\n%.800s", resp.StatusCode, body)
	}

	// Sign out ends the session in the database: the cookie, kept, is worthless.
	resp, _ = post(t, c, srv.URL+"/logout", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("sign out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	replay := client()
	replay.Jar.SetCookies(mustURL(srv.URL), []*http.Cookie{{Name: models.SessionCookie, Value: cookie.Value}})
	if r, _ := get(t, replay, srv.URL+"/orgs"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the signed-out cookie still works: %d", r.StatusCode)
	}

	// A field given twice is refused, naming it, whichever value a reader would take.
	if r, body := post(t, client(), srv.URL+"/login", url.Values{"username": {"alice", "mallory"}, "password": {pw}}); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "username: given 2 times") {
		t.Errorf("a doubled username: %d", r.StatusCode)
	}
	// Only paths on the console itself are followed after sign-in.
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		r, _ := post(t, client(), srv.URL+"/login", url.Values{"username": {"alice"}, "password": {pw}, "next": {next}})
		if r.Header.Get("Location") != "/" {
			t.Errorf("next %q led to %q", next, r.Header.Get("Location"))
		}
	}

	events, _ := st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindUser, EntityName: "alice"})
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "sign_out sign_in") {
		t.Errorf("audit of alice: %s", got)
	}
}

// A wrong username and a wrong password get the same answer; failures are limited per account
// (whether it exists or not) and per client address, and a success clears the account's count.
func TestSignInFailures(t *testing.T) {
	srv, st := signInConsole(t, nil, testLimits)
	pw := newPerson(t, st, "bob", models.RoleViewer)
	c := client()
	try := func(user, pw string) (int, string) {
		r, body := post(t, c, srv.URL+"/login", url.Values{"username": {user}, "password": {pw}})
		m := regexp.MustCompile(`data-testid="login-error">([^<]*)<`).FindStringSubmatch(body)
		if m == nil {
			return r.StatusCode, ""
		}
		return r.StatusCode, m[1]
	}
	codeUser, msgUser := try("nobody", "whatever-password")
	codePw, msgPw := try("bob", "wrong-password-1")
	if codeUser != http.StatusUnauthorized || codeUser != codePw || msgUser != msgPw || msgUser == "" {
		t.Fatalf("wrong user: %d %q; wrong password: %d %q — want the same 401", codeUser, msgUser, codePw, msgPw)
	}
	if r, _ := post(t, c, srv.URL+"/login", url.Values{"username": {"bob"}, "password": {pw}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right password after one failure: %d", r.StatusCode)
	}
	// The account limit: 3 failures, then even the right password is refused, for a while.
	for i := range 3 {
		if code, _ := try("bob", "wrong-password-2"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	if code, msg := try("bob", pw); code != http.StatusTooManyRequests || !strings.Contains(msg, "Too many failed sign-ins") {
		t.Fatalf("after the limit: %d %q", code, msg)
	}
	// A name that does not exist is limited the same way, so the limit does not tell which exist.
	for range 3 {
		try("ghost", "x-password-123")
	}
	if code, _ := try("ghost", "x-password-123"); code != http.StatusTooManyRequests {
		t.Fatalf("unknown account after the limit: %d", code)
	}
	// The address limit (5): this client has failed 1+3+3 = 7 times; another account from it is
	// refused too.
	newPerson(t, st, "carol", models.RoleViewer)
	if code, _ := try("carol", "anything-at-all"); code != http.StatusTooManyRequests {
		t.Fatalf("another account from a limited address: %d", code)
	}
	events, _ := st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindUser, EntityName: "bob"})
	failed := 0
	for _, e := range events {
		if e.Action == "sign_in_failed" {
			failed++
		}
	}
	if failed != 4 {
		t.Errorf("%d sign_in_failed events for bob, want 4", failed)
	}
}

// Over https the cookie is Secure and carries the __Host- prefix.
func TestSecureSessionCookie(t *testing.T) {
	srv, st := signInConsole(t, &url.URL{Scheme: "https", Host: "warden.example"}, testLimits)
	pw := newPerson(t, st, "alice", models.RoleAdmin)
	req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(url.Values{"username": {"alice"}, "password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "warden.example"
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == models.SecureSessionCookie && ck.Secure && ck.HttpOnly && ck.Path == "/" && ck.Domain == "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no Secure __Host- session cookie: %v", resp.Header.Values("Set-Cookie"))
	}
}

// A personal API token, created in the console, shown once, acts as its user on the JSON
// endpoints with the user's role; revoked, it stops at once; a password change signs out every
// session.
func TestAPITokensAndPasswordChange(t *testing.T) {
	srv, st := signInConsole(t, nil, testLimits)
	pw := newPerson(t, st, "vic", models.RoleViewer)
	c := client()
	if r, _ := post(t, c, srv.URL+"/login", url.Values{"username": {"vic"}, "password": {pw}}); r.StatusCode != http.StatusSeeOther {
		t.Fatal("sign in")
	}
	r, page := post(t, c, srv.URL+"/account/tokens", url.Values{"name": {"ci"}, "expires_in": {"720h"}})
	token := regexp.MustCompile(`wdt_[A-Za-z0-9_-]{43}`).FindString(page)
	if r.StatusCode != http.StatusCreated || token == "" {
		t.Fatalf("create token: %d\n%.500s", r.StatusCode, page)
	}
	if _, again := get(t, c, srv.URL+"/account"); strings.Contains(again, token) {
		t.Fatal("the token is shown a second time")
	}
	bearer := func(method, path string, form url.Values) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := bearer("POST", "/orgs/acme/settings/preview", url.Values{"mode": {"none"}}); code != http.StatusOK {
		t.Fatalf("a viewer's token previews: %d", code)
	}
	if code := bearer("POST", "/orgs/acme/settings", url.Values{"mode": {"none"}}); code != http.StatusForbidden {
		t.Fatalf("a viewer's token saves: %d, want 403", code)
	}
	if code := bearer("POST", "/account/tokens", url.Values{"name": {"more"}}); code != http.StatusForbidden {
		t.Fatalf("a token makes tokens: %d, want 403", code)
	}
	// Revoke it: it stops at once.
	id := storetest.QueryString(t, st, "SELECT id FROM api_tokens WHERE name = 'ci'")
	if r, _ := post(t, c, srv.URL+"/account/tokens/"+id+"/revoke", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if code := bearer("GET", "/orgs", nil); code != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d, want 401", code)
	}
	if code := bearer("GET", "/orgs", nil); code != http.StatusUnauthorized {
		t.Fatal("again")
	}

	// A second browser of vic's; a password change in the first signs it out.
	other := client()
	post(t, other, srv.URL+"/login", url.Values{"username": {"vic"}, "password": {pw}})
	if r, _ := get(t, other, srv.URL+"/orgs"); r.StatusCode != 200 {
		t.Fatal("the second browser is not signed in")
	}
	r, body := post(t, c, srv.URL+"/account/password", url.Values{"current_password": {"not-it-at-all"}, "new_password": {"a-new-passw0rd-long"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "not your current password") {
		t.Fatalf("a wrong current password: %d", r.StatusCode)
	}
	if r, _ := post(t, c, srv.URL+"/account/password", url.Values{"current_password": {pw}, "new_password": {"short"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a short new password: %d", r.StatusCode)
	}
	if r, _ := post(t, c, srv.URL+"/account/password", url.Values{"current_password": {pw}, "new_password": {"a-new-passw0rd-long"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password: %d", r.StatusCode)
	}
	if r, _ := get(t, other, srv.URL+"/orgs"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other browser is still signed in after the password change: %d", r.StatusCode)
	}
	if r, _ := get(t, c, srv.URL+"/orgs"); r.StatusCode != 200 {
		t.Fatalf("the browser that changed the password was signed out: %d", r.StatusCode)
	}
	if r, _ := post(t, client(), srv.URL+"/login", url.Values{"username": {"vic"}, "password": {"a-new-passw0rd-long"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatal("the new password does not work")
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// Guesses sent at once count each other: of ten concurrent wrong passwords for one account with
// a limit of three, at most three are checked (401) and the rest refused (429).
func TestSignInLimitUnderConcurrency(t *testing.T) {
	srv, st := signInConsole(t, nil, handlers.LoginLimits{PerAccount: 3, PerAddress: 100, Window: time.Hour})
	newPerson(t, st, "dana", models.RoleViewer)
	codes := make(chan int, 10)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.PostForm(srv.URL+"/login", url.Values{"username": {"dana"}, "password": {"not-the-password-1"}})
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[http.StatusUnauthorized] > 3 || n[http.StatusUnauthorized]+n[http.StatusTooManyRequests] != 10 {
		t.Fatalf("answers %v: more than 3 guesses were checked, or some failed otherwise", n)
	}
}
