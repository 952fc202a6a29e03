// Package web is the HTTP shell: the Gin engine, its middleware and the route table.
package web

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

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
	// Limits bound request bodies and sessions; zero values take the defaults.
	Limits Limits
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

// New returns the whole application as one http.Handler: the Gin engine behind Go's
// cross-origin protection, so no form needs a CSRF token and a cross-site POST gets 403.
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), logRequests(), limitBodies(d.Limits.maxBody()))
	routes(r, d)
	return http.NewCrossOriginProtection().Handler(r)
}

// logRequests logs one structured line a request.
func logRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		slog.Debug("http", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "ms", float64(time.Since(start).Microseconds())/1000)
	}
}

// limitBodies bounds the body of every request the gateway and the decision API do not bound
// themselves (they read theirs only after authentication, and answer 413 as JSON): the
// console's form posts. A body over limit gets 413 before any handler runs, so a form is never
// parsed from a truncated body.
func limitBodies(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		p := r.URL.Path
		if r.Body == nil || r.Body == http.NoBody || p == "/mcp" || strings.HasPrefix(p, "/mcp/") || strings.HasPrefix(p, "/api/") {
			c.Next()
			return
		}
		tooLarge := func() {
			c.Header("Connection", "close")
			c.String(http.StatusRequestEntityTooLarge, "request body larger than %d bytes\n", limit)
			c.Abort()
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
			c.String(http.StatusBadRequest, "reading the request body failed\n")
			c.Abort()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		c.Next()
	}
}
