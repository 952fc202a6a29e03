package handlers

// Saving an organization's settings: the save protocol, its conflicts and Apply my edits on top.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Save writes the draft, provided the organization's settings have not changed since the form
// loaded them (loaded_revision) and nothing else affecting the organization has changed since
// its preview (preview_revision). Otherwise it writes nothing and answers 409: with who changed
// the settings and the ways forward in the first case, with a fresh preview in the second; the
// form keeps its loaded_revision either way, so saving it again is refused again. A form with
// a missing, malformed or future revision, or any value the form does not send, is 422.
func (h *Orgs) Save(c *gin.Context) {
	v, org, ok := h.load(c)
	if !ok || !allowOrgs(c, org.Name) {
		return
	}
	in := parseDraft(c, org.Name, true)
	if len(in.problems) > 0 {
		h.refuse(c, v, org, in, "The form has problems; nothing was saved.")
		return
	}
	if !allowBlocking(c, org.Blocked, in.org.Blocked) {
		return
	}
	// The diff at the form's revision is what the person saw; it becomes the audit summary.
	diff, _, probs := h.diff(v, in.org)
	if len(probs) > 0 {
		p := h.page(v, org.Name, in.form, in)
		p.Message = "The draft has problems; nothing was saved."
		render(c, http.StatusUnprocessableEntity, views.OrgSettingsPage(p))
		return
	}
	summary := savedSummary(diff)
	// The guards are checked again under the save's lock, on the state it changes.
	draft := func(v *live.View) *resolver.Snapshot { return v.Snapshot.WithOrganization(in.org) }
	err := guardedSave(c.Request.Context(), h.State, draft, func(verify func(int64) error) error {
		_, err := h.Store.UpdateOrganization(c.Request.Context(), store.OrganizationUpdate{
			Org: in.org, SettingsRevision: in.loaded, BaseRevision: in.preview, Actor: actorOf(c), Summary: summary,
			Verify: verify,
		})
		return err
	})
	var conflict *models.ConflictError
	var bad *models.Error
	var refused *GuardRefusal
	switch {
	case err == nil:
	case errors.As(err, &refused):
		fresh, verr := h.State.View()
		if verr != nil {
			fail(c, verr)
			return
		}
		p := h.page(fresh, org.Name, in.form, in)
		p.Message = "Nothing was saved: " + refused.Error() + "."
		render(c, http.StatusUnprocessableEntity, views.OrgSettingsPage(p))
		return
	case errors.As(err, &conflict):
		fresh, ok := freshView(c, h.State)
		if !ok {
			return
		}
		p := h.page(fresh, org.Name, in.form, in)
		if conflict.Reason == models.ConflictSettings {
			// The conflict card says who changed what, with the ways on; the preview's note
			// would say it twice.
			p.Conflict = conflictOf(org.Name, "/orgs/"+org.Name+"/settings", "org-settings", in.org, conflict, orgLevel)
			p.Message = "Nothing was saved: " + conflict.Error() + "."
		} else {
			p.Message = conflict.Error()
			if !h.noteStale(c, fresh, &p, in) {
				return
			}
		}
		render(c, http.StatusConflict, views.OrgSettingsPage(p))
		return
	case errors.As(err, &bad) && bad.Code == models.EInvalid:
		// A revision the store has not reached: the form's revisions cannot be trusted.
		field := "preview_revision"
		if in.loaded > v.Revision {
			field = "loaded_revision"
		}
		h.refuse(c, v, org, draftInput{problems: models.Problems{{Path: field, Message: bad.Message}}}, "The form has problems; nothing was saved.")
		return
	default:
		// Problems found by the store (the catalogue changed under the view) are 422 too.
		if ps, ok := err.(models.Problems); ok {
			p := h.page(v, org.Name, in.form, in)
			p.Preview.Problems = ps
			p.Message = "The draft has problems; nothing was saved."
			render(c, http.StatusUnprocessableEntity, views.OrgSettingsPage(p))
			return
		}
		fail(c, err)
		return
	}
	// Enforcement must see the save before the person does.
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	setFlash(c, "Saved — "+summary)
	redirect(c, "/orgs/"+org.Name+"/settings")
}

