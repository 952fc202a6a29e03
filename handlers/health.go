package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models/store"
)

// Health answers /healthz.
type Health struct {
	Store *store.Store
}

// Show reports the database kind and the current policy revision; 503 when the database does
// not answer.
func (h *Health) Show(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	rev, err := h.Store.Revision(ctx)
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "database": h.Store.Kind(), "error": err.Error()})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok", "database": h.Store.Kind(), "revision": rev})
}
