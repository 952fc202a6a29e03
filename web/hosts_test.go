package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// The console used to answer under any Host: a page on rebind.example whose name was made to
// resolve to 127.0.0.1 (DNS rebinding) was same-origin with the console for the browser, so it
// passed the cross-origin protection and could read the policy and post the settings form.
// The console now answers only under its --public-url's host and loopback names on its listen
// port; the gateway and the API (authenticated by key) answer under any name.
func TestConsoleHosts(t *testing.T) {
	h := New(Deps{}) // serve's defaults: listening on 127.0.0.1:8080, public URL http://127.0.0.1:8080
	do := func(method, path, host string, headers ...string) int {
		req := httptest.NewRequest(method, path, nil)
		req.Host = host
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	for _, host := range []string{"127.0.0.1:8080", "[::1]:8080", "localhost:8080", "LOCALHOST:8080", "localhost.:8080", "[::ffff:127.0.0.1]:8080"} {
		if code := do("GET", "/", host); code != http.StatusSeeOther {
			t.Errorf("GET / with Host %s: %d, want 303", host, code)
		}
	}
	for _, host := range []string{"rebind.example:8080", "rebind.example", "localhost.rebind.example", "127.0.0.1.nip.io:8080", "",
		"warden.localhost:8080", "10.1.2.3:8080", "localhost", "127.0.0.1:9090"} {
		if code := do("GET", "/", host); code != http.StatusMisdirectedRequest {
			t.Errorf("GET / with Host %q: %d, want 421", host, code)
		}
		if code := do("POST", "/orgs/acme/settings", host, "Origin", "http://"+host, "Sec-Fetch-Site", "same-origin"); code != http.StatusMisdirectedRequest {
			t.Errorf("same-origin POST with Host %q: %d, want 421", host, code)
		}
		if code := do("GET", "/static/none.css", host); code == http.StatusMisdirectedRequest {
			t.Errorf("GET /static/none.css with Host %q: 421", host)
		}
	}
}

// The Host decision, one rule a row: the public URL's host (its scheme's default port may be
// left out), loopback names on the listen port only, forwarded hosts from trusted proxies
// only.
func TestHostDecision(t *testing.T) {
	corp := &url.URL{Scheme: "https", Host: "warden.corp.example"}
	corpPort := &url.URL{Scheme: "http", Host: "warden.corp.example:8443"}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::1/128")}
	for _, tc := range []struct {
		name    string
		deps    Deps
		host    string
		remote  string   // RemoteAddr; default 192.0.2.1:1234
		headers []string // name, value pairs (Add, so a name may repeat)
		want    int
	}{
		{name: "public host", deps: Deps{PublicURL: corp}, host: "warden.corp.example", want: 303},
		{name: "public host, default port given", deps: Deps{PublicURL: corp}, host: "warden.corp.example:443", want: 303},
		{name: "public host, case and trailing dot", deps: Deps{PublicURL: corp}, host: "Warden.Corp.Example.", want: 303},
		{name: "public host, other port", deps: Deps{PublicURL: corp}, host: "warden.corp.example:80", want: 421},
		{name: "public host with explicit port", deps: Deps{PublicURL: corpPort}, host: "warden.corp.example:8443", want: 303},
		{name: "public host, its port left out", deps: Deps{PublicURL: corpPort}, host: "warden.corp.example", want: 421},
		{name: "public IPv6 literal", deps: Deps{PublicURL: &url.URL{Scheme: "http", Host: "[2001:db8::1]:8080"}}, host: "[2001:DB8:0::1]:8080", want: 303},
		{name: "localhost on the listen port", deps: Deps{PublicURL: corp, ListenAddr: "0.0.0.0:9000"}, host: "localhost:9000", want: 303},
		{name: "127.0.0.1 on the listen port", deps: Deps{PublicURL: corp, ListenAddr: "0.0.0.0:9000"}, host: "127.0.0.1:9000", want: 303},
		{name: "[::1] on the listen port", deps: Deps{PublicURL: corp, ListenAddr: "[::]:9000"}, host: "[::1]:9000", want: 303},
		{name: "localhost without a port, listening on 80", deps: Deps{PublicURL: corp, ListenAddr: ":80"}, host: "localhost", want: 303},
		{name: "localhost on another port", deps: Deps{PublicURL: corp, ListenAddr: "0.0.0.0:9000"}, host: "localhost:9001", want: 421},
		{name: "127.0.0.1 on another port", deps: Deps{PublicURL: corp, ListenAddr: "0.0.0.0:9000"}, host: "127.0.0.1:8080", want: 421},
		{name: "localhost without a port", deps: Deps{PublicURL: corp, ListenAddr: "0.0.0.0:9000"}, host: "localhost", want: 421},
		{name: "attacker name", deps: Deps{PublicURL: corp}, host: "rebind.example", want: 421},
		{name: "attacker name on the listen port", deps: Deps{PublicURL: corp, ListenAddr: "0.0.0.0:9000"}, host: "rebind.example:9000", want: 421},
		{name: "suffix of the public host", deps: Deps{PublicURL: corp}, host: "evil-warden.corp.example", want: 421},
		{name: "a non-loopback address of the machine", deps: Deps{PublicURL: corp, ListenAddr: "0.0.0.0:9000"}, host: "10.1.2.3:9000", want: 421},

		{name: "forwarded host from a trusted proxy", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "10.0.0.7:8080", remote: "10.0.0.7:5000",
			headers: []string{"X-Forwarded-Host", "warden.corp.example", "X-Forwarded-Proto", "https"}, want: 303},
		{name: "forwarded host from a trusted IPv6 proxy", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "backend:8080", remote: "[fd00::1]:5000",
			headers: []string{"X-Forwarded-Host", "warden.corp.example"}, want: 303},
		{name: "attacker's forwarded host from a trusted proxy", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "warden.corp.example", remote: "10.0.0.7:5000",
			headers: []string{"X-Forwarded-Host", "rebind.example"}, want: 421},
		{name: "forwarded host from an untrusted peer ignored (accepting)", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "warden.corp.example", remote: "192.0.2.9:5000",
			headers: []string{"X-Forwarded-Host", "rebind.example"}, want: 303},
		{name: "forwarded host from an untrusted peer ignored (refusing)", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "rebind.example", remote: "192.0.2.9:5000",
			headers: []string{"X-Forwarded-Host", "warden.corp.example"}, want: 421},
		{name: "forwarded host without --trust-proxy ignored", deps: Deps{PublicURL: corp}, host: "rebind.example", remote: "10.0.0.7:5000",
			headers: []string{"X-Forwarded-Host", "warden.corp.example"}, want: 421},
		{name: "trusted proxy without X-Forwarded-Host: its Host counts", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "warden.corp.example", remote: "10.0.0.7:5000", want: 303},
		{name: "empty X-Forwarded-Host refused", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "warden.corp.example", remote: "10.0.0.7:5000",
			headers: []string{"X-Forwarded-Host", ""}, want: 421},
		// A proxy appending to what the client sent: the rightmost value is the proxy's.
		{name: "client's value left of the proxy's", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "backend", remote: "10.0.0.7:5000",
			headers: []string{"X-Forwarded-Host", "rebind.example, warden.corp.example"}, want: 303},
		{name: "client's line above the proxy's", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "backend", remote: "10.0.0.7:5000",
			headers: []string{"X-Forwarded-Host", "rebind.example", "X-Forwarded-Host", "warden.corp.example"}, want: 303},
		{name: "attacker's value rightmost", deps: Deps{PublicURL: corp, TrustedProxies: proxies}, host: "backend", remote: "10.0.0.7:5000",
			headers: []string{"X-Forwarded-Host", "warden.corp.example,rebind.example"}, want: 421},
		{name: "forwarded localhost on the listen port", deps: Deps{PublicURL: corp, ListenAddr: "0.0.0.0:9000", TrustedProxies: proxies}, host: "backend", remote: "10.0.0.7:5000",
			headers: []string{"X-Forwarded-Host", "localhost:9000"}, want: 303},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(tc.deps)
			req := httptest.NewRequest("GET", "/", nil)
			req.Host = tc.host
			if tc.remote != "" {
				req.RemoteAddr = tc.remote
			}
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Add(tc.headers[i], tc.headers[i+1])
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Errorf("Host %q from %s, %v: %d, want %d", tc.host, req.RemoteAddr, tc.headers, w.Code, tc.want)
			}
		})
	}
}

