package handlers

import (
	"net/http"
	"strings"

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
	q := strings.TrimSpace(c.Query("q"))
	match := matcher(q)
	rows := []views.GroupRow{}
	for _, g := range v.Doc.AccessGroups {
		if !match(append([]string{g.Name}, g.Servers...)...) {
			continue
		}
		row := views.GroupRow{Name: g.Name}
		for _, s := range g.Servers {
			sc, ok := servers[s]
			// Only the effective catalogue (disabled tools excluded) is granted.
			row.Servers = append(row.Servers, views.GroupServer{Name: s, Tools: len(sc.Tools), Public: sc.Public, Missing: !ok})
			row.Tools += len(sc.Tools)
		}
		rows = append(rows, row)
	}
	p := views.GroupListProps{
		Layout: views.LayoutProps{Title: "Access groups", Nav: "groups", Revision: v.Revision, Flash: popFlash(c)},
		List:   listPage(c, "/access-groups", "group-rows", "group-status", "access group", "access groups", q, len(rows)),
	}
	p.Groups = pageRows(rows, p.List)
	p.List.Shown = len(p.Groups)
	renderPage(c, http.StatusOK, views.GroupListPage(p), views.GroupListFragment(p))
}
