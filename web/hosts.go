package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers"
)

// machinePaths are served whatever the Host header: they authenticate each request with a key
// (the gateway, the decision API) or hold nothing a page could use (health, metrics, assets).
// A path ending in "/" stands for everything under it.
var machinePaths = []string{"/mcp", "/mcp/", "/api/", "/healthz", "/metrics", "/static/"}

// defaultListenAddr is serve's default --addr, which Deps without a ListenAddr stand for.
const defaultListenAddr = "127.0.0.1:8080"

// ParsePublicURL reads --public-url: an absolute http or https URL of the console's origin,
// with a host, and no user info, path (other than "/"), query or fragment, since an origin has
// none of them. The error names what is wrong.
func ParsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not a URL: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: want an http:// or https:// URL", s)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("%q: want a host after %s://", s, u.Scheme)
	case u.User != nil:
		return nil, fmt.Errorf("%q: a user name or password has no place in the console's address", s)
	case u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("%q: path %q: the console answers at the root of its origin, give no path", s, u.Path)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("%q: give no query", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Errorf("%q: give no fragment", s)
	}
	if p := u.Port(); p != "" {
		if _, err := netip.ParseAddrPort("0.0.0.0:" + p); err != nil || p == "0" {
			return nil, fmt.Errorf("%q: port %q: want 1 to 65535", s, p)
		}
	}
	return &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host)}, nil
}

