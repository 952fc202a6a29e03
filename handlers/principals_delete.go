package handlers

// Deleting a principal: the preview of what is lost, the keys that refer to it, and the
// typed confirmation when anyone loses access.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// deletion is the change deleting a principal makes: the principal, and what becomes of the
// keys referring to it (a team's keys, an agent's bound keys): moved (put) or deleted.
type deletion struct {
	then       string // "move" (a team's keys to its organization), "unbind" (from an agent), "delete"
	dependants []*models.KeyDoc
	put        models.Document
	remove     map[string][]string
}

// deletionOf is the deletion of p with its dependants handled as then says (the default:
// kept, moved or unbound).
func (h *Principals) deletionOf(v *live.View, p principal, then string) deletion {
	d := deletion{remove: map[string][]string{h.kind.kind: {p.Name}}}
	switch h.kind.kind {
	case models.KindTeam:
		for _, k := range v.Snapshot.TeamKeys(p.Name) {
			if doc := findKey(v.Doc, k); doc != nil {
				d.dependants = append(d.dependants, doc)
			}
		}
		if then != "delete" {
			then = "move"
		}
	case models.KindAgent:
		for i := range v.Doc.Keys {
			if v.Doc.Keys[i].Agent == p.Name {
				d.dependants = append(d.dependants, &v.Doc.Keys[i])
			}
		}
		if then != "delete" {
			then = "unbind"
		}
	}
	d.then = then
	for _, k := range d.dependants {
		switch then {
		case "delete":
			d.remove[models.KindKey] = append(d.remove[models.KindKey], k.Name)
		case "move":
			moved := *k
			moved.Team, moved.Organization = "", p.Organization
			d.put.Keys = append(d.put.Keys, moved)
		case "unbind":
			moved := *k
			moved.Agent = ""
			d.put.Keys = append(d.put.Keys, moved)
		}
	}
	return d
}

// diff is what the deletion changes, computed by the resolver: the state without the principal
// (and with its dependants moved or gone) against the enforced one.
func (d deletion) diff(v *live.View) resolver.DiffResult {
	return resolver.Diff(v.Snapshot, d.after(v))
}

// after is the snapshot with the deletion made.
func (d deletion) after(v *live.View) *resolver.Snapshot {
	next := v.Doc.Clone()
	putAllDocs(next, &d.put)
	for kind, names := range d.remove {
		dropDocs(next, kind, names)
	}
	return v.Snapshot.Update(next)
}

// putAllDocs replaces doc's keys by those of put (the only principals a deletion moves).
func putAllDocs(doc, put *models.Document) {
	for _, k := range put.Keys {
		if i := slices.IndexFunc(doc.Keys, func(d models.KeyDoc) bool { return d.Name == k.Name }); i >= 0 {
			doc.Keys[i] = k
		}
	}
}

// dropDocs removes the named principals of one kind from doc.
func dropDocs(doc *models.Document, kind string, names []string) {
	gone := func(n string) bool { return slices.Contains(names, n) }
	switch kind {
	case models.KindTeam:
		doc.Teams = slices.DeleteFunc(doc.Teams, func(t models.TeamDoc) bool { return gone(t.Name) })
	case models.KindKey:
		doc.Keys = slices.DeleteFunc(doc.Keys, func(k models.KeyDoc) bool { return gone(k.Name) })
	case models.KindEndUser:
		doc.EndUsers = slices.DeleteFunc(doc.EndUsers, func(u models.EndUserDoc) bool { return gone(u.Name) })
	case models.KindAgent:
		doc.Agents = slices.DeleteFunc(doc.Agents, func(a models.AgentDoc) bool { return gone(a.Name) })
	}
}

// deletePage is the deletion's page for p.
func (h *Principals) deletePage(v *live.View, p principal, d deletion, diff resolver.DiffResult, loaded int64) views.DeleteProps {
	k := h.kind
	pv := previewImpact(diff, "", 1)
	pv.Revision, pv.Subject, pv.Base, pv.FormID = v.Revision, k.one+" "+p.Name, k.settingsURL(p.Name), "delete-form"
	// The rows explain settings drafts, and the pager posts one: neither fits a deletion. The
	// first page of teams is shown, with the counts of all.
	pv.NoWhy, pv.NextPage = true, 0
	props := views.DeleteProps{
		Layout: views.LayoutProps{Title: "Delete " + k.one + " " + p.Name, Nav: k.nav, Revision: v.Revision},
		Kind:   k.one, Path: k.path, Name: p.Name, Action: k.path + "/" + p.Name + "/delete",
		LoadedRevision: loaded, Confirm: pv.Lose.Any(), Then: d.then, Preview: pv,
	}
	for _, dep := range d.dependants {
		props.Dependants = append(props.Dependants, dep.Name)
	}
	switch k.kind {
	case models.KindTeam:
		if p.Organization != "" {
			props.MoveLabel = "Move them to the organization " + p.Organization + " (as keys without a team)"
		} else {
			props.MoveLabel = "Keep them, without a team or organization"
		}
	case models.KindAgent:
		props.MoveLabel = "Unbind them from " + p.Name + " (they lose its limit)"
	}
	return props
}

