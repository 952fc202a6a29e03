package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

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

// Preview computes what the posted draft would change, writing nothing. An htmx request gets
// the panel alone; a plain form post (the no-JavaScript Preview button) gets the whole page.
// When the form's settings are older than the stored ones, the preview says so.
func (h *Orgs) Preview(c *gin.Context) {
	v, org, ok := h.load(c)
	if !ok {
		return
	}
	in := parseDraft(c, org.Name, false)
	if c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON) == gin.MIMEJSON {
		// Scripts get the resolver's diff itself, as `warden policy diff` prints it.
		probs := in.problems
		var diff resolver.DiffResult
		if len(probs) == 0 {
			diff, _, probs = h.diff(v, in.org)
		}
		if len(probs) > 0 {
			c.JSON(http.StatusUnprocessableEntity, gin.H{"revision": v.Revision, "problems": probs})
			return
		}
		c.JSON(http.StatusOK, gin.H{"revision": v.Revision, "principals": diff.Principals, "summary": diff.Summary})
		return
	}
	p := h.page(v, org.Name, in.form, in)
	if !h.noteStale(c, v, &p, in) {
		return
	}
	status := http.StatusOK
	if len(p.Preview.Problems) > 0 {
		status = http.StatusUnprocessableEntity
	}
	renderPage(c, status, views.OrgSettingsPage(p), views.PreviewPanel(p.Preview))
}

