package handlers

// Creating, editing and deleting the catalogue's entities (MCP servers, access groups,
// toolsets), each through the organization settings page's protocol: a draft previewed by the
// resolver, saved against the revisions it was loaded and previewed at, with one audit event.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/seal"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// entityKind is what differs between the catalogue's kinds; Catalogue does the rest.
type entityKind struct {
	kind  string // models.KindServer, ...
	path  string // the URL segment: "servers"
	label string // "MCP server"
	nav   string
	// param is the URL parameter naming the entity.
	param string
	// exists reports whether the document has an entity of the kind named so.
	exists func(d *models.Document, name string) bool
	// formOf shows a stored entity in the form.
	formOf func(d *models.Document, name string) views.EntityForm
	// read reads the posted fields (name aside) into the form, reporting values the form never
	// sends through bad.
	read func(c *gin.Context, bad func(field, format string, args ...any)) views.EntityForm
	// put writes the form's entity into the document: a new one (create) or in place of the
	// stored one. It keeps what the form does not edit (a server's catalogue).
	put func(d *models.Document, f views.EntityForm, create bool) error
	// remove deletes the entity and every reference to it, saying what else it changed.
	remove func(d *models.Document, name string) ([]string, error)
}

// Catalogue serves one kind's settings, creation and deletion pages.
type Catalogue struct {
	Store *store.Store
	State PolicyState
	k     entityKind
}

// entityDraft is a posted form: the fields as typed, the filter and page of its preview, the
// revisions, and what is wrong with it.
type entityDraft struct {
	form            views.EntityForm
	filter          string
	page            int
	loaded, preview int64
	loadedOK        bool
	problems        models.Problems
}

// parse reads the settings form strictly; required says both revisions must be posted (Save).
func (h *Catalogue) parse(c *gin.Context, name string, required bool) entityDraft {
	var in entityDraft
	bad := func(field, format string, args ...any) {
		in.problems = append(in.problems, models.Problem{Path: field, Message: fmt.Sprintf(format, args...)})
	}
	readForm(c, []string{"name", "url", "public", "filter", "page", "loaded_revision", "preview_revision"}, bad)
	in.form = h.k.read(c, bad)
	in.form.Name = name
	in.filter = strings.TrimSpace(c.PostForm("filter"))
	in.page = 1
	if ps, ok := c.GetPostForm("page"); ok {
		if _, err := fmt.Sscanf(ps, "%d", &in.page); err != nil || in.page < 1 || fmt.Sprint(in.page) != ps {
			bad("page", "must be a positive whole number, not %q", ps)
			in.page = 1
		}
	}
	in.loaded, in.preview, in.loadedOK = readRevisions(c, required, bad)
	return in
}

// load fetches the view and checks the entity named in the URL exists (404 otherwise).
func (h *Catalogue) load(c *gin.Context) (*live.View, string, bool) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return nil, "", false
	}
	name := c.Param(h.k.param)
	if !h.k.exists(v.Doc, name) {
		notFound(c, h.k.label, name)
		return nil, "", false
	}
	return v, name, true
}

// change is a draft document and the resolver's diff of it against the enforced view.
type change struct {
	doc      *models.Document
	after    *resolver.Snapshot
	diff     resolver.DiffResult
	problems models.Problems
}

// draftChange applies edit to a copy of the view's document and asks the resolver what it
// changes. The edited document is validated whole.
func draftChange(v *live.View, edit func(d *models.Document) error) change {
	next := v.Doc.Clone()
	if err := edit(next); err != nil {
		var probs models.Problems
		if errors.As(err, &probs) {
			return change{problems: probs}
		}
		return change{problems: models.Problems{{Message: err.Error()}}}
	}
	next.Normalize()
	if probs := next.Validate(); len(probs) > 0 {
		return change{problems: probs}
	}
	after := v.Snapshot.Update(next)
	return change{doc: next, after: after, diff: resolver.Diff(v.Snapshot, after)}
}

