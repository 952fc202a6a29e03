package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/views"
)

// Toolsets serves the read-only toolsets list, read from the enforced view.
type Toolsets struct {
	State PolicyState
}

// List shows every toolset with its tools grouped by server, marking entries that grant
// nothing (an unknown server or tool, or a disabled tool).
func (h *Toolsets) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	servers := serverCatalogues(v)
	unavailable := func(server, tool string) string {
		sc, ok := servers[server]
		switch {
		case !ok:
			return "No server is named " + server
		case sc.IsDisabled(tool):
			return "Disabled on " + server
		case !sc.Enabled(tool):
			return server + " has no tool " + tool
		}
		return ""
	}
	q := strings.TrimSpace(c.Query("q"))
	match := matcher(q)
	rows := []views.ToolsetRow{}
	for _, ts := range v.Doc.Toolsets {
		if !match(append([]string{ts.Name}, ts.Tools...)...) {
			continue
		}
		row := views.ToolsetRow{Name: ts.Name, Tools: len(ts.Tools)}
		at := map[string]int{} // server -> index in row.Servers, in order of first mention
		for _, st := range ts.Tools {
			s, t, ok := models.SplitTool(st)
			if !ok {
				continue
			}
			j, seen := at[s]
			if !seen {
				j = len(row.Servers)
				at[s] = j
				row.Servers = append(row.Servers, views.ToolsetServer{Server: s})
			}
			row.Servers[j].Tools = append(row.Servers[j].Tools, views.ToolRef{Name: t, Unavailable: unavailable(s, t)})
		}
		rows = append(rows, row)
	}
	p := views.ToolsetListProps{
		Layout: views.LayoutProps{Title: "Toolsets", Nav: "toolsets", Revision: v.Revision, Flash: popFlash(c)},
		List:   listPage(c, "/toolsets", "toolset-rows", "toolset-status", "toolset", "toolsets", q, len(rows)),
	}
	p.Toolsets = pageRows(rows, p.List)
	p.List.Shown = len(p.Toolsets)
	renderPage(c, http.StatusOK, views.ToolsetListPage(p), views.ToolsetListFragment(p))
}