// Save writes the draft, provided the organization's settings have not changed since the form
// loaded them (loaded_revision) and nothing else affecting the organization has changed since
// its preview (preview_revision). Otherwise it writes nothing and answers 409: with who changed
// the settings and the ways forward in the first case, with a fresh preview in the second; the
// form keeps its loaded_revision either way, so saving it again is refused again. A form with
// a missing, malformed or future revision, or any value the form does not send, is 422.
func (h *Orgs) Save(c *gin.Context) {
	v, org, ok := h.load(c)
	if !ok {
		return
	}
	in := parseDraft(c, org.Name, true)
	if len(in.problems) > 0 {
		h.refuse(c, v, org, in, "The form has problems; nothing was saved.")
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
	_, err := h.Store.UpdateOrganization(c.Request.Context(), store.OrganizationUpdate{
		Org: in.org, SettingsRevision: in.loaded, BaseRevision: in.preview, Actor: actorOf(c), Summary: summary,
	})
	var conflict *models.ConflictError
	var bad *models.Error
	switch {
	case err == nil:
	case errors.As(err, &conflict):
		// The 409 page shows the current settings; when they cannot be read, that failure is
		// the answer (a 503 or 500), not the conflict, which the person could not act on.
		if rerr := h.State.Refresh(c.Request.Context()); rerr != nil {
			fail(c, rerr)
			return
		}
		fresh, verr := h.State.View()
		if verr != nil {
			fail(c, verr)
			return
		}
		p := h.page(fresh, org.Name, in.form, in)
		if conflict.Reason == models.ConflictSettings {
			// The conflict card says who changed what, with the ways on; the preview's note
			// would say it twice.
			p.Conflict = conflictOf(org.Name, in, conflict)
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
	if !ok {
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
	status := http.StatusOK
	if len(p.Preview.Problems) > 0 {
		status = http.StatusUnprocessableEntity
	}
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

// noteStale adds to the preview who changed the organization's settings after the form loaded
// them, if anyone did. It answers the request itself (and returns false) on a store error.
func (h *Orgs) noteStale(c *gin.Context, v *live.View, p *views.OrgSettingsProps, in draftInput) bool {
	if !in.loadedOK || in.loaded >= v.Revision {
		return true
	}
	org := v.Doc.Organization(p.Org)
	_, events, err := h.settingsAt(c.Request.Context(), v, org, in.loaded)
	if err != nil {
		fail(c, err)
		return false
	}
	if n := len(events); n > 0 {
		p.Preview.Stale = &views.StaleNote{Actor: events[n-1].Actor, At: events[n-1].At, Changes: n}
	}
	return true
}

// conflictOf shows a refused save: the store's audit events of the organization since the
// form's settings were loaded, and the person's edits relative to those settings.
func conflictOf(org string, in draftInput, e *models.ConflictError) *views.ConflictProps {
	cp := &views.ConflictProps{Org: org, Since: e.Since, Revision: e.Revision}
	for _, ev := range e.Changes {
		var before, after models.OrganizationDoc
		_ = json.Unmarshal([]byte(ev.Before), &before)
		_ = json.Unmarshal([]byte(ev.After), &after)
		cp.Changes = append(cp.Changes, views.SettingsChange{
			Actor: ev.Actor, At: ev.At, Revision: ev.Revision, Action: ev.Action, Summary: ev.Summary,
			Delta: models.DiffOrganization(before, after),
		})
	}
	if len(e.Changes) > 0 && e.Changes[0].Before != "" {
		var loaded models.OrganizationDoc
		if json.Unmarshal([]byte(e.Changes[0].Before), &loaded) == nil {
			cp.Mine, cp.Known = models.DiffOrganization(loaded, in.org), true
		}
	}
	return cp
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

// draftInput is a posted draft: the form as typed and the organization it describes.
type draftInput struct {
	form   views.OrgForm
	org    models.OrganizationDoc
	filter string
	page   int
	// stored: the draft is the stored settings, so there is nothing to diff.
	stored bool
	// loaded is the revision the form's settings were loaded at (loaded_revision), preview the
	// one its preview was computed at (preview_revision); loadedOK says loaded was posted and
	// sound.
	loaded, preview int64
	loadedOK        bool
	// problems are posted values the settings form never sends; such a draft is not saved.
	problems models.Problems
}

// singleFields are the settings form's fields that carry one value at most.
var singleFields = []string{"mode", "blocked", "filter", "page", "loaded_revision", "preview_revision"}

// parseDraft reads the settings form, checking every value against what the form sends; with
// revisions set the form must carry both revisions (Save), otherwise they are optional. With
// "No limit" chosen the selection is kept in the form (so switching back restores it) but the
// organization gets no mcp block. Names of servers, groups, toolsets and tools are checked by
// the catalogue (diff), not here.
func parseDraft(c *gin.Context, name string, revisions bool) draftInput {
	var probs models.Problems
	bad := func(field, format string, args ...any) {
		probs = append(probs, models.Problem{Path: field, Message: fmt.Sprintf(format, args...)})
	}
	// Read the body first: a malformed one is a problem, not a draft missing what could not
	// be read.
	if err := c.Request.ParseForm(); err != nil {
		bad("", "the form cannot be read: %v", err)
	}
	for _, f := range singleFields {
		if n := len(c.PostFormArray(f)); n > 1 {
			bad(f, "given %d times; the form sends it once", n)
		}
	}
	f := views.OrgForm{
		Servers:      c.PostFormArray("servers"),
		AccessGroups: c.PostFormArray("access_groups"),
		Toolsets:     c.PostFormArray("toolsets"),
		DenyTools:    c.PostFormArray("deny_tools"),
		ToolLimits:   map[string][]string{},
	}
	switch mode, ok := c.GetPostForm("mode"); {
	case !ok:
		bad("mode", `missing; want "none" or "limit"`)
	case mode == "limit":
		f.Limit = true
	case mode != "none":
		bad("mode", `must be "none" or "limit", not %q`, mode)
	}
	switch b, ok := c.GetPostForm("blocked"); {
	case !ok:
	case b == "1" || b == "on":
		f.Blocked = true
	default:
		bad("blocked", `must be "1" (or absent), not %q`, b)
	}
	for _, s := range c.PostFormArray("limit_server") {
		f.ToolLimits[s] = []string{}
	}
	for i, st := range c.PostFormArray("tool") {
		s, t, ok := models.SplitTool(st)
		if !ok {
			bad(fmt.Sprintf("tool[%d]", i), "%q is not server/tool", st)
			continue
		}
		// Ticks of a server not limited are the unchosen state of its block; they do not count.
		if _, limited := f.ToolLimits[s]; limited {
			f.ToolLimits[s] = append(f.ToolLimits[s], t)
		}
	}
	page := 1
	if ps, ok := c.GetPostForm("page"); ok {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 {
			bad("page", "must be a positive whole number, not %q", ps)
		} else {
			page = n
		}
	}
	in := draftInput{form: f, filter: strings.TrimSpace(c.PostForm("filter")), page: page}
	rev := func(field string) (int64, bool) {
		s, ok := c.GetPostForm(field)
		if !ok {
			if revisions {
				bad(field, "missing; the form says which policy revision it is based on")
			}
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
			bad(field, "must be a revision number, not %q", s)
			return 0, false
		}
		return n, len(c.PostFormArray(field)) == 1
	}
	var previewOK bool
	in.loaded, in.loadedOK = rev("loaded_revision")
	in.preview, previewOK = rev("preview_revision")
	if in.loadedOK && previewOK && in.preview < in.loaded {
		bad("preview_revision", "%d is before loaded_revision %d; a preview is never older than its form", in.preview, in.loaded)
	}
	org := models.OrganizationDoc{Name: name, Blocked: f.Blocked, DenyTools: f.DenyTools}
	if f.Limit {
		org.MCP = &models.MCPPermission{Servers: f.Servers, AccessGroups: f.AccessGroups, Toolsets: f.Toolsets}
		if len(f.ToolLimits) > 0 {
			org.MCP.Tools = f.ToolLimits
		}
	}
	in.org, in.problems = org, probs
	return in
}

// formOf shows a stored organization in the form.
func formOf(o *models.OrganizationDoc) views.OrgForm {
	f := views.OrgForm{Blocked: o.Blocked, Limit: o.MCP != nil, DenyTools: o.DenyTools, ToolLimits: map[string][]string{}}
	if o.MCP != nil {
		f.Servers, f.AccessGroups, f.Toolsets = o.MCP.Servers, o.MCP.AccessGroups, o.MCP.Toolsets
		for s, tools := range o.MCP.Tools {
			f.ToolLimits[s] = tools
		}
	}
	return f
}

// diff is the change the draft would make, computed by the resolver on the enforced snapshot.
// It also returns the snapshot after the change, for explanations.
func (h *Orgs) diff(v *live.View, draft models.OrganizationDoc) (resolver.DiffResult, *resolver.Snapshot, models.Problems) {
	if probs := v.Doc.ValidateLevel(draft.MCP, draft.DenyTools); len(probs) > 0 {
		return resolver.DiffResult{}, nil, probs
	}
	after := v.Snapshot.WithOrganization(draft)
	return resolver.Diff(v.Snapshot, after), after, nil
}

// page assembles the settings page and its preview for a draft.
func (h *Orgs) page(v *live.View, org string, form views.OrgForm, in draftInput) views.OrgSettingsProps {
	return views.OrgSettingsProps{
		Layout:         views.LayoutProps{Title: "Organization " + org + " — settings", Nav: "orgs", Revision: v.Revision},
		Org:            org,
		Form:           form,
		LoadedRevision: in.loaded,
		Catalogue:      catalogueOf(v),
		Preview:        h.preview(v, in),
	}
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

// Why explains one principal's access now and with the posted draft saved; the preview fetches
// it when "Why?" is opened.
func (h *Orgs) Why(c *gin.Context) {
	v, org, ok := h.load(c)
	if !ok {
		return
	}
	in := parseDraft(c, org.Name, false)
	kind := resolver.PrincipalKind(c.PostForm("kind"))
	switch kind {
	case resolver.KindOrganization, resolver.KindTeam, resolver.KindKey:
	default:
		fail(c, models.Errorf(models.EInvalid, "kind must be organization, team or key, not %q", kind))
		return
	}
	name := c.PostForm("name")
	before, ok := v.Snapshot.ExplainPrincipal(kind, name)
	if !ok {
		fail(c, models.Errorf(models.ENotFound, "unknown %s %q", kind, name))
		return
	}
	p := views.WhyProps{Before: before.Lines()}
	if len(in.problems) > 0 {
		p.After = []string{"The draft has problems; see the preview."}
	} else if _, after, probs := h.diff(v, in.org); len(probs) == 0 {
		if e, ok := after.ExplainPrincipal(kind, name); ok {
			p.After = e.Lines()
		}
	} else {
		p.After = []string{"The draft has problems; see the preview."}
	}
	render(c, http.StatusOK, views.Why(p))
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

// actorOf names who made a change in the audit log. The console has no sign-in yet, so every
// change through it is attributed to the console.
func actorOf(c *gin.Context) string {
	return "console"
}