// previewAcross is the panel of a change that can reach every organization: the headline and
// impact by tool as on the organization page, and teams and keys grouped by organization.
func previewAcross(diff resolver.DiffResult, filter string, page int) views.PreviewProps {
	p := previewImpact(diff, filter, page)
	p.OrgRow, p.Groups, p.NextPage = nil, nil, 0
	p.ByOrg = []views.OrgImpact{}
	byOrg := map[string][]resolver.PrincipalDiff{}
	var orgs []string
	for _, d := range diff.Principals {
		org := d.Organization
		if d.Kind == resolver.KindOrganization {
			org = d.Name
		}
		if _, seen := byOrg[org]; !seen {
			orgs = append(orgs, org)
		}
		byOrg[org] = append(byOrg[org], d)
	}
	// Organizations by name, keys of no organization last.
	sortOrgs(orgs)
	for _, org := range orgs {
		groups, orgRow := groupDiff(resolver.DiffResult{Principals: byOrg[org]})
		o := views.OrgImpact{Org: org}
		if orgRow != nil {
			r := principalImpact(*orgRow)
			o.OrgRow = &r
		}
		o.Groups, o.ShownGroups, o.TotalGroups = pageGroups(groups, filter, page*groupsPerPage)
		if o.ShownGroups < o.TotalGroups {
			p.NextPage = page + 1
		}
		if o.TotalGroups > 0 || (o.OrgRow != nil && filter == "") {
			p.ByOrg = append(p.ByOrg, o)
		}
	}
	return p
}

