package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Audit serves the audit log, read from the store.
type Audit struct {
	Store *store.Store
	State PolicyState
	// Orgs, Catalogues and Principals (by entity kind) open the drafts Revert restores.
	Orgs       *Orgs
	Catalogues map[string]*Catalogue
	Principals map[string]*Principals
}

// auditPerPage is the audit log's page size.
const auditPerPage = 50

// auditKinds are the entity kinds audit events name, as the filter offers them.
var auditKinds = []views.Option{
	{Value: models.KindOrganization, Label: "organization"},
	{Value: models.KindTeam, Label: "team"},
	{Value: models.KindKey, Label: "key"},
	{Value: models.KindAgent, Label: "agent"},
	{Value: models.KindEndUser, Label: "end user"},
	{Value: models.KindServer, Label: "server"},
	{Value: models.KindAccessGroup, Label: "access group"},
	{Value: models.KindToolset, Label: "toolset"},
}

// List shows a page of audit events, newest first, optionally of one entity kind (?kind=). An
// htmx request gets the table body and status line alone.
func (h *Audit) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	kind := c.Query("kind")
	label := ""
	for _, o := range auditKinds {
		if o.Value == kind {
			label = o.Label
		}
	}
	if kind != "" && label == "" {
		fail(c, models.Errorf(models.EInvalid, "unknown entity kind %q", kind))
		return
	}
	page := pageParam(c)
	name, actor := strings.TrimSpace(c.Query("name")), strings.TrimSpace(c.Query("actor"))
	from, to := c.Query("from"), c.Query("to")
	f := store.AuditFilter{EntityKind: kind, NameContains: name, Actor: actor, Limit: auditPerPage + 1, Offset: (page - 1) * auditPerPage}
	for _, d := range []struct {
		field, value string
		at           *time.Time
		days         int
	}{{"from", from, &f.Since, 0}, {"to", to, &f.Until, 1}} {
		if d.value == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.value)
		if err != nil {
			fail(c, models.Errorf(models.EInvalid, "%s must be a date (YYYY-MM-DD), not %q", d.field, d.value))
			return
		}
		// "to" includes its whole day.
		*d.at = t.AddDate(0, 0, d.days)
	}
	// One more than a page tells whether there is a next page without counting every event.
	events, err := h.Store.ListAuditEvents(c.Request.Context(), f)
	if err != nil {
		fail(c, err)
		return
	}
	more := len(events) > auditPerPage
	if more {
		events = events[:auditPerPage]
	}
	rows := make([]views.AuditRow, len(events))
	for i, e := range events {
		rows[i] = views.AuditRow{
			ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Kind: e.EntityKind, Name: e.EntityName,
			Revision: e.Revision, Summary: e.Summary,
		}
	}
	var words []string
	if label != "" {
		words = append(words, "on "+label+"s")
	}
	if name != "" {
		words = append(words, quoted("named like", name))
	}
	if actor != "" {
		words = append(words, quoted("by", actor))
	}
	if from != "" {
		words = append(words, "from "+from)
	}
	if to != "" {
		words = append(words, "to "+to)
	}
	filter := strings.Join(words, " ")
	p := views.AuditProps{
		Layout: views.LayoutProps{Title: "Audit log", Nav: "audit", Revision: v.Revision, Flash: popFlash(c)},
		List: views.ListPage{
			Path: "/audit", Rows: "audit-rows", Status: "audit-status", One: "event", Many: "events",
			Params: []views.Param{{Name: "kind", Value: kind}, {Name: "name", Value: name}, {Name: "actor", Value: actor}, {Name: "from", Value: from}, {Name: "to", Value: to}},
			Filter: filter,
			Page:   page, PerPage: auditPerPage, Shown: len(rows), Total: -1, HasNext: more,
		},
		Kind: kind, Kinds: auditKinds, Events: rows, Name: name, Actor: actor, From: from, To: to,
	}
	renderPage(c, http.StatusOK, views.AuditPage(p), views.AuditFragment(p))
}
