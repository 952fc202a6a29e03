package handlers

// The guards page: every guard with who breaks it now, and admin-only editing with a preview
// of which current keys would break the edited guard.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Guards serves /guards.
type Guards struct {
	Store *store.Store
	State PolicyState
}

// List shows every guard and the keys that break it now; JSON (Accept: application/json) gets
// the guards with their violations.
func (h *Guards) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	reports := v.Snapshot.CheckGuards(v.Doc.Guards)
	if c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON) == gin.MIMEJSON {
		out := make([]gin.H, len(reports))
		for i, r := range reports {
			out[i] = gin.H{"guard": v.Doc.Guards[i], "violations": r.Violations}
		}
		c.JSON(http.StatusOK, gin.H{"revision": v.Revision, "guards": out})
		return
	}
	p := views.GuardListProps{
		Layout: views.LayoutProps{Title: "Guards", Nav: "guards", Revision: v.Revision, Flash: popFlash(c)},
		Admin:  IdentityOf(c).Admin(), Revision: v.Revision,
	}
	for i, r := range reports {
		g := &v.Doc.Guards[i]
		p.Guards = append(p.Guards, views.GuardCard{Name: g.Name, Description: g.Description, Rule: GuardRule(g),
			Broken: guardViolations(g, r.Violations)})
	}
	render(c, http.StatusOK, views.GuardListPage(p))
}

// New shows an empty guard form.
func (h *Guards) New(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	form := views.GuardForm{Kind: "forbid", Since: v.Revision}
	render(c, http.StatusOK, views.GuardEditPage(h.editPage(v, "", form, nil, false)))
}

// Edit shows one guard's form with who breaks it now.
func (h *Guards) Edit(c *gin.Context) {
	v, g, ok := h.load(c)
	if !ok {
		return
	}
	form := guardForm(g, v.Revision)
	render(c, http.StatusOK, views.GuardEditPage(h.editPage(v, g.Name, form, nil, true)))
}

// Preview shows which current keys the posted guard would find breaking it; it writes nothing
// (any signed-in user may look). htmx gets the panel, a plain post the whole page.
func (h *Guards) Preview(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	original := c.PostForm("original")
	form, g, probs := parseGuardForm(c)
	p := h.editPage(v, original, form, nil, false)
	p.Preview = guardPreview(v, g, probs)
	status := http.StatusOK
	if len(p.Preview.Problems) > 0 {
		status = http.StatusUnprocessableEntity
	}
	renderPage(c, status, views.GuardEditPage(p), views.GuardPreviewPanel(p.Preview))
}

// Create adds a guard (admins only).
func (h *Guards) Create(c *gin.Context) {
	if !allowAdmin(c) {
		return
	}
	h.save(c, "")
}

// Update replaces the guard named in the URL, possibly renaming it (admins only).
func (h *Guards) Update(c *gin.Context) {
	if !allowAdmin(c) {
		return
	}
	if _, _, ok := h.load(c); !ok {
		return
	}
	h.save(c, c.Param("guard"))
}

// Delete removes the guard named in the URL (admins only), provided nobody changed it since
// the page showing it was loaded (since).
func (h *Guards) Delete(c *gin.Context) {
	if !allowAdmin(c) {
		return
	}
	v, g, ok := h.load(c)
	if !ok {
		return
	}
	since, err := formRevision(c)
	if err != nil {
		fail(c, err)
		return
	}
	if _, err := h.Store.SaveGuard(c.Request.Context(), store.GuardSave{Original: g.Name, Since: since, Actor: actorOf(c)}); err != nil {
		h.refused(c, v, g.Name, guardForm(g, since), err)
		return
	}
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	setFlash(c, "Deleted guard "+g.Name+".")
	redirect(c, "/guards")
}

