package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/static"
)

// routes is the one place that lists every URL Warden serves.
func routes(r *gin.Engine, d Deps) {
	health := &handlers.Health{Store: d.Store}
	home := &handlers.Home{Store: d.Store}

	r.StaticFS("/static", http.FS(static.FS))
	r.GET("/healthz", health.Show)
	r.GET("/", home.Show)
}
