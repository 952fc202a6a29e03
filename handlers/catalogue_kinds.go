package handlers

// The three kinds of catalogue entity the console edits, and their pages' constructors.

import (
	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// NewServerSettings serves the MCP servers' settings, creation and deletion.
func NewServerSettings(st *store.Store, state PolicyState) *Catalogue {
	return &Catalogue{Store: st, State: state, k: entityKind{
		kind: models.KindServer, path: "servers", label: "MCP server", nav: "servers", param: "server",
		exists: func(d *models.Document, name string) bool { return d.Server(name) != nil },
		formOf: func(d *models.Document, name string) views.EntityForm {
			s := d.Server(name)
			return views.EntityForm{Name: s.Name, URL: s.URL, Public: s.Public, DisabledTools: s.DisabledTools}
		},
		read: func(c *gin.Context, bad func(field, format string, args ...any)) views.EntityForm {
			f := views.EntityForm{URL: c.PostForm("url"), DisabledTools: c.PostFormArray("disabled_tools")}
			f.Public = checkbox(c, "public", bad)
			return f
		},
		put: func(d *models.Document, f views.EntityForm, create bool) error {
			if create {
				d.Servers = append(d.Servers, models.ServerDoc{Name: f.Name, URL: f.URL, Public: f.Public})
				return nil
			}
			s := d.Server(f.Name)
			if s == nil {
				return models.Errorf(models.ENotFound, "unknown MCP server %q", f.Name)
			}
			s.URL, s.Public, s.DisabledTools = f.URL, f.Public, f.DisabledTools
			return nil
		},
		remove: (*models.Document).RemoveServer,
	}}
}

// NewGroupSettings serves the access groups' settings, creation and deletion.
func NewGroupSettings(st *store.Store, state PolicyState) *Catalogue {
	return &Catalogue{Store: st, State: state, k: entityKind{
		kind: models.KindAccessGroup, path: "access-groups", label: "access group", nav: "groups", param: "name",
		exists: func(d *models.Document, name string) bool { return d.AccessGroup(name) != nil },
		formOf: func(d *models.Document, name string) views.EntityForm {
			g := d.AccessGroup(name)
			return views.EntityForm{Name: g.Name, Servers: g.Servers}
		},
		read: func(c *gin.Context, _ func(field, format string, args ...any)) views.EntityForm {
			return views.EntityForm{Servers: c.PostFormArray("servers")}
		},
		put: func(d *models.Document, f views.EntityForm, create bool) error {
			return putSet(&d.AccessGroups, d.AccessGroup(f.Name), models.AccessGroupDoc{Name: f.Name, Servers: f.Servers}, create, "access group")
		},
		remove: (*models.Document).RemoveAccessGroup,
	}}
}

// NewToolsetSettings serves the toolsets' settings, creation and deletion.
func NewToolsetSettings(st *store.Store, state PolicyState) *Catalogue {
	return &Catalogue{Store: st, State: state, k: entityKind{
		kind: models.KindToolset, path: "toolsets", label: "toolset", nav: "toolsets", param: "name",
		exists: func(d *models.Document, name string) bool { return d.Toolset(name) != nil },
		formOf: func(d *models.Document, name string) views.EntityForm {
			t := d.Toolset(name)
			return views.EntityForm{Name: t.Name, Tools: t.Tools}
		},
		read: func(c *gin.Context, bad func(field, format string, args ...any)) views.EntityForm {
			tools := c.PostFormArray("tools")
			for i, st := range tools {
				if _, _, ok := models.SplitTool(st); !ok {
					bad("tools", "tools[%d]: %q is not server/tool", i, st)
				}
			}
			return views.EntityForm{Tools: tools}
		},
		put: func(d *models.Document, f views.EntityForm, create bool) error {
			return putSet(&d.Toolsets, d.Toolset(f.Name), models.ToolsetDoc{Name: f.Name, Tools: f.Tools}, create, "toolset")
		},
		remove: (*models.Document).RemoveToolset,
	}}
}

// putSet puts a named set (an access group, a toolset) into the document: appended when
// created, over the stored one (cur) otherwise.
func putSet[D any](list *[]D, cur *D, set D, create bool, label string) error {
	switch {
	case create:
		*list = append(*list, set)
	case cur == nil:
		return models.Errorf(models.ENotFound, "unknown %s", label)
	default:
		*cur = set
	}
	return nil
}

// checkbox reads a checkbox the form sends as "1" when ticked.
func checkbox(c *gin.Context, field string, bad func(field, format string, args ...any)) bool {
	switch v, ok := c.GetPostForm(field); {
	case !ok:
		return false
	case v == "1" || v == "on":
		return true
	default:
		bad(field, `must be "1" (or absent), not %q`, v)
		return false
	}
}
