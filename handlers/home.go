package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Home serves the overview page.
type Home struct {
	Store *store.Store
}

// Show lists organizations, teams and keys as stored.
func (h *Home) Show(c *gin.Context) {
	doc, rev, err := h.Store.LoadDocument(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	render(c, http.StatusOK, views.HomePage(views.HomeProps{
		Layout: views.LayoutProps{Title: "Overview", Revision: rev},
		Doc:    doc,
	}))
}
