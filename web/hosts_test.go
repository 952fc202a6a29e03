package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// The console used to answer under any Host: a page on rebind.example whose name was made to
// resolve to 127.0.0.1 (DNS rebinding) was same-origin with the console for the browser, so it
// passed the cross-origin protection and could read the policy and post the settings form.
// The console now answers only under an IP literal, localhost or a name given with
// --allowed-hosts; the gateway and the API (authenticated by key) answer under any name.
func TestConsoleHosts(t *testing.T) {
	h := New(Deps{})
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
	for _, host := range []string{"127.0.0.1:8080", "[::1]:8080", "localhost:8080", "LOCALHOST", "warden.localhost:8080", "10.1.2.3", "localhost."} {
		if code := do("GET", "/", host); code != http.StatusFound {
			t.Errorf("GET / with Host %s: %d, want 302", host, code)
		}
	}
	for _, host := range []string{"rebind.example:8080", "rebind.example", "localhost.rebind.example", "127.0.0.1.nip.io:8080", ""} {
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
	// A name the operator gives is the console's.
	h = New(Deps{AllowedHosts: []string{"Warden.Corp.example"}})
	if code := do("GET", "/", "warden.corp.example:443"); code != http.StatusFound {
		t.Errorf("allowed host: %d, want 302", code)
	}
	if code := do("GET", "/", "rebind.example"); code != http.StatusMisdirectedRequest {
		t.Errorf("other host beside an allowed one: %d, want 421", code)
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
