package handlers

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
)

// Health answers /healthz.
type Health struct {
	Store *store.Store
	// State, when set, is what /healthz reports on: the enforced view, not a fresh query.
	State *live.State
}

// Show reports the database kind and the current policy revision; 503 when the database does
// not answer. With a State it reports the enforced view instead: "ok", or "degraded" while the
// last good view is enforced without the database (both 200), or "unavailable" (503) once that
// view is older than max-stale and enforcement fails closed.
func (h *Health) Show(c *gin.Context) {
	if h.State != nil {
		hs := h.State.Health()
		body := gin.H{
			"status": hs.Status(), "database": hs.Database, "revision": hs.Revision,
			"snapshot_age_seconds": math.Round(hs.Age.Seconds()*1000) / 1000, "degraded": hs.Degraded,
		}
		if hs.Status() != "ok" && hs.LastError != "" {
			body["error"] = hs.LastError
		}
		code := http.StatusOK
		if hs.Stale {
			code = http.StatusServiceUnavailable
		}
		c.JSON(code, body)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	rev, err := h.Store.Revision(ctx)
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "database": h.Store.Kind(), "error": err.Error()})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "database": h.Store.Kind(), "revision": rev})
}