// Rebase is "Apply my edits on top": it takes the posted draft's edits relative to the
// settings the form loaded (read from the audit log at loaded_revision, not from the form) and
// re-applies them onto the current settings (models.Rebase). It writes nothing: the page shows
// the result in the form, with its preview, loaded at the current revision, for the person to
// review and Save.
func (h *Orgs) Rebase(c *gin.Context) {
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	v, org, ok := h.load(c)
	if !ok || !allowOrgs(c, org.Name) {
		return
	}
	in := parseDraft(c, org.Name, true)
	if len(in.problems) == 0 && in.loaded > v.Revision {
		in.problems = append(in.problems, models.Problem{Path: "loaded_revision",
			Message: fmt.Sprintf("revision %d is newer than the current revision %d", in.loaded, v.Revision)})
	}
	if len(in.problems) > 0 {
		h.refuse(c, v, org, in, "The form has problems; your edits were not applied.")
		return
	}
	base, _, err := h.settingsAt(c.Request.Context(), v, org, in.loaded)
	if err != nil {
		fail(c, err)
		return
	}
	if base == nil {
		p := h.page(v, org.Name, in.form, in)
		p.Message = fmt.Sprintf("%s did not exist at revision %d, when this form loaded its settings; start from the current settings.", org.Name, in.loaded)
		render(c, http.StatusConflict, views.OrgSettingsPage(p))
		return
	}
	merged := models.Rebase(*base, in.org, *org)
	next := draftInput{form: formOf(&merged), org: merged, filter: in.filter, page: 1, loaded: v.Revision, preview: v.Revision}
	p := h.page(v, org.Name, next.form, next)
	p.Notice = fmt.Sprintf("Your edits are applied on top of %s's current settings (revision %d). Review the preview, then Save; nothing is saved yet.", org.Name, v.Revision)
	status := previewStatus(p.Preview)
	render(c, status, views.OrgSettingsPage(p))
}

// refuse answers 422 for a form that cannot be read as the settings form sends it. The draft
// is shown again with its loaded revision when that one is sound; otherwise the page shows the
// stored settings, since a draft whose base is unknown could overwrite anyone's change.
func (h *Orgs) refuse(c *gin.Context, v *live.View, org *models.OrganizationDoc, in draftInput, msg string) {
	var p views.OrgSettingsProps
	if in.loadedOK {
		p = h.page(v, org.Name, in.form, in)
	} else {
		p = h.page(v, org.Name, formOf(org), draftInput{org: *org, stored: true, loaded: v.Revision})
		msg += " The form did not say soundly which revision its settings were loaded at, so the current settings are shown."
	}
	p.Preview.Problems = in.problems
	p.Preview.EmptyLimit = false
	p.Message = msg
	render(c, http.StatusUnprocessableEntity, views.OrgSettingsPage(p))
}

// settingsAt returns the organization's settings as they were at revision rev (nil if it did
// not exist then) and its changes since, up to the view's revision. They are read from the
// audit log: the first change after rev records the settings before it.
func (h *Orgs) settingsAt(ctx context.Context, v *live.View, org *models.OrganizationDoc, rev int64) (*models.OrganizationDoc, []models.AuditEvent, error) {
	events, err := h.Store.OrganizationChangesSince(ctx, org.Name, rev)
	if err != nil {
		return nil, nil, err
	}
	for i, e := range events {
		if e.Revision > v.Revision {
			events = events[:i]
			break
		}
	}
	if len(events) == 0 {
		return org, nil, nil
	}
	if events[0].Before == "" {
		return nil, events, nil
	}
	var d models.OrganizationDoc
	if err := json.Unmarshal([]byte(events[0].Before), &d); err != nil {
		return nil, nil, fmt.Errorf("audit event %d of organization %s: %w", events[0].ID, org.Name, err)
	}
	return &d, events, nil
}

// conflictOf shows a refused save: the store's audit events of the level since the form's
// settings were loaded, and the person's edits (draft) relative to those settings; level reads
// an audit event's JSON as the level's access settings.
func conflictOf(subject, base, formID string, draft models.OrganizationDoc, e *models.ConflictError, level func(js string) (models.OrganizationDoc, bool)) *views.ConflictProps {
	cp := &views.ConflictProps{Subject: subject, Base: base, FormID: formID, Since: e.Since, Revision: e.Revision}
	for _, ev := range e.Changes {
		before, _ := level(ev.Before)
		after, _ := level(ev.After)
		cp.Changes = append(cp.Changes, views.SettingsChange{
			Actor: ev.Actor, At: ev.At, Revision: ev.Revision, Action: ev.Action, Summary: ev.Summary,
			Delta: models.DiffOrganization(before, after),
		})
	}
	if len(e.Changes) > 0 && e.Changes[0].Before != "" {
		if loaded, ok := level(e.Changes[0].Before); ok {
			cp.Mine, cp.Known = models.DiffOrganization(loaded, draft), true
		}
	}
	return cp
}

// orgLevel reads an organization's audit JSON.
func orgLevel(js string) (models.OrganizationDoc, bool) {
	var d models.OrganizationDoc
	return d, js != "" && json.Unmarshal([]byte(js), &d) == nil
}

// freshView refreshes the state and returns its view, for a page answering a refused save with
// the current settings. When they cannot be read, that failure is the answer (a 503 or 500),
// not the conflict, which the person could not act on; it answers the request itself and
// returns false then.
func freshView(c *gin.Context, state PolicyState) (*live.View, bool) {
	if err := state.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return nil, false
	}
	v, err := state.View()
	if err != nil {
		fail(c, err)
		return nil, false
	}
	return v, true
}