// ParseTrustedProxies reads --trust-proxy: comma-separated IP addresses (10.0.0.5, ::1) and
// prefixes (10.0.0.0/8, fd00::/8) of the reverse proxies in front of Warden. A prefix with
// bits set beyond its length (10.0.0.1/8) is refused as a likely typo, and so is an address
// with a zone. Empty input: none.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address prefix: %v", f, err)
			}
			if p != p.Masked() {
				return nil, fmt.Errorf("%q has bits set beyond its /%d; did you mean %s?", f, p.Bits(), p.Masked())
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or prefix: %v", f, err)
		}
		if a.Zone() != "" {
			return nil, fmt.Errorf("%q: give the address without a zone", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// hostPolicy is what decides which Host names the console (see guardHosts).
type hostPolicy struct {
	public     *url.URL
	publicHost string // canonical host name of public (see canonicalHost)
	publicPort string // its port, explicit or its scheme's default
	listenPort string
	trusted    []netip.Prefix
}

func newHostPolicy(d Deps) hostPolicy {
	listen := d.ListenAddr
	if listen == "" {
		listen = defaultListenAddr
	}
	pub := d.PublicURL
	if pub == nil {
		pub = &url.URL{Scheme: "http", Host: listen}
	}
	_, listenPort, err := net.SplitHostPort(listen)
	if err != nil {
		listenPort = "" // no port: no loopback name matches
	}
	host, port := splitHost(pub.Host)
	if port == "" {
		port = defaultPort(pub.Scheme)
	}
	return hostPolicy{public: pub, publicHost: canonicalHost(host), publicPort: port, listenPort: listenPort,
		trusted: d.TrustedProxies}
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// allows reports whether host (a Host header, or the forwarded host of a trusted proxy) names
// the console: it is the public URL's host and port, where a missing port is the default of
// the public URL's scheme (browsers leave it out); or a loopback name (localhost, or a loopback
// IP literal such as 127.0.0.1 or [::1]) with the listen port, where a missing port is the
// default of scheme, the scheme the request came by. Names compare case-insensitively, without
// a trailing dot; IP literals by address.
func (p hostPolicy) allows(host, scheme string) bool {
	name, port := splitHost(host)
	name = canonicalHost(name)
	if name == "" {
		return false
	}
	if name == p.publicHost && orDefault(port, p.public.Scheme) == p.publicPort {
		return true
	}
	if name != "localhost" {
		a, err := netip.ParseAddr(name)
		if err != nil || !a.Unmap().IsLoopback() || a.Zone() != "" {
			return false
		}
	}
	return p.listenPort != "" && orDefault(port, scheme) == p.listenPort
}

func orDefault(port, scheme string) string {
	if port == "" {
		return defaultPort(scheme)
	}
	return port
}

// splitHost splits a Host value into its name and port ("" when it has none), an IPv6 literal
// without its brackets.
func splitHost(hostport string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), ""
}

// canonicalHost lowercases a host name and drops its trailing dot; an IP literal becomes its
// canonical text (so [::0:1] and [::1] are one host).
func canonicalHost(h string) string {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().String()
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// forwarded is what a request says about where it came from once the trusted proxies' headers
// are read (see peer.forwarded).
type forwarded struct {
	host   string // the Host the browser sent
	scheme string // "http" or "https"
	client string // the client's address, for the request log
	via    bool   // the request came through a trusted proxy
}

// trusts reports whether a is one of the trusted proxies.
func (p hostPolicy) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, t := range p.trusted {
		if t.Contains(a) {
			return true
		}
	}
	return false
}

// forwarded reads a request's origin. Only when the connection's peer (RemoteAddr) is one of
// the trusted proxies are the X-Forwarded-* headers read; from anyone else they are ignored,
// as anyone can send them. From a trusted proxy:
//   - X-Forwarded-Host replaces Host. Proxies that append to the header rather than replace it
//     leave the client's own value on the left, so of several values (header lines or
//     comma-separated) the rightmost, which the nearest proxy set, counts. Present but empty:
//     the request names no host and is refused.
//   - X-Forwarded-Proto, when its rightmost value is http or https, is the scheme (otherwise the
//     connection's).
//   - X-Forwarded-For gives the client address for the request log: walking from the right,
//     trusted proxies are skipped and the first address that is not one is the client; an entry
//     that is not an address ends the walk at the nearest address known.
//
// Without a trusted proxy the host is Host, the scheme the connection's, the client the peer.
func (p hostPolicy) forwarded(r *http.Request) forwarded {
	f := forwarded{host: r.Host, scheme: "http"}
	if r.TLS != nil {
		f.scheme = "https"
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		f.client = r.RemoteAddr
		return f
	}
	f.client = peer.Addr().Unmap().String()
	if !p.trusts(peer.Addr()) {
		return f
	}
	f.via = true
	if vs := headerList(r, "X-Forwarded-Host"); vs != nil {
		f.host = vs[len(vs)-1]
	}
	if vs := headerList(r, "X-Forwarded-Proto"); vs != nil {
		if s := strings.ToLower(vs[len(vs)-1]); s == "http" || s == "https" {
			f.scheme = s
		}
	}
	vs := headerList(r, "X-Forwarded-For")
	for i := len(vs) - 1; i >= 0; i-- {
		a, err := parseForAddr(vs[i])
		if err != nil {
			break
		}
		f.client = a.String()
		if !p.trusts(a) {
			break
		}
	}
	return f
}

// headerList is the comma-separated values of every line of header name, trimmed, in order;
// nil when the header is absent.
func headerList(r *http.Request, name string) []string {
	lines := r.Header.Values(name)
	if len(lines) == 0 {
		return nil
	}
	var out []string
	for _, l := range lines {
		for _, v := range strings.Split(l, ",") {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// parseForAddr reads one X-Forwarded-For entry: an address, or an address with a port.
func parseForAddr(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, errors.New("not an address")
	}
	return ap.Addr().Unmap(), nil
}

// guardHosts answers the console only under its own names, against DNS rebinding: the console
// has no sign-in and its forms need no token (the cross-origin protection stands in for one),
// so a page on another name that its DNS later resolves to the console's address would be
// same-origin with the console for the browser, and could read the policy and save settings.
// The browser then sends the page's name as Host, so the console answers only when the Host
// (or, from a trusted proxy, X-Forwarded-Host; see hostPolicy.forwarded) is the --public-url's
// host or a loopback name on the listen port (see hostPolicy.allows); other hosts get 421
// Misdirected Request, as the error page, before any handler. The gateway, the decision API,
// health, metrics and static files answer under any name (machinePaths).
//
// From a trusted proxy the forwarded host also replaces r.Host, so the cross-origin protection
// after it compares a browser's Origin with the host the browser used. Every request's client
// address is kept for the request log.
func guardHosts(p hostPolicy) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		f := p.forwarded(r)
		handlers.SetClientAddr(c, f.client)
		if f.via {
			r.Host = f.host
		}
		if machinePath(r.URL.Path) || p.allows(f.host, f.scheme) {
			c.Next()
			return
		}
		handlers.Logger(c).Info("request refused", "method", r.Method, "path", r.URL.Path, "status", http.StatusMisdirectedRequest, "host", f.host)
		msg := fmt.Sprintf("This Warden console answers at %s (its --public-url) and on localhost port %s, not under the host %q.",
			p.public, p.listenPort, f.host)
		if name, _ := splitHost(f.host); name != "" {
			msg += fmt.Sprintf(" If that is its address, start warden with --public-url=%s://%s.", f.scheme, f.host)
		}
		if !f.via {
			msg += " Behind a reverse proxy that sets X-Forwarded-Host, give the proxy's address with --trust-proxy."
		}
		handlers.Error(c, http.StatusMisdirectedRequest, msg)
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