// save writes the posted guard in place of original ("" creates it).
func (h *Guards) save(c *gin.Context, original string) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	form, g, probs := parseGuardForm(c)
	if len(probs) == 0 {
		probs = v.Doc.ValidateGuard(*g)
	}
	if len(probs) > 0 {
		p := h.editPage(v, original, form, nil, original != "")
		p.Preview = guardPreview(v, g, probs)
		p.Message = "The guard has problems; nothing was saved."
		render(c, http.StatusUnprocessableEntity, views.GuardEditPage(p))
		return
	}
	_, err = h.Store.SaveGuard(c.Request.Context(), store.GuardSave{Guard: g, Original: original, Since: form.Since, Actor: actorOf(c)})
	if err != nil {
		h.refused(c, v, original, form, err)
		return
	}
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	fresh, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	msg := "Saved guard " + g.Name + " — it holds."
	if n := len(fresh.Snapshot.CheckGuards([]models.GuardDoc{*g})[0].Violations); n > 0 {
		msg = fmt.Sprintf("Saved guard %s — %d %s break it now; previews show it until that is fixed.", g.Name, n, plural(n, "key", "keys"))
	}
	setFlash(c, msg)
	redirect(c, "/guards")
}

// refused answers a save or delete the store refused: 422 with the problems next to their
// fields, 409 when someone changed the guard meanwhile, the error page otherwise.
func (h *Guards) refused(c *gin.Context, v *live.View, original string, form views.GuardForm, err error) {
	var probs models.Problems
	var conflict *models.ConflictError
	status := http.StatusUnprocessableEntity
	p := h.editPage(v, original, form, nil, original != "")
	switch {
	case errors.As(err, &probs):
		p.Preview.Problems = probs
		p.Message = "The guard has problems; nothing was saved."
	case errors.As(err, &conflict):
		status = http.StatusConflict
		last := conflict.Changes[len(conflict.Changes)-1]
		p.Message = fmt.Sprintf("Nothing was saved: guard %s was changed by %s at revision %d, after this page loaded it. Reload the page to start from the current guard.",
			conflict.Name, last.Actor, last.Revision)
	default:
		fail(c, err)
		return
	}
	render(c, status, views.GuardEditPage(p))
}

// load fetches the view and the guard named in the URL, answering 404 itself.
func (h *Guards) load(c *gin.Context) (*live.View, *models.GuardDoc, bool) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return nil, nil, false
	}
	g := v.Doc.Guard(c.Param("guard"))
	if g == nil {
		fail(c, models.Errorf(models.ENotFound, "unknown guard %q", c.Param("guard")))
		return nil, nil, false
	}
	return v, g, true
}

// editPage assembles the guard form; with current set the preview shows the stored guard.
func (h *Guards) editPage(v *live.View, original string, form views.GuardForm, probs models.Problems, current bool) views.GuardEditProps {
	title := "New guard"
	if original != "" {
		title = "Guard " + original
	}
	p := views.GuardEditProps{
		Layout:   views.LayoutProps{Title: title, Nav: "guards", Revision: v.Revision},
		Original: original, Form: form,
	}
	if current {
		p.Preview = guardPreview(v, v.Doc.Guard(original), probs)
	} else {
		p.Preview = views.GuardPreviewProps{Revision: v.Revision}
	}
	return p
}

// guardPreview is who breaks guard g in the current state, or g's problems.
func guardPreview(v *live.View, g *models.GuardDoc, probs models.Problems) views.GuardPreviewProps {
	p := views.GuardPreviewProps{Revision: v.Revision}
	if len(probs) == 0 && g != nil {
		probs = v.Doc.ValidateGuard(*g)
	}
	if len(probs) > 0 || g == nil {
		p.Problems = probs
		return p
	}
	r := v.Snapshot.CheckGuards([]models.GuardDoc{*g})[0]
	p.Checked, p.Rule = true, GuardRule(g)
	p.Broken = guardViolations(g, r.Violations)
	return p
}

// guardFields are the guard form's fields; each is sent once at most.
var guardFields = []string{"name", "description", "kind", "forbid", "tool", "at_most", "agent_bound",
	"organizations", "teams", "keys", "since", "original"}

