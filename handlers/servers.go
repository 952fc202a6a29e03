package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// Servers serves the read-only MCP servers list and each server's catalogue, read from the
// enforced view.
type Servers struct {
	State PolicyState
}

// List shows every MCP server.
func (h *Servers) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	groups, toolsets := map[string]int{}, map[string]int{}
	for _, g := range v.Doc.AccessGroups {
		for _, s := range g.Servers {
			groups[s]++
		}
	}
	for _, t := range v.Doc.Toolsets {
		seen := map[string]bool{}
		for _, st := range t.Tools {
			if s, _, ok := models.SplitTool(st); ok && !seen[s] {
				seen[s] = true
				toolsets[s]++
			}
		}
	}
	cats := serverCatalogues(v)
	q := strings.TrimSpace(c.Query("q"))
	match := matcher(q)
	rows := []views.ServerRow{}
	for _, s := range v.Doc.Servers {
		if !match(s.Name, s.URL) {
			continue
		}
		sc := cats[s.Name]
		disabled := slices.Concat(sc.Disabled, sc.UnknownDisabled)
		slices.Sort(disabled)
		rows = append(rows, views.ServerRow{
			Name: s.Name, URL: s.URL, Public: s.Public, Tools: len(s.Tools), Disabled: disabled,
			AccessGroups: groups[s.Name], Toolsets: toolsets[s.Name],
		})
	}
	p := views.ServerListProps{
		Layout: views.LayoutProps{Title: "MCP servers", Nav: "servers", Revision: v.Revision, Flash: popFlash(c)},
		List:   listPage(c, "/servers", "server-rows", "server-status", "server", "servers", q, len(rows)),
	}
	p.Servers = pageRows(rows, p.List)
	p.List.Shown = len(p.Servers)
	renderPage(c, http.StatusOK, views.ServerListPage(p), views.ServerListFragment(p))
}

// Show is one server's catalogue: each tool with its description and whether it is disabled,
// and the access groups and toolsets that include the server.
func (h *Servers) Show(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	name := c.Param("server")
	var srv *models.ServerDoc
	for i := range v.Doc.Servers {
		if v.Doc.Servers[i].Name == name {
			srv = &v.Doc.Servers[i]
			break
		}
	}
	if srv == nil {
		notFound(c, "MCP server", name)
		return
	}
	sc, _ := v.Snapshot.Server(name)
	p := views.ServerDetailProps{
		Layout: views.LayoutProps{Title: "MCP server " + name, Nav: "servers", Revision: v.Revision, Flash: popFlash(c)},
		Name:   name, URL: srv.URL, Public: srv.Public, UnknownDisabled: sc.UnknownDisabled,
	}
	// Header names only: the values are credentials, never rendered.
	up := v.Upstreams[name]
	for k := range up.Headers {
		p.HeaderNames = append(p.HeaderNames, k)
	}
	slices.Sort(p.HeaderNames)
	p.HeadersUnavailable = up.Unavailable
	for _, t := range srv.Tools {
		p.Tools = append(p.Tools, views.ToolRow{Name: t.Name, Description: t.Description, Schema: indentJSON(t.InputSchema), Disabled: sc.IsDisabled(t.Name)})
	}
	for _, g := range v.Doc.AccessGroups {
		for _, s := range g.Servers {
			if s == name {
				p.AccessGroups = append(p.AccessGroups, g.Name)
				break
			}
		}
	}
	for _, ts := range v.Doc.Toolsets {
		var tools []string
		for _, st := range ts.Tools {
			if s, t, ok := models.SplitTool(st); ok && s == name {
				tools = append(tools, t)
			}
		}
		if len(tools) > 0 {
			p.Toolsets = append(p.Toolsets, views.NamedSet{Name: ts.Name, Items: tools})
		}
	}
	render(c, http.StatusOK, views.ServerDetailPage(p))
}

// indentJSON lays out a stored (compact) input schema for reading; text that is not JSON is
// shown as it is.
func indentJSON(s string) string {
	var b bytes.Buffer
	if s == "" || json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String()
}

// serverCatalogues is every server's catalogue as the resolver applies it, by name.
func serverCatalogues(v *live.View) map[string]resolver.ServerCatalogue {
	all := v.Snapshot.Servers()
	out := make(map[string]resolver.ServerCatalogue, len(all))
	for _, sc := range all {
		out[sc.Name] = sc
	}
	return out
}

// catalogueListPerPage is the page size of the servers, access groups and toolsets lists.
const catalogueListPerPage = 50

// listPage is a filtered (?q=) and paged (?page=) list's status, total rows matching.
func listPage(c *gin.Context, path, rows, status, one, many, q string, total int) views.ListPage {
	page := pageParam(c)
	return views.ListPage{
		Path: path, Rows: rows, Status: status, One: one, Many: many,
		Params: []views.Param{{Name: "q", Value: q}}, Filter: quoted("matching", q),
		Page: page, PerPage: catalogueListPerPage, Total: total, HasNext: page*catalogueListPerPage < total,
	}
}

// pageRows is the rows of the list's page.
func pageRows[T any](rows []T, l views.ListPage) []T {
	from := min((l.Page-1)*l.PerPage, len(rows))
	return rows[from:min(from+l.PerPage, len(rows))]
}