// DeletePage shows what deleting the principal loses, and asks for the confirmation.
func (h *Principals) DeletePage(c *gin.Context) {
	v, p, ok := h.load(c)
	if !ok {
		return
	}
	d := h.deletionOf(v, p, c.Query("then"))
	render(c, http.StatusOK, views.DeletePage(h.deletePage(v, p, d, d.diff(v), v.Revision)))
}

// Delete deletes the principal once confirmed: with ?preview=1 it only answers the preview
// panel for the posted choice (htmx). The deletion is revision-checked as a save is: if the
// state changed since the page was loaded, nothing is deleted and the page shows it again.
func (h *Principals) Delete(c *gin.Context) {
	v, p, ok := h.load(c)
	if !ok {
		return
	}
	if c.Query("preview") == "1" {
		d := h.deletionOf(v, p, c.PostForm("then"))
		props := h.deletePage(v, p, d, d.diff(v), v.Revision)
		renderPage(c, http.StatusOK, views.DeletePage(props), views.PreviewPanel(props.Preview))
		return
	}
	if !h.allow(c, v, p) {
		return
	}
	then := c.PostForm("then")
	switch then {
	case "", "move", "unbind", "delete":
	default:
		Error(c, http.StatusUnprocessableEntity, fmt.Sprintf("then: must be move, unbind or delete, not %q", then))
		return
	}
	d := h.deletionOf(v, p, then)
	loaded, err := strconv.ParseInt(c.PostForm("loaded_revision"), 10, 64)
	diff := d.diff(v)
	props := h.deletePage(v, p, d, diff, v.Revision)
	switch {
	case err != nil || loaded < 0:
		props.Message = "loaded_revision: missing or not a revision number; nothing was deleted."
		render(c, http.StatusUnprocessableEntity, views.DeletePage(props))
		return
	case props.Confirm && c.PostForm("confirm") != p.Name:
		props.LoadedRevision = loaded
		props.Message = fmt.Sprintf("Type %s to confirm: someone loses access with this deletion. Nothing was deleted.", p.Name)
		render(c, http.StatusUnprocessableEntity, views.DeletePage(props))
		return
	}
	summary := savedSummary(diff)
	// Moving a team's keys to its organization can widen their access: the guards hold here too.
	err = guardedSave(c.Request.Context(), h.State, func(fv *live.View) *resolver.Snapshot {
		if q, ok := h.kind.find(fv.Doc, p.Name); ok {
			return h.deletionOf(fv, q, then).after(fv)
		}
		return fv.Snapshot
	}, func(verify func(int64) error) error {
		_, err := h.Store.ChangePrincipals(c.Request.Context(), store.PrincipalChange{
			Kind: h.kind.kind, Name: p.Name, Put: d.put, Delete: d.remove,
			SettingsRevision: loaded, BaseRevision: loaded, Actor: actorOf(c), Summary: summary, Verify: verify,
		})
		return err
	})
	var refused *GuardRefusal
	if errors.As(err, &refused) {
		props.Message = "Nothing was deleted: " + refused.Error() + "."
		render(c, http.StatusUnprocessableEntity, views.DeletePage(props))
		return
	}
	if err != nil {
		if models.ErrorCode(err) == models.EConflict {
			fresh, ok := freshView(c, h.State)
			if !ok {
				return
			}
			if q, ok := h.kind.find(fresh.Doc, p.Name); ok {
				fd := h.deletionOf(fresh, q, then)
				props = h.deletePage(fresh, q, fd, fd.diff(fresh), fresh.Revision)
				props.Message = "Nothing was deleted: " + err.Error() + ". The preview is of the current state; confirm again."
				render(c, http.StatusConflict, views.DeletePage(props))
				return
			}
		}
		fail(c, err)
		return
	}
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	setFlash(c, "Deleted "+h.kind.one+" "+p.Name+" — "+summary)
	redirect(c, h.kind.path)
}