// parseGuardForm reads the guard form strictly: every field once, kind forbid or at_most,
// at_most a whole number, since a revision. Names and patterns are separated by commas, spaces
// or line breaks. The guard is nil when the form itself is unreadable; otherwise it is what
// the form describes (ValidateGuard judges its meaning).
func parseGuardForm(c *gin.Context) (views.GuardForm, *models.GuardDoc, models.Problems) {
	var probs models.Problems
	bad := func(field, format string, args ...any) {
		probs = append(probs, models.Problem{Path: field, Message: fmt.Sprintf(format, args...)})
	}
	if !readForm(c, guardFields, bad) {
		return views.GuardForm{}, nil, probs
	}
	for f := range c.Request.PostForm {
		if !slices.Contains(guardFields, f) {
			bad(f, "unknown field %q", f)
		}
	}
	form := views.GuardForm{
		Name: strings.TrimSpace(c.PostForm("name")), Description: strings.TrimSpace(c.PostForm("description")),
		Kind: c.PostForm("kind"), Forbid: c.PostForm("forbid"), Tool: strings.TrimSpace(c.PostForm("tool")),
		AtMost: strings.TrimSpace(c.PostForm("at_most")), Organizations: c.PostForm("organizations"),
		Teams: c.PostForm("teams"), Keys: c.PostForm("keys"),
	}
	switch ab := c.PostForm("agent_bound"); ab {
	case "":
	case "1", "on":
		form.AgentBound = true
	default:
		bad("agent_bound", `%q: the box sends "1" when ticked`, ab)
	}
	if s, ok := c.GetPostForm("since"); !ok {
		bad("since", "missing: the revision this form was loaded at")
	} else if n, err := strconv.ParseInt(s, 10, 64); err != nil || n < 0 {
		bad("since", "%q is not a revision", s)
	} else {
		form.Since = n
	}
	g := &models.GuardDoc{Name: form.Name, Description: form.Description}
	switch form.Kind {
	case "forbid":
		g.Forbid = splitNames(form.Forbid)
	case "at_most":
		g.Tool = form.Tool
		if form.AtMost == "" {
			bad("at_most", "missing; say how many keys at most may call the tool")
		} else if n, err := strconv.Atoi(form.AtMost); err != nil {
			bad("at_most", "%q is not a whole number", form.AtMost)
		} else {
			g.AtMost = &n
		}
	default:
		bad("kind", `%q: want "forbid" or "at_most"`, form.Kind)
	}
	sc := models.GuardScope{AgentBound: form.AgentBound, Organizations: splitNames(form.Organizations),
		Teams: splitNames(form.Teams), Keys: splitNames(form.Keys)}
	if sc.AgentBound || sc.Named() {
		g.For = &sc
	}
	return form, g, probs
}

// splitNames splits a list typed as names separated by commas, spaces or line breaks.
func splitNames(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// guardForm is a stored guard as the form shows it.
func guardForm(g *models.GuardDoc, since int64) views.GuardForm {
	f := views.GuardForm{Name: g.Name, Description: g.Description, Since: since, Kind: "forbid",
		Forbid: strings.Join(g.Forbid, "\n"), Tool: g.Tool}
	if !g.IsForbid() {
		f.Kind = "at_most"
		if g.AtMost != nil {
			f.AtMost = strconv.Itoa(*g.AtMost)
		}
	}
	if sc := g.For; sc != nil {
		f.AgentBound = sc.AgentBound
		f.Organizations, f.Teams, f.Keys = strings.Join(sc.Organizations, ", "), strings.Join(sc.Teams, ", "), strings.Join(sc.Keys, ", ")
	}
	return f
}

// formRevision reads the since field of a delete form.
func formRevision(c *gin.Context) (int64, error) {
	s := c.PostForm("since")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || len(c.PostFormArray("since")) != 1 {
		return 0, models.Errorf(models.EInvalid, "since: %q is not a revision", s)
	}
	return n, nil
}