func sortOrgs(orgs []string) {
	slices.SortFunc(orgs, func(a, b string) int {
		if (a == "") != (b == "") {
			if a == "" {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
}

// edit is the draft's change to the document: its entity put in place.
func (h *Catalogue) edit(f views.EntityForm, create bool) func(d *models.Document) error {
	return func(d *models.Document) error { return h.k.put(d, f, create) }
}

// preview is the panel for a draft of the entity.
func (h *Catalogue) preview(v *live.View, in entityDraft, stored bool) views.PreviewProps {
	p := views.PreviewProps{Revision: v.Revision, Filter: in.filter, Base: "/" + h.k.path + "/" + in.form.Name + "/settings"}
	if stored {
		return p
	}
	if len(in.problems) > 0 {
		p.Problems = in.problems
		return p
	}
	ch := draftChange(v, h.edit(in.form, false))
	if len(ch.problems) > 0 {
		p.Problems = ch.problems
		return p
	}
	path := p.Base
	p = previewAcross(ch.diff, in.filter, in.page)
	p.Revision, p.Base = v.Revision, path
	return p
}

// page assembles the settings page for a draft.
func (h *Catalogue) page(c *gin.Context, v *live.View, in entityDraft, stored bool) views.EntitySettingsProps {
	p := views.EntitySettingsProps{
		Layout: views.LayoutProps{Title: h.k.label + " " + in.form.Name + " — settings", Nav: h.k.nav, Revision: v.Revision},
		Path:   h.k.path, Label: h.k.label, Form: in.form, Catalogue: catalogueOf(v), LoadedRevision: in.loaded,
		Preview: h.preview(v, in, stored),
	}
	p.Problems = p.Preview.Problems
	if h.k.kind == models.KindServer {
		if s := v.Doc.Server(in.form.Name); s != nil {
			p.ServerTools = s.ToolNames()
		}
		p.Headers = h.headers(v, in.form.Name)
	}
	return p
}

// headers is a server's upstream headers section: names only.
func (h *Catalogue) headers(v *live.View, server string) *views.HeadersProps {
	hp := &views.HeadersProps{EnvVar: seal.EnvVar, NoKey: h.Store == nil || !h.Store.HasSecretKey()}
	up := v.Upstreams[server]
	for k := range up.Headers {
		hp.Names = append(hp.Names, k)
	}
	slices.Sort(hp.Names)
	hp.Unavailable = up.Unavailable
	return hp
}

// Settings shows the entity's stored settings with an empty preview.
func (h *Catalogue) Settings(c *gin.Context) {
	v, name, ok := h.load(c)
	if !ok {
		return
	}
	in := entityDraft{form: h.k.formOf(v.Doc, name), page: 1, loaded: v.Revision}
	p := h.page(c, v, in, true)
	p.Layout.Flash = popFlash(c)
	render(c, http.StatusOK, views.EntitySettingsPage(p))
}

// Preview computes what the posted draft would change, writing nothing: the panel for htmx,
// the page for a plain post, the resolver's diff for Accept: application/json.
func (h *Catalogue) Preview(c *gin.Context) {
	v, name, ok := h.load(c)
	if !ok {
		return
	}
	in := h.parse(c, name, false)
	if c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON) == gin.MIMEJSON {
		probs := in.problems
		var ch change
		if len(probs) == 0 {
			ch = draftChange(v, h.edit(in.form, false))
			probs = ch.problems
		}
		writePreviewJSON(c, v.Revision, ch.diff, probs)
		return
	}
	p := h.page(c, v, in, false)
	if !h.noteStale(c, v, &p, in) {
		return
	}
	status := previewStatus(p.Preview)
	renderPage(c, status, views.EntitySettingsPage(p), views.PreviewPanel(p.Preview))
}

// writePreviewJSON answers a script's preview: the resolver's diff as `warden policy diff`
// prints it, or the draft's problems (422).
func writePreviewJSON(c *gin.Context, rev int64, diff resolver.DiffResult, probs models.Problems) {
	if len(probs) > 0 {
		c.JSON(http.StatusUnprocessableEntity, gin.H{"revision": rev, "problems": probs})
		return
	}
	c.JSON(http.StatusOK, gin.H{"revision": rev, "principals": diff.Principals, "summary": diff.Summary})
}

// noteStale says in the preview who changed the entity after the form loaded it.
func (h *Catalogue) noteStale(c *gin.Context, v *live.View, p *views.EntitySettingsProps, in entityDraft) bool {
	if !in.loadedOK || in.loaded >= v.Revision {
		return true
	}
	events, err := h.Store.ChangesSince(c.Request.Context(), h.k.kind, in.form.Name, in.loaded)
	if err != nil {
		fail(c, err)
		return false
	}
	if n := len(events); n > 0 {
		p.Preview.Subject = in.form.Name
		p.Preview.Stale = &views.StaleNote{Actor: events[n-1].Actor, At: events[n-1].At, Changes: n}
	}
	return true
}

// Save writes the draft with the organization page's protocol (see Orgs.Save): refused with
// 409 when the entity changed since loaded_revision or anything affecting access since
// preview_revision, 422 for a form that is not the settings form's.
func (h *Catalogue) Save(c *gin.Context) {
	v, name, ok := h.load(c)
	if !ok || !allowAdmin(c) {
		return
	}
	in := h.parse(c, name, true)
	h.save(c, v, in, false)
}

// New shows the empty creation form.
func (h *Catalogue) New(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	in := entityDraft{page: 1, loaded: v.Revision}
	render(c, http.StatusOK, views.EntitySettingsPage(h.newPage(c, v, in)))
}

func (h *Catalogue) newPage(c *gin.Context, v *live.View, in entityDraft) views.EntitySettingsProps {
	p := h.page(c, v, in, true)
	p.New, p.Headers = true, nil
	p.Layout.Title = "New " + h.k.label
	p.Problems = in.problems
	return p
}

// Create adds a new entity (POST /{kind}), revision-checked as a save.
func (h *Catalogue) Create(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	if !allowAdmin(c) {
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		fail(c, models.Errorf(models.EInvalid, "the form cannot be read: %v", err))
		return
	}
	name := strings.TrimSpace(c.PostForm("name"))
	in := h.parse(c, name, false)
	if !in.loadedOK {
		in.loaded = v.Revision
	}
	in.preview = in.loaded
	switch {
	case name == "":
		in.problems = append(in.problems, models.Problem{Path: "name", Message: "required"})
	case h.k.exists(v.Doc, name):
		in.problems = append(in.problems, models.Problem{Path: "name", Message: fmt.Sprintf("a %s named %q already exists", h.k.label, name)})
	}
	h.save(c, v, in, true)
}

// save is Save and Create: check the draft, store it, answer.
func (h *Catalogue) save(c *gin.Context, v *live.View, in entityDraft, create bool) {
	refuse := func(status int, probs models.Problems, msg string) {
		in.problems = probs
		var p views.EntitySettingsProps
		if create {
			p = h.newPage(c, v, in)
		} else {
			p = h.page(c, v, in, false)
			if len(probs) > 0 {
				p.Preview.Problems, p.Problems = probs, probs
			}
		}
		p.Message = msg
		render(c, status, views.EntitySettingsPage(p))
	}
	if len(in.problems) > 0 {
		refuse(http.StatusUnprocessableEntity, in.problems, "The form has problems; nothing was saved.")
		return
	}
	ch := draftChange(v, h.edit(in.form, create))
	if len(ch.problems) > 0 {
		refuse(http.StatusUnprocessableEntity, ch.problems, "The draft has problems; nothing was saved.")
		return
	}
	summary := savedSummary(ch.diff)
	_, err := h.Store.UpdateDocument(c.Request.Context(), store.DocumentUpdate{
		Kind: h.k.kind, Name: in.form.Name, SettingsRevision: in.loaded, BaseRevision: in.preview,
		Actor: actorOf(c), Summary: summary, Edit: h.edit(in.form, create), Verify: verifyGuards,
	})
	if !h.saved(c, err, func(status int, probs models.Problems, msg string) {
		if fresh, verr := h.State.View(); verr == nil {
			v = fresh
		}
		refuse(status, probs, msg)
	}) {
		return
	}
	verb := "Saved"
	if create {
		verb = "Created " + h.k.label + " " + in.form.Name
	}
	setFlash(c, verb+" — "+summary)
	redirect(c, "/"+h.k.path+"/"+in.form.Name+"/settings")
}

// saved answers a failed store write (a conflict 409, problems or a bad revision 422, else the
// error) through refuse, or refreshes enforcement after a successful one. It reports whether the
// write succeeded and the refresh did too.
func (h *Catalogue) saved(c *gin.Context, err error, refuse func(status int, probs models.Problems, msg string)) bool {
	var conflict *models.ConflictError
	var bad *models.Error
	var probs models.Problems
	var refused *GuardRefusal
	switch {
	case err == nil:
	case errors.As(err, &refused):
		refuse(http.StatusUnprocessableEntity, nil, "Nothing was saved: "+refused.Error()+".")
		return false
	case errors.As(err, &conflict):
		if rerr := h.State.Refresh(c.Request.Context()); rerr != nil {
			fail(c, rerr)
			return false
		}
		refuse(http.StatusConflict, nil, "Nothing was saved: "+conflict.Error()+".")
		return false
	case errors.As(err, &probs):
		refuse(http.StatusUnprocessableEntity, probs, "The draft has problems; nothing was saved.")
		return false
	case errors.As(err, &bad) && bad.Code == models.EInvalid:
		refuse(http.StatusUnprocessableEntity, models.Problems{{Path: "preview_revision", Message: bad.Message}}, "The form has problems; nothing was saved.")
		return false
	default:
		fail(c, err)
		return false
	}
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return false
	}
	return true
}

// Why explains one principal's access now and with the posted draft saved.
func (h *Catalogue) Why(c *gin.Context) {
	v, name, ok := h.load(c)
	if !ok {
		return
	}
	in := h.parse(c, name, false)
	ch := change{problems: in.problems}
	if len(in.problems) == 0 {
		ch = draftChange(v, h.edit(in.form, false))
	}
	explainWhy(c, v, ch)
}

// explainWhy answers a Why? of the posted kind and name, before and after a change.
func explainWhy(c *gin.Context, v *live.View, ch change) {
	kind := resolver.PrincipalKind(c.PostForm("kind"))
	switch kind {
	case resolver.KindOrganization, resolver.KindTeam, resolver.KindKey:
	default:
		fail(c, models.Errorf(models.EInvalid, "kind must be organization, team or key, not %q", kind))
		return
	}
	who := c.PostForm("name")
	before, ok := v.Snapshot.ExplainPrincipal(kind, who)
	if !ok {
		fail(c, models.Errorf(models.ENotFound, "unknown %s %q", kind, who))
		return
	}
	p := views.WhyProps{Before: before.Lines(), After: []string{"The draft has problems; see the preview."}}
	if len(ch.problems) == 0 {
		if e, ok := ch.after.ExplainPrincipal(kind, who); ok {
			p.After = e.Lines()
		} else {
			p.After = []string{string(kind) + " " + who + " no longer exists."}
		}
	}
	render(c, http.StatusOK, views.Why(p))
}

// Delete previews the entity's deletion (no confirm field) or, confirmed, deletes it with every
// reference to it in one transaction. When anyone loses access the name must be typed
// (confirm_name).
func (h *Catalogue) Delete(c *gin.Context) {
	v, name, ok := h.load(c)
	if !ok || !allowAdmin(c) {
		return
	}
	p, ch := h.deletion(v, name)
	if _, confirmed := c.GetPostForm("confirm"); !confirmed || len(ch.problems) > 0 {
		h.deletePage(c, v, name, http.StatusOK)
		return
	}
	var probs models.Problems
	bad := func(field, format string, args ...any) {
		probs = append(probs, models.Problem{Path: field, Message: fmt.Sprintf(format, args...)})
	}
	loaded, preview, _ := readRevisions(c, true, bad)
	if p.Confirm && c.PostForm("confirm_name") != name {
		bad("confirm_name", "type %s exactly to confirm; nothing was deleted", name)
	}
	if len(probs) > 0 {
		p.Problems = probs
		p.Preview.Problems = nil
		render(c, http.StatusUnprocessableEntity, views.CatalogueDeletePage(p))
		return
	}
	summary := savedSummary(ch.diff)
	_, err := h.Store.UpdateDocument(c.Request.Context(), store.DocumentUpdate{
		Kind: h.k.kind, Name: name, SettingsRevision: loaded, BaseRevision: preview, Actor: actorOf(c), Summary: summary,
		Edit: func(d *models.Document) error { _, err := h.k.remove(d, name); return err }, Verify: verifyGuards,
	})
	if !h.saved(c, err, func(status int, probs models.Problems, msg string) {
		// The page comes back at the current revision, so confirming it again deletes what it
		// now shows.
		if fresh, verr := h.State.View(); verr == nil && h.k.exists(fresh.Doc, name) {
			p, _ = h.deletion(fresh, name)
		}
		p.Problems = probs
		render(c, status, views.CatalogueDeletePage(withMessage(p, msg)))
	}) {
		return
	}
	setFlash(c, "Deleted "+h.k.label+" "+name+" — "+summary)
	redirect(c, "/"+h.k.path)
}

// deletion is the deletion page of the entity and the change deleting it makes.
func (h *Catalogue) deletion(v *live.View, name string) (views.CatalogueDeleteProps, change) {
	var refs []string
	ch := draftChange(v, func(d *models.Document) error {
		var err error
		refs, err = h.k.remove(d, name)
		return err
	})
	p := views.CatalogueDeleteProps{
		Layout: views.LayoutProps{Title: "Delete " + h.k.label + " " + name, Nav: h.k.nav, Revision: v.Revision},
		Path:   h.k.path, Label: h.k.label, Name: name, References: refs, Revision: v.Revision,
		Confirm: !ch.diff.Empty(),
	}
	p.Preview = previewAcross(ch.diff, "", 1)
	p.Preview.Revision, p.Preview.NoWhy, p.Preview.Problems = v.Revision, true, ch.problems
	return p, ch
}

// deletePage shows what deleting the entity would change, asking to confirm.
func (h *Catalogue) deletePage(c *gin.Context, v *live.View, name string, status int) {
	p, ch := h.deletion(v, name)
	if len(ch.problems) > 0 {
		status = http.StatusUnprocessableEntity
	}
	render(c, status, views.CatalogueDeletePage(p))
}

func withMessage(p views.CatalogueDeleteProps, msg string) views.CatalogueDeleteProps {
	p.Preview.Problems = append(p.Preview.Problems, models.Problem{Message: msg})
	return p
}
