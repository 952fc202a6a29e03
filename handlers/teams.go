package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// Teams serves the read-only teams list, read from the enforced view.
type Teams struct {
	State PolicyState
}

// List shows every team matching ?q= (a part of the team's or its organization's name). An htmx
// request gets the table body and status line alone.
func (h *Teams) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	q := strings.TrimSpace(c.Query("q"))
	match := matcher(q)

	keys := make(map[string]int, len(v.Doc.Teams))
	for i := range v.Doc.Keys {
		if t := v.Doc.Keys[i].Team; t != "" {
			keys[t]++
		}
	}
	rows := []views.TeamRow{}
	for _, t := range v.Doc.Teams {
		if !match(t.Name, t.Organization) {
			continue
		}
		a, _ := v.Snapshot.TeamAccess(t.Name)
		info, _ := v.Snapshot.TeamInfo(t.Name)
		rows = append(rows, views.TeamRow{
			Name: t.Name, Organization: t.Organization, MCP: t.MCP, DenyTools: len(t.DenyTools),
			Keys: keys[t.Name], Access: accessSummary(a), Status: teamStatus(info),
		})
	}
	p := views.TeamListProps{
		Layout: views.LayoutProps{Title: "Teams", Nav: "teams", Revision: v.Revision, Flash: popFlash(c)},
		List: views.ListPage{
			Path: "/teams", Rows: "team-rows", Status: "team-status", One: "team", Many: "teams",
			Params: []views.Param{{Name: "q", Value: q}}, Filter: quoted("matching", q),
			Page: 1, Shown: len(rows), Total: len(rows),
		},
		Rows: rows,
	}
	renderPage(c, http.StatusOK, views.TeamListPage(p), views.TeamListFragment(p))
}

// Helpers shared by the read-only list pages (teams, keys, servers, toolsets, access groups,
// audit log).

// matcher returns a case-insensitive test of whether any of the names contains q; an empty q
// matches everything.
func matcher(q string) func(names ...string) bool {
	q = strings.ToLower(q)
	return func(names ...string) bool {
		if q == "" {
			return true
		}
		for _, n := range names {
			if n != "" && strings.Contains(strings.ToLower(n), q) {
				return true
			}
		}
		return false
	}
}

// quoted is the status line's words for a filter: `matching “ci”`, or "" for none.
func quoted(words, value string) string {
	if value == "" {
		return ""
	}
	return words + " “" + value + "”"
}

// pageParam reads ?page=, 1 when absent or invalid.
func pageParam(c *gin.Context) int {
	p, err := strconv.Atoi(c.Query("page"))
	if err != nil || p < 1 {
		return 1
	}
	return p
}

// accessSummary counts an effective access for a table cell.
func accessSummary(a resolver.Access) views.AccessSummary {
	return views.AccessSummary{Servers: len(a), Tools: a.Count(), Detail: a.String()}
}

// accessRows lists an effective access server by server, in name order.
func accessRows(a resolver.Access) []views.ServerTools {
	out := make([]views.ServerTools, 0, len(a))
	for _, s := range a.Servers() {
		out = append(out, views.ServerTools{Server: s, Tools: a[s]})
	}
	return out
}

// notFound answers 404 naming what was not found.
func notFound(c *gin.Context, what, name string) {
	fail(c, models.Errorf(models.ENotFound, "unknown %s %q", what, name))
}
