package web

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers"
)

// machinePaths are served whatever the Host header: they authenticate each request with a key
// (the gateway, the decision API) or hold nothing a page could use (health, metrics, assets).
// A path ending in "/" stands for everything under it.
var machinePaths = []string{"/mcp", "/mcp/", "/api/", "/healthz", "/metrics", "/static/"}

// guardHosts answers the console only under a host name a browser cannot be made to resolve
// to the console by someone else: an IP literal, localhost (and *.localhost), or one of
// allowed ("*" allows any). The console has no sign-in and its forms need no token (the
// cross-origin protection stands in for one), so under any other name a page could rebind its
// own name to the console's address (DNS rebinding) and, being same-origin for the browser,
// read the policy and save settings. Other hosts get 421 Misdirected Request, as the error page.
func guardHosts(allowed []string) gin.HandlerFunc {
	set := map[string]bool{}
	for _, h := range allowed {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			set[strings.TrimSuffix(h, ".")] = true
		}
	}
	return func(c *gin.Context) {
		r := c.Request
		if set["*"] || machinePath(r.URL.Path) || hostAllowed(r.Host, set) {
			c.Next()
			return
		}
		handlers.Logger(c).Info("request refused", "method", r.Method, "path", r.URL.Path, "status", http.StatusMisdirectedRequest, "host", r.Host)
		handlers.Error(c, http.StatusMisdirectedRequest, fmt.Sprintf("This Warden console does not answer to the host %q. If that is its name, start warden with --allowed-hosts=%s.",
			r.Host, hostOnly(r.Host)))
	}
}

func machinePath(p string) bool {
	for _, m := range machinePaths {
		if p == m || (strings.HasSuffix(m, "/") && strings.HasPrefix(p, m)) {
			return true
		}
	}
	return false
}

func hostAllowed(hostport string, set map[string]bool) bool {
	h := strings.TrimSuffix(strings.ToLower(hostOnly(hostport)), ".")
	if h == "" {
		return false
	}
	if net.ParseIP(h) != nil || h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	return set[h]
}

// hostOnly is the host of a Host header without its port (and an IPv6 literal without its
// brackets).
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}
