package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/views"
)

// Groups serves the read-only access groups list, read from the enforced view.
type Groups struct {
	State PolicyState
}

// List shows every access group with its servers and the number of tools they grant.
func (h *Groups) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	servers := serverCatalogues(v)
	rows := make([]views.GroupRow, len(v.Doc.AccessGroups))
	for i, g := range v.Doc.AccessGroups {
		row := views.GroupRow{Name: g.Name}
		for _, s := range g.Servers {
			sc, ok := servers[s]
			// Only the effective catalogue (disabled tools excluded) is granted.
			row.Servers = append(row.Servers, views.GroupServer{Name: s, Tools: len(sc.Tools), Public: sc.Public, Missing: !ok})
			row.Tools += len(sc.Tools)
		}
		rows[i] = row
	}
	render(c, http.StatusOK, views.GroupListPage(views.GroupListProps{
		Layout: views.LayoutProps{Title: "Access groups", Nav: "groups", Revision: v.Revision, Flash: popFlash(c)},
		Groups: rows,
	}))
}
