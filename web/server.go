// Package web is the HTTP shell: the Gin engine, its middleware and the route table.
package web

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/handlers/mcpgw"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
)

// Deps is everything the routes need; cmd/warden builds it.
type Deps struct {
	Store *store.Store
	// State is the enforced policy view; the console previews against it too.
	State *live.State
	// Metrics are served on /metrics; Decisions records every enforcement decision.
	Metrics   *live.Metrics
	Decisions live.Recorder
	// PublicURL is the console's own origin (--public-url; see ParsePublicURL): the console
	// answers under its host, and under loopback names on ListenAddr's port, and nowhere else
	// (guardHosts). Its scheme says whether browsers reach the console over https (cookies can
	// be Secure then). nil: "http://" + ListenAddr.
	PublicURL *url.URL
	// ListenAddr is the address the server listens on, host:port ("": 127.0.0.1:8080, serve's
	// default).
	ListenAddr string
	// TrustedProxies are the reverse proxies whose X-Forwarded-Host, -Proto and -For headers
	// are read (--trust-proxy; see ParseTrustedProxies and hostPolicy.forwarded); nil: none.
	TrustedProxies []netip.Prefix
	// Limits bound request bodies and sessions; zero values take the defaults.
	Limits Limits
	// Auth configures sign-in: session lifetimes, failed sign-in limits, single sign-on.
	Auth AuthConfig
	// Logger gets one line a request (with its id) and the handlers' lines; nil: slog.Default.
	Logger *slog.Logger
	// console, when set, replaces State as what the console pages read (tests only: a state
	// whose View fails, to see the error paths).
	console handlers.PolicyState
}

// AuthConfig is how people sign in to the console (serve's --session-* and --oidc-* flags).
type AuthConfig struct {
	// SessionIdle and SessionMax end sessions idle that long, and that long after sign-in
	// (zero: handlers.DefaultSessionIdle, DefaultSessionMax).
	SessionIdle, SessionMax time.Duration
	// Limits bound failed sign-ins (zero: handlers.DefaultLoginLimits).
	Limits handlers.LoginLimits
	// OIDC, when set, offers single sign-on.
	OIDC *handlers.OIDC
}

// auth is the sign-in handler of the deps. Cookies are Secure when the console's public URL
// is https.
func (d Deps) auth() *handlers.Auth {
	return &handlers.Auth{Store: d.Store, Secure: d.PublicURL != nil && d.PublicURL.Scheme == "https",
		IdleTimeout: d.Auth.SessionIdle, MaxAge: d.Auth.SessionMax, Limits: d.Auth.Limits, SSO: d.Auth.OIDC}
}

// Limits are the request and session limits of `warden serve` (see its flags).
type Limits struct {
	// MaxBodyBytes bounds a request body: the gateway's POSTs (read after authentication) and
	// the console's form posts (default 4 MiB); the decision API's check requests are bounded by
	// 64 KiB, or by MaxBodyBytes when it is smaller. Beyond it: 413.
	MaxBodyBytes int64
	// MaxBodyInflightPerKey and MaxBodyInflight bound the bytes of request bodies being read at
	// once, for one key and in all (defaults 32 MiB and 256 MiB); the decision API's bodies count
	// in the total and together as one key. Beyond them: 429, the body unread.
	MaxBodyInflightPerKey int64
	MaxBodyInflight       int64
	// MaxSessionsPerKey bounds the sessions a key holds open on /mcp; one more gets 429
	// (default 16).
	MaxSessionsPerKey int
	// SessionTimeout ends idle gateway sessions (default 30 minutes).
	SessionTimeout time.Duration
	// StreamWriteTimeout bounds each write of a gateway answer or event stream, which are
	// exempt from the http.Server's write deadline (default 60 seconds).
	StreamWriteTimeout time.Duration
}

// maxBody is the body limit in effect.
func (l Limits) maxBody() int64 {
	if l.MaxBodyBytes > 0 {
		return l.MaxBodyBytes
	}
	return mcpgw.DefaultMaxBodyBytes
}

// New returns the whole application as one http.Handler: the Gin engine, with in front of
// every route a check of the Host header against DNS rebinding (guardHosts: 421) and Go's
// cross-origin protection, so no form needs a CSRF token and a cross-site POST gets 403; every
// console answer carries the browser protections of secureHeaders.
//
// Every console route asks for a signed-in user with the right role first (see access).
func New(d Deps) http.Handler {
	r, _ := newEngine(d)
	return r
}

// newEngine builds the engine and returns it with the access rule of every route.
func newEngine(d Deps) (*gin.Engine, map[string]access) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	r.Use(beginRequest(log), secureHeaders(), logRequests(), guardHosts(newHostPolicy(d)), refuseCrossOrigin(http.NewCrossOriginProtection()),
		recoverPanics(), limitBodies(d.Limits.maxBody()))
	r.NoRoute(func(c *gin.Context) {
		if gateway(c.Request.URL.Path) {
			c.JSON(http.StatusNotFound, gin.H{"error": "no such endpoint: " + c.Request.URL.Path})
			return
		}
		handlers.Error(c, http.StatusNotFound, "There is no page at "+c.Request.URL.Path+".")
	})
	rules := routes(r, d)
	return r, rules
}