// The client address of the request log: the peer, or, behind trusted proxies, the rightmost
// X-Forwarded-For entry that is not a trusted proxy.
func TestForwardedClient(t *testing.T) {
	p := newHostPolicy(Deps{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"192.0.2.9:5000", "198.51.100.1", "192.0.2.9"}, // untrusted peer: its header is ignored
		{"10.0.0.7:5000", "", "10.0.0.7"},
		{"10.0.0.7:5000", "198.51.100.1", "198.51.100.1"},
		{"10.0.0.7:5000", "203.0.113.5, 198.51.100.1, 10.0.0.8", "198.51.100.1"}, // spoofed left entry skipped
		{"10.0.0.7:5000", "10.0.0.9, 10.0.0.8", "10.0.0.9"},                      // all trusted: the leftmost
		{"10.0.0.7:5000", "198.51.100.1, garbage", "10.0.0.7"},                   // unreadable entry ends the walk
		{"10.0.0.7:5000", "[2001:db8::5]:443", "2001:db8::5"},
		{"[::ffff:10.0.0.7]:5000", "198.51.100.1", "198.51.100.1"}, // IPv4-mapped peer is the IPv4 proxy
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.remote
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := p.forwarded(req).client; got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
	// X-Forwarded-Proto from a trusted proxy is the scheme; other values and other peers are not.
	for _, tc := range []struct{ remote, proto, want string }{
		{"10.0.0.7:5000", "https", "https"}, {"10.0.0.7:5000", "http, HTTPS", "https"}, {"10.0.0.7:5000", "gopher", "http"}, {"192.0.2.9:5000", "https", "http"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.remote
		req.Header.Set("X-Forwarded-Proto", tc.proto)
		if got := p.forwarded(req).scheme; got != tc.want {
			t.Errorf("peer %s, X-Forwarded-Proto %q: scheme %q, want %q", tc.remote, tc.proto, got, tc.want)
		}
	}
}

func TestParsePublicURL(t *testing.T) {
	for in, want := range map[string]string{"http://127.0.0.1:8080": "http://127.0.0.1:8080", "https://Warden.Corp.example/": "https://warden.corp.example",
		"http://[::1]:8080": "http://[::1]:8080"} {
		u, err := ParsePublicURL(in)
		if err != nil || u.String() != want {
			t.Errorf("ParsePublicURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for in, why := range map[string]string{
		"warden.corp.example": "http:// or https://", "ftp://warden.example": "http:// or https://", "https://": "want a host", "https://:8080": "want a host",
		"https://admin:pw@warden.example": "user name", "https://warden.example/console": `path "/console"`, "https://warden.example/?x=1": "query",
		"https://warden.example/?": "query", "https://warden.example/#top": "fragment", "https://warden.example#": "fragment",
		"https://warden.example:99999": "port", "https://warden.example:0": "port", "http://warden example": "not a URL", "mailto:a@b": "http:// or https://",
	} {
		if u, err := ParsePublicURL(in); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParsePublicURL(%q) = %v, %v; want an error saying %q", in, u, err, why)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7,::1 , fd00::/8,,::ffff:192.0.2.8")
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("192.0.2.8/32")}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseTrustedProxies = %v, %v; want %v", got, err, want)
	}
	if got, err := ParseTrustedProxies(""); err != nil || got != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	for in, why := range map[string]string{"10.0.0.1/8": "did you mean 10.0.0.0/8", "proxy.internal": "not an IP address", "10.0.0.0/33": "not an address prefix",
		"fe80::1%eth0": "zone", "10.0.0.5,bogus": `"bogus"`} {
		if _, err := ParseTrustedProxies(in); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseTrustedProxies(%q): %v, want an error saying %q", in, err, why)
		}
	}
}

func TestMachinePaths(t *testing.T) {
	for p, want := range map[string]bool{"/mcp": true, "/mcp/everything": true, "/mcpx": false, "/api/v1/check": true, "/api": false,
		"/healthz": true, "/metrics": true, "/static/app.css": true, "/orgs": false, "/": false} {
		if got := machinePath(p); got != want {
			t.Errorf("machinePath(%q) = %v", p, got)
		}
	}
}

// Every form the console posts to, the settings rebase included, is behind the cross-origin
// protection: a cross-site POST gets 403 before any handler runs.
func TestEveryPostRouteRefusesCrossSite(t *testing.T) {
	r := gin.New()
	routes(r, Deps{})
	h := New(Deps{})
	n := 0
	for _, ri := range r.Routes() {
		if ri.Method != http.MethodPost {
			continue
		}
		n++
		path := strings.NewReplacer(":org", "acme", ":server", "github").Replace(ri.Path)
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("mode=none"))
		req.Host = "127.0.0.1:8080"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", path, w.Code)
		}
	}
	if n < 4 {
		t.Fatalf("only %d POST routes", n)
	}
}
