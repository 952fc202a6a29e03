// Package web is the HTTP shell: the Gin engine, its middleware and the route table.
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

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
	// AllowedHosts are the host names the console answers to besides IP literals and
	// localhost ("*": any); see guardHosts.
	AllowedHosts []string
}

// New returns the whole application as one http.Handler: the Gin engine behind Go's
// cross-origin protection, so no form needs a CSRF token and a cross-site POST gets 403, and
// the console behind a check of the Host header against DNS rebinding (guardHosts: 421).
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), logRequests())
	routes(r, d)
	return guardHosts(d.AllowedHosts, http.NewCrossOriginProtection().Handler(r))
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