// gateway reports whether a path is the gateway's or the decision API's, which answer their
// errors in their own JSON shapes.
func gateway(path string) bool {
	return path == "/mcp" || strings.HasPrefix(path, "/mcp/") || strings.HasPrefix(path, "/api/")
}

// beginRequest gives every request a short random id: the X-Request-Id header, every log line
// of the request, and the error page carry it, so a person quoting it finds the line. An id
// sent by the client is not trusted: anyone could send another request's.
func beginRequest(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := newRequestID()
		handlers.BeginRequest(c, id, log.With("request_id", id))
		c.Next()
	}
}

// newRequestID is 12 hex digits (48 random bits): short enough to read out, and unlikely to
// repeat among the requests of a log being searched.
func newRequestID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// logRequests logs one structured line a request, with its id: at Info, or Error for a 5xx.
// Health checks and metric scrapes, which a probe sends every few seconds, log at Debug. The
// line is written also when a panic passes by (a client that went away, see recoverPanics).
func logRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		defer func() { logRequest(c, start) }()
		c.Next()
	}
}

func logRequest(c *gin.Context, start time.Time) {
	status := c.Writer.Status()
	level := slog.LevelInfo
	switch p := c.Request.URL.Path; {
	case status >= 500:
		level = slog.LevelError
	case p == "/healthz" || p == "/metrics":
		level = slog.LevelDebug
	}
	handlers.Logger(c).LogAttrs(c.Request.Context(), level, "http",
		slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path),
		slog.Int("status", status), slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("client", handlers.ClientAddr(c)))
}

// refuseCrossOrigin answers 403 to a cross-origin request that is not safe (a POST from another
// site), before any handler runs: on the console with the error page, on the gateway and the
// API with http.CrossOriginProtection's own plain answer, as before. Running inside the engine,
// the refusal gets a request id and a log line like any other answer.
func refuseCrossOrigin(p *http.CrossOriginProtection) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := p.Check(c.Request)
		switch {
		case err == nil:
			c.Next()
		case gateway(c.Request.URL.Path):
			http.Error(c.Writer, err.Error(), http.StatusForbidden)
			c.Abort()
		default:
			handlers.Logger(c).Info("request refused", "method", c.Request.Method, "path", c.Request.URL.Path, "status", http.StatusForbidden, "err", err)
			handlers.Error(c, http.StatusForbidden, "Warden refused this request because it came from another site; make changes from the console's own pages.")
		}
	}
}

// recoverPanics turns a handler's panic into a 500: the error page for the console (when
// nothing was written yet), an empty 500 for the gateway and the API, as before. A client that
// went away (http.ErrAbortHandler) is left to net/http.
func recoverPanics() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			handlers.Logger(c).Error("panic", "method", c.Request.Method, "path", c.Request.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if gateway(c.Request.URL.Path) || c.Writer.Written() {
				c.AbortWithStatus(http.StatusInternalServerError)
				return
			}
			handlers.Error(c, http.StatusInternalServerError, handlers.InternalError)
		}()
		c.Next()
	}
}

// limitBodies bounds the body of every request the gateway and the decision API do not bound
// themselves (they read theirs only after authentication, and answer 413 as JSON): the
// console's form posts. A body over limit gets 413 before any handler runs, so a form is never
// parsed from a truncated body.
func limitBodies(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.Body == nil || r.Body == http.NoBody || gateway(r.URL.Path) {
			c.Next()
			return
		}
		tooLarge := func() {
			c.Header("Connection", "close")
			handlers.Error(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes (--max-body); nothing was read.", limit))
		}
		if r.ContentLength > limit {
			tooLarge()
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, r.Body, limit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				tooLarge()
				return
			}
			handlers.Error(c, http.StatusBadRequest, "Reading the request body failed: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		c.Next()
	}
}

// contentSecurityPolicy is the policy of every console answer. The console's pages load their
// scripts, styles and icon from /static/ and nothing else: no inline script, event handler
// attribute or style attribute (htmx's indicator styles are off, see views.htmxConfig), no
// eval. A page injected into the console (a name that slipped past escaping, say) can therefore
// run no script, post no form elsewhere, and no other site can frame the console to trick a
// click (frame-ancestors; X-Frame-Options for browsers older than CSP 2).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// secureHeaders sets the browser protections before any handler or middleware answers, so
// refusals (421, 403, 413), error pages and static files carry them too. The gateway and the
// decision API answer JSON and event streams to programs, never a document a browser renders:
// they get only nosniff, which keeps a browser from reading a JSON or text answer as HTML.
func secureHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if !gateway(c.Request.URL.Path) {
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
		}
		c.Next()
	}
}
