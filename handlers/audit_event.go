package handlers

// One audit event: its entity before and after, the access change its revision caused, and
// Revert, a draft restoring the entity as it was before.

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// NewAudit serves the audit log with Revert opening drafts in the given settings pages.
func NewAudit(st *store.Store, state PolicyState, orgs *Orgs, editors ...*Catalogue) *Audit {
	a := &Audit{Store: st, State: state, Orgs: orgs, Catalogues: map[string]*Catalogue{}, Principals: map[string]*Principals{}}
	for _, e := range editors {
		a.Catalogues[e.k.kind] = e
	}
	return a
}

// WithPrincipals lets Revert open drafts in the settings pages of teams, keys, end users and
// agents too.
func (h *Audit) WithPrincipals(ps ...*Principals) *Audit {
	for _, p := range ps {
		h.Principals[p.kind.kind] = p
	}
	return h
}

// event loads the view and the audit event named in the URL.
func (h *Audit) event(c *gin.Context) (*live.View, *models.AuditEvent, bool) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return nil, nil, false
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		fail(c, models.Errorf(models.ENotFound, "no audit event %q", c.Param("id")))
		return nil, nil, false
	}
	e, err := h.Store.AuditEvent(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return nil, nil, false
	}
	return v, e, true
}

// documentChange is an entity change an audit event records (not secrets, not headers).
func documentChange(action string) bool {
	return action == "create" || action == "update" || action == "delete"
}

// policyAround reconstructs the policy just before and just after revision rev from the view's
// document, undoing the recorded changes of later revisions, then those of rev. ok is false
// when rev is newer than the view.
func (h *Audit) policyAround(c *gin.Context, v *live.View, rev int64) (before, after *models.Document, n int, err error) {
	events, err := h.Store.AuditEventsFrom(c.Request.Context(), rev)
	if err != nil {
		return nil, nil, 0, err
	}
	doc := v.Doc.Clone()
	undo := func(e models.AuditEvent) error { return doc.SetEntityJSON(e.EntityKind, e.EntityName, e.Before) }
	for _, e := range events { // newest first
		if e.Revision > v.Revision || e.Revision == rev || !documentChange(e.Action) {
			continue
		}
		if err := undo(e); err != nil {
			return nil, nil, 0, err
		}
	}
	after = doc.Clone()
	for _, e := range events {
		if e.Revision == rev && documentChange(e.Action) {
			n++
			if err := undo(e); err != nil {
				return nil, nil, 0, err
			}
		}
	}
	after.Normalize()
	doc.Normalize()
	return doc, after, n, nil
}

// Show is one audit event: before, after (as a diff) and the access change of its revision.
func (h *Audit) Show(c *gin.Context) {
	v, e, ok := h.event(c)
	if !ok {
		return
	}
	p := views.AuditEventProps{
		Layout: views.LayoutProps{Title: "Audit event " + strconv.FormatInt(e.ID, 10), Nav: "audit", Revision: v.Revision},
		Event: views.AuditRow{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Kind: e.EntityKind, Name: e.EntityName,
			Revision: e.Revision, Summary: e.Summary},
		Before: indentJSON(e.Before), After: indentJSON(e.After),
		Diff:      lineDiff(indentJSON(e.Before), indentJSON(e.After)),
		CanRevert: h.revertable(e),
	}
	if documentChange(e.Action) && e.Revision <= v.Revision {
		before, after, n, err := h.policyAround(c, v, e.Revision)
		if err != nil {
			fail(c, err)
			return
		}
		diff := resolver.Diff(resolver.Build(before), resolver.Build(after))
		p.Preview = previewAcross(diff, "", 1)
		p.Preview.Revision, p.Preview.NoWhy = e.Revision, true
		p.HasAccess, p.RevisionEvents = true, n
	}
	render(c, http.StatusOK, views.AuditEventPage(p))
}

// revertable reports whether the console can draft a revert of the event: a change of an
// organization's settings or of a catalogue entity, whose pages exist.
func (h *Audit) revertable(e *models.AuditEvent) bool {
	if !documentChange(e.Action) {
		return false
	}
	if e.EntityKind == models.KindOrganization {
		return e.Action == "update"
	}
	if _, ok := h.Principals[e.EntityKind]; ok {
		// A principal's settings change is drafted back in its settings page; its creation
		// and deletion are undone on its delete and new pages by hand.
		return e.Action == "update"
	}
	_, ok := h.Catalogues[e.EntityKind]
	return ok
}

// Revert opens a draft restoring the entity as it was before the event, in the entity's own
// settings page (or, for a creation, its deletion page; for a deletion, its creation page),
// with the preview computed on the current policy. Nothing is written until the person saves.
func (h *Audit) Revert(c *gin.Context) {
	v, e, ok := h.event(c)
	if !ok {
		return
	}
	if !h.revertable(e) {
		fail(c, models.Errorf(models.EInvalid, "audit event %d (%s %s %s) cannot be reverted from the console", e.ID, e.Action, kindWords(e.EntityKind), e.EntityName))
		return
	}
	notice := "This draft restores " + kindWords(e.EntityKind) + " " + e.EntityName + " as it was before audit event " +
		strconv.FormatInt(e.ID, 10) + " (revision " + strconv.FormatInt(e.Revision, 10) + "). Review the preview, then Save; nothing is saved yet."
	doc := v.Doc.Clone()
	if err := doc.SetEntityJSON(e.EntityKind, e.EntityName, e.Before); err != nil {
		fail(c, err)
		return
	}
	if e.EntityKind == models.KindOrganization {
		before := doc.Organization(e.EntityName)
		if v.Doc.Organization(e.EntityName) == nil || before == nil {
			fail(c, models.Errorf(models.ENotFound, "organization %q no longer exists; it cannot be reverted from the console", e.EntityName))
			return
		}
		in := draftInput{form: formOf(before), org: *before, page: 1, loaded: v.Revision, preview: v.Revision, loadedOK: true}
		p := h.Orgs.page(v, e.EntityName, in.form, in)
		p.Notice = notice
		render(c, http.StatusOK, views.OrgSettingsPage(p))
		return
	}
	if ps, ok := h.Principals[e.EntityKind]; ok {
		ps.revertPage(c, v, doc, e.EntityName, notice)
		return
	}
	cat := h.Catalogues[e.EntityKind]
	exists := cat.k.exists(v.Doc, e.EntityName)
	switch {
	case e.Before == "" && exists: // a creation: revert is deleting it
		cat.deletePage(c, v, e.EntityName, http.StatusOK)
	case e.Before == "":
		fail(c, models.Errorf(models.ENotFound, "%s %q no longer exists; there is nothing to revert", cat.k.label, e.EntityName))
	case !exists: // a deletion: revert is creating it again
		in := entityDraft{form: cat.k.formOf(doc, e.EntityName), page: 1, loaded: v.Revision}
		p := cat.newPage(c, v, in)
		p.Notice = notice
		if e.EntityKind == models.KindServer {
			p.Notice += " Its tools come back with Sync tools once it exists."
		}
		render(c, http.StatusOK, views.EntitySettingsPage(p))
	default:
		in := entityDraft{form: cat.k.formOf(doc, e.EntityName), page: 1, loaded: v.Revision, preview: v.Revision, loadedOK: true}
		p := cat.page(c, v, in, false)
		p.Notice = notice
		status := previewStatus(p.Preview)
		render(c, status, views.EntitySettingsPage(p))
	}
}

// kindWords is an entity kind as a sentence says it.
func kindWords(kind string) string {
	for _, o := range auditKinds {
		if o.Value == kind {
			return o.Label
		}
	}
	return kind
}
