package handlers

// The organizations list and an organization's settings page.

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// PolicyState is the enforcement state the console reads and previews against: the same view
// the gateway enforces. Refresh makes a save visible to enforcement before the response returns.
type PolicyState interface {
	View() (*live.View, error)
	Refresh(ctx context.Context) error
}

// Orgs serves the organizations list and each organization's settings with its live preview.
type Orgs struct {
	Store *store.Store
	State PolicyState
}

// List shows every organization.
func (h *Orgs) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	rows := make([]views.OrgListRow, len(v.Doc.Organizations))
	for i, o := range v.Doc.Organizations {
		teams := v.Snapshot.OrganizationTeams(o.Name)
		keys := len(v.Snapshot.OrganizationKeys(o.Name)) // teamless keys
		for _, t := range teams {
			keys += len(v.Snapshot.TeamKeys(t))
		}
		a, _ := v.Snapshot.OrganizationAccess(o.Name)
		st := activeStatus
		if o.Blocked {
			st = blockedStatus(resolver.LevelOrganization, resolver.LevelOrganization, o.Name)
		}
		rows[i] = views.OrgListRow{
			Name: o.Name, MCP: o.MCP, DenyTools: len(o.DenyTools), Teams: len(teams), Keys: keys,
			Access: accessSummary(a), Status: st,
		}
	}
	render(c, http.StatusOK, views.OrgListPage(views.OrgListProps{
		Layout: views.LayoutProps{Title: "Organizations", Nav: "orgs", Revision: v.Revision, Flash: popFlash(c)},
		Orgs:   rows,
	}))
}

// Settings shows an organization's settings as stored, with an empty preview.
func (h *Orgs) Settings(c *gin.Context) {
	v, org, ok := h.load(c)
	if !ok {
		return
	}
	p := h.page(v, org.Name, formOf(org), draftInput{org: *org, stored: true, loaded: v.Revision})
	p.Layout.Flash = popFlash(c)
	render(c, http.StatusOK, views.OrgSettingsPage(p))
}

// load fetches the current view and the organization named in the URL, answering 404 itself.
func (h *Orgs) load(c *gin.Context) (*live.View, *models.OrganizationDoc, bool) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return nil, nil, false
	}
	org := v.Doc.Organization(c.Param("org"))
	if org == nil {
		fail(c, models.Errorf(models.ENotFound, "unknown organization %q", c.Param("org")))
		return nil, nil, false
	}
	return v, org, true
}

// page assembles the settings page and its preview for a draft.
func (h *Orgs) page(v *live.View, org string, form views.OrgForm, in draftInput) views.OrgSettingsProps {
	p, _ := h.pageAfter(v, org, form, in)
	return p
}

// pageAfter is page, also returning the snapshot with the draft saved (nil when the preview
// computed none: the stored settings, or a draft with problems).
func (h *Orgs) pageAfter(v *live.View, org string, form views.OrgForm, in draftInput) (views.OrgSettingsProps, *resolver.Snapshot) {
	preview, after := h.preview(v, in)
	return views.OrgSettingsProps{
		Layout:         views.LayoutProps{Title: "Organization " + org + " — settings", Nav: "orgs", Revision: v.Revision},
		Org:            org,
		Form:           form,
		LoadedRevision: in.loaded,
		Catalogue:      catalogueOf(v),
		Preview:        preview,
	}, after
}

// catalogueOf is what the settings form offers: every server with its tools (disabled ones
// marked, as the resolver applies disabled_tools), access group and toolset.
func catalogueOf(v *live.View) views.Catalogue {
	var cat views.Catalogue
	for _, s := range v.Snapshot.Servers() {
		cs := views.CatalogueServer{Name: s.Name, Public: s.Public, Tools: s.AllTools(), Disabled: map[string]bool{}}
		for _, t := range s.Disabled {
			cs.Disabled[t] = true
		}
		cat.Servers = append(cat.Servers, cs)
	}
	for _, g := range v.Doc.AccessGroups {
		cat.AccessGroups = append(cat.AccessGroups, views.NamedSet{Name: g.Name, Items: g.Servers})
	}
	for _, t := range v.Doc.Toolsets {
		cat.Toolsets = append(cat.Toolsets, views.NamedSet{Name: t.Name, Items: t.Tools})
	}
	return cat
}

// ToolLimit renders one server's tool limit block, for a server selected after the page loaded.
func (h *Orgs) ToolLimit(c *gin.Context) {
	v, _, ok := h.load(c)
	if !ok {
		return
	}
	for _, s := range catalogueOf(v).Servers {
		if s.Name == c.Param("server") {
			render(c, http.StatusOK, views.ToolLimit(s, views.OrgForm{Servers: []string{s.Name}}))
			return
		}
	}
	fail(c, models.Errorf(models.ENotFound, "unknown server %q", c.Param("server")))
}
