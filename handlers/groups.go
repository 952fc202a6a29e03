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
	type serverInfo struct {
		tools  int // catalogue tools, disabled ones excluded
		public bool
	}
	servers := make(map[string]serverInfo, len(v.Doc.Servers))
	for _, s := range v.Doc.Servers {
		disabled := map[string]bool{}
		for _, t := range s.DisabledTools {
			disabled[t] = true
		}
		n := 0
		for _, t := range s.Tools {
			if !disabled[t.Name] {
				n++
			}
		}
		servers[s.Name] = serverInfo{tools: n, public: s.Public}
	}
	rows := make([]views.GroupRow, len(v.Doc.AccessGroups))
	for i, g := range v.Doc.AccessGroups {
		row := views.GroupRow{Name: g.Name}
		for _, s := range g.Servers {
			si, ok := servers[s]
			row.Servers = append(row.Servers, views.GroupServer{Name: s, Tools: si.tools, Public: si.public, Missing: !ok})
			row.Tools += si.tools
		}
		rows[i] = row
	}
	render(c, http.StatusOK, views.GroupListPage(views.GroupListProps{
		Layout: views.LayoutProps{Title: "Access groups", Nav: "groups", Revision: v.Revision, Flash: popFlash(c)},
		Groups: rows,
	}))
}
