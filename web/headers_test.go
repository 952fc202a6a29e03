package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// requiredCSP are the directives every console answer's Content-Security-Policy must hold,
// each exactly: scripts, styles and images from the console only, no framing, no <base>, forms
// posting to the console only, no plugins.
var requiredCSP = map[string]string{
	"default-src":     "'self'",
	"script-src":      "'self'",
	"style-src":       "'self'",
	"img-src":         "'self' data:",
	"frame-ancestors": "'none'",
	"base-uri":        "'none'",
	"form-action":     "'self'",
	"object-src":      "'none'",
}

// checkBrowserHeaders checks the protections a console answer carries, and reports what is
// missing under label.
func checkBrowserHeaders(t *testing.T, label string, h http.Header) {
	t.Helper()
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", label, got)
	}
	if got := h.Get("Referrer-Policy"); got != "same-origin" {
		t.Errorf("%s: Referrer-Policy %q", label, got)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("%s: X-Frame-Options %q", label, got)
	}
	csp := h.Get("Content-Security-Policy")
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("%s: the CSP allows something unsafe: %q", label, csp)
	}
	got := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		got[name] = value
	}
	for name, want := range requiredCSP {
		if got[name] != want {
			t.Errorf("%s: CSP %s is %q, want %q (policy %q)", label, name, got[name], want, csp)
		}
	}
}

// Every route the engine registers answers with the browser protections, whatever the answer:
// a page, an htmx fragment, JSON, an error of the route, a static file. The gateway and the
// decision API, which answer programs, carry nosniff and none of the document headers.
func TestBrowserHeadersOnEveryRoute(t *testing.T) {
	raw, fs, _, st := errorConsoleAt(t, "")
	h := storetest.AsUser(raw, storetest.Admin(t, st))
	doc, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]string{"org": "acme", "key": doc.Keys[0].Name, "name": doc.Toolsets[0].Name, "id": "1", "team": doc.Teams[0].Name, "user": doc.EndUsers[0].Name, "agent": doc.Agents[0].Name, "server": doc.Servers[0].Name, "filepath": "warden.css", "guard": doc.Guards[0].Name}
	unknown := map[string]string{"org": "no-such-org", "key": "no-such-key", "name": "no-such-name", "id": "999999", "team": "no-such-team", "user": "no-such-user", "agent": "no-such-agent", "server": "no-such-server", "filepath": "no-such.css", "guard": "no-such-guard"}
	eng := raw.(*gin.Engine)
	n := 0
	for _, r := range eng.Routes() {
		path := strings.Replace(r.Path, "*filepath", ":filepath", 1)
		machine := r.Path == "/mcp" || strings.HasPrefix(r.Path, "/mcp/") || strings.HasPrefix(r.Path, "/api/")
		for _, names := range []map[string]string{known, unknown} {
			for _, ask := range asks {
				a := answer{method: r.Method, path: fill(path, names), header: ask.header}
				if a.method == http.MethodPost {
					a.body = "mode=none"
				}
				w := a.do(h)
				label := a.method + " " + a.path + " (" + ask.name + ", " + http.StatusText(w.Code) + ")"
				n++
				if machine {
					if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
						t.Errorf("%s: X-Content-Type-Options %q", label, got)
					}
					continue
				}
				checkBrowserHeaders(t, label, w.Header())
				// The route's failures too (a view it cannot read: 500).
				fs.mode.Store(viewBroken)
				checkBrowserHeaders(t, label+" with a broken view", a.do(h).Header())
				fs.mode.Store(viewOK)
			}
		}
	}
	if n < 20*len(asks) {
		t.Fatalf("only %d requests: the routes were not walked", n)
	}

	// Answers no route gives: the middleware's refusals and the 404 page.
	big := "mode=none&filter=" + strings.Repeat("x", 5000)
	for _, a := range []answer{
		{name: "no such page", method: "GET", path: "/no-such-page"},
		{name: "static directory", method: "GET", path: "/static/"},
		{name: "body over the limit", method: "POST", path: "/orgs/acme/settings/preview", body: big},
		{name: "cross-site post", method: "POST", path: "/orgs/acme/settings", body: "mode=none", header: []string{"Sec-Fetch-Site", "cross-site"}},
		{name: "a host not the console's", method: "GET", path: "/orgs", host: "rebind.example"},
	} {
		w := a.do(h)
		checkBrowserHeaders(t, a.name+" ("+http.StatusText(w.Code)+")", w.Header())
	}
	for _, path := range []string{"/mcp", "/api/v1/no-such-endpoint"} {
		w := answer{method: "POST", path: path, body: "{}", header: []string{"Sec-Fetch-Site", "cross-site"}}.do(h)
		if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" || w.Header().Get("Content-Security-Policy") != "" {
			t.Errorf("cross-site POST %s: nosniff %q, CSP %q", path, got, w.Header().Get("Content-Security-Policy"))
		}
	}
}

// /static/ used to answer a listing of every embedded file (http.FileServer's directory
// listing). A directory under /static/ is now not there: the console's 404 page, as a page,
// an htmx partial or JSON; the files themselves are still served.
func TestStaticListsNoDirectory(t *testing.T) {
	h, _, logs, _ := errorConsole(t)
	for _, path := range []string{"/static/", "/static//", "/static/./", "/static/%2e/"} {
		for _, ask := range asks {
			a := answer{name: "static directory", method: "GET", path: path, header: ask.header}
			w := a.do(h)
			if strings.Contains(w.Body.String(), `href="warden.css"`) || strings.Contains(w.Body.String(), "<pre>") {
				t.Errorf("GET %s (%s) lists the directory: %.300s", path, ask.name, w.Body)
			}
			// A path the file server cleans is redirected to /static/ first.
			if w.Code == http.StatusMovedPermanently {
				continue
			}
			checkError(t, a, w, http.StatusNotFound, logs)
		}
	}
	for _, path := range []string{"/static/warden.css", "/static/warden.js", "/static/favicon.svg"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Host = "example.com"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("GET %s: %d, %d bytes", path, w.Code, w.Body.Len())
		}
	}
	// /static itself is redirected to the directory, which is not there.
	if w := (answer{method: "GET", path: "/static"}).do(h); w.Code != http.StatusMovedPermanently && w.Code != http.StatusNotFound {
		t.Errorf("GET /static: %d", w.Code)
	}
}
