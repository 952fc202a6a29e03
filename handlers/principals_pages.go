package handlers

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
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// load fetches the current view and the principal named in the URL, answering 404 itself.
func (h *Principals) load(c *gin.Context) (*live.View, principal, bool) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return nil, principal{}, false
	}
	p, ok := h.kind.find(v.Doc, c.Param(h.kind.param))
	if !ok {
		notFound(c, h.kind.one, c.Param(h.kind.param))
		return nil, principal{}, false
	}
	return v, p, true
}

// parse reads the posted form into a draft of the principal named name (of the posted name,
// creating one). ?remove=SERVER/TOOL is not read here: it only prefills a page (Settings).
func (h *Principals) parse(c *gin.Context, name string, create, revisions bool) (draftInput, principal) {
	fields := h.kind.fields
	if create {
		fields = append([]string{"name"}, fields...)
	}
	in := parseLevelDraft(c, revisions, fields)
	if !h.kind.blockable && in.level.Blocked {
		in.problems = append(in.problems, models.Problem{Path: "blocked", Message: "a " + h.kind.one + " cannot be blocked"})
	}
	if create {
		name = in.fields["name"]
	}
	p := principal{Name: name, Organization: in.fields["organization"], Team: in.fields["team"],
		Agent: in.fields["agent"], ExpiresAt: in.fields["expires_at"]}.withLevel(in.level)
	return in, p
}

// diff is the change the draft would make, computed by the resolver on the enforced snapshot,
// with the snapshot after it; or the draft's problems, with the form's field names as paths.
func (h *Principals) diff(v *live.View, p principal, create bool) (resolver.DiffResult, *resolver.Snapshot, models.Problems) {
	var probs models.Problems
	if create {
		if _, taken := h.kind.find(v.Doc, p.Name); taken {
			probs = append(probs, models.Problem{Path: "name", Message: fmt.Sprintf("a %s named %q already exists", h.kind.one, p.Name)})
		}
	}
	put := h.kind.put(p)
	for _, pr := range v.Doc.ValidateChange(&put, nil) {
		pr.Path = fieldOf(pr.Path)
		probs = append(probs, pr)
	}
	if len(probs) > 0 {
		return resolver.DiffResult{}, nil, probs
	}
	after := h.kind.derive(v.Snapshot, p)
	return resolver.Diff(v.Snapshot, after), after, nil
}

// fieldOf turns a path into the one principal of a change ("keys[0].team") into its form's
// ("team").
func fieldOf(path string) string {
	if _, rest, ok := strings.Cut(path, "]."); ok && strings.HasSuffix(strings.SplitN(path, "[", 2)[0], "s") {
		return rest
	}
	return path
}

// page assembles the settings page (or the new page) and its preview for a draft.
func (h *Principals) page(v *live.View, p principal, in draftInput, create bool) views.PrincipalSettingsProps {
	k := h.kind
	title := k.title + " " + p.Name + " — settings"
	action, base := k.settingsURL(p.Name), k.settingsURL(p.Name)
	if create {
		title, action, base = "New "+k.one, k.path, k.path+"/new"
	}
	props := views.PrincipalSettingsProps{
		Layout: views.LayoutProps{Title: title, Nav: k.nav, Revision: v.Revision},
		Kind:   k.one, Path: k.path, Name: p.Name, Create: create, Action: action, Base: base,
		Form: in.form, Blockable: k.blockable, Catalogue: catalogueOf(v), LoadedRevision: in.loaded,
		Place: views.Placement{Fields: k.fields, Name: p.Name, Organization: p.Organization, Team: p.Team,
			Agent: p.Agent, ExpiresAt: p.ExpiresAt},
		FieldProblems: map[string][]string{},
		// What the page offers follows the authorization of its writes (Principals.allow).
		AdminOnly: k.kind == models.KindAgent, Orgs: orgsOf(v, p),
	}
	if create {
		props.Name = ""
	}
	for _, o := range v.Doc.Organizations {
		props.Place.Orgs = append(props.Place.Orgs, o.Name)
	}
	if props.Place.Has("team") {
		for _, t := range v.Doc.Teams {
			props.Place.Teams = append(props.Place.Teams, t.Name)
		}
	}
	if props.Place.Has("agent") {
		for _, a := range v.Doc.Agents {
			props.Place.Agents = append(props.Place.Agents, a.Name)
		}
	}
	switch k.kind {
	case models.KindAgent:
		if !create {
			props.BoundKeys = boundKeys(v, p.Name)
		}
	case models.KindTeam:
		props.TeamKeys = len(v.Snapshot.TeamKeys(p.Name))
	}
	props.Preview = h.preview(v, p, in, create, base)
	for _, pr := range props.Preview.Problems {
		if slices.Contains(append([]string{"name"}, k.fields...), pr.Path) {
			props.FieldProblems[pr.Path] = append(props.FieldProblems[pr.Path], pr.Message)
		}
	}
	return props
}

// boundKeys are the keys bound to an agent, by name.
func boundKeys(v *live.View, agent string) []string {
	var out []string
	for i := range v.Doc.Keys {
		if v.Doc.Keys[i].Agent == agent {
			out = append(out, v.Doc.Keys[i].Name)
		}
	}
	return out
}

// preview is the panel of a principal's draft.
func (h *Principals) preview(v *live.View, p principal, in draftInput, create bool, base string) views.PreviewProps {
	k := h.kind
	var after *resolver.Snapshot
	pv := draftPreview(in, v.Revision, func() (resolver.DiffResult, models.Problems) {
		d, a, probs := h.diff(v, p, create)
		if len(probs) == 0 {
			after = a
		}
		return d, probs
	})
	if after != nil {
		pv.Guards = checkGuards(v.Doc.Guards, v.Snapshot, after).Props()
	}
	pv.Subject, pv.Base, pv.FormID, pv.Below = k.one+" "+p.Name, base, views.PrincipalFormID, k.below(p)
	if create {
		pv.Subject = "the new " + k.one
	}
	pv.EmptyLimit = p.MCP.IsEmpty() && len(pv.Problems) == 0
	if len(pv.Problems) == 0 {
		pv.Now = choiceNow(in.form, func(mcp *models.MCPPermission) (resolver.Access, bool) {
			q := p
			q.MCP = mcp
			if a, ok := k.accessAs(v.Snapshot, q); ok {
				return a, true
			}
			// Not stored yet (the new page): derive the snapshot holding it.
			if a, ok := k.accessAs(k.derive(v.Snapshot, q), q); ok {
				return a, true
			}
			return nil, false
		})
		if pv.Now.Inherit == "" {
			pv.Now = h.requestLevelNow(v, p, in.form)
		}
	}
	return pv
}

// requestLevelNow says what an end user or agent adds under each choice: such a level grants
// nothing by itself, it caps the key a call is made with.
func (h *Principals) requestLevelNow(v *live.View, p principal, f views.AccessForm) views.ChoiceNow {
	n := views.ChoiceNow{Inherit: "With Inherit, calls naming " + p.Name + " get what their key gets.", Selected: f.Limit}
	sel := selectionOf(f)
	if sel.IsEmpty() {
		n.Limit = "With this selection, calls naming " + p.Name + " get no MCP access."
	} else {
		n.Limit = "With this selection, calls naming " + p.Name + " get at most " + views.MCPSummary(sel) + "."
	}
	if h.kind.kind == models.KindAgent {
		if keys := boundKeys(v, p.Name); len(keys) > 0 {
			n.Limit += fmt.Sprintf(" It binds %d keys: the preview shows what they gain and lose.", len(keys))
		}
	}
	return n
}

// selectionOf is the selection a form holds, whichever choice is made.
func selectionOf(f views.AccessForm) *models.MCPPermission {
	sel := &models.MCPPermission{Servers: f.Servers, AccessGroups: f.AccessGroups, Toolsets: f.Toolsets}
	if len(f.ToolLimits) > 0 {
		sel.Tools = f.ToolLimits
	}
	return sel
}

// New shows the form creating a principal, with an empty preview.
func (h *Principals) New(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	p := principal{Organization: c.Query("organization"), Team: c.Query("team")}
	in := draftInput{form: formOf(&models.OrganizationDoc{}), stored: true, loaded: v.Revision}
	props := h.page(v, p, in, true)
	props.Layout.Flash = popFlash(c)
	render(c, http.StatusOK, views.PrincipalSettingsPage(props))
}

// Settings shows a principal's settings as stored, with an empty preview; each ?remove=
// SERVER/TOOL instead prefills a draft with that tool denied, previewed, nothing saved.
func (h *Principals) Settings(c *gin.Context) {
	v, p, ok := h.load(c)
	if !ok {
		return
	}
	in := draftInput{form: formOf(ptr(p.level())), stored: true, loaded: v.Revision, preview: v.Revision, page: 1}
	var notice string
	if remove := c.QueryArray("remove"); len(remove) > 0 {
		for _, t := range remove {
			if !slices.Contains(p.DenyTools, t) {
				p.DenyTools = append(p.DenyTools, t)
			}
		}
		in.form, in.stored = formOf(ptr(p.level())), false
		notice = fmt.Sprintf("A draft removing %s is shown with its preview; nothing is saved until you press Save.", strings.Join(remove, ", "))
	}
	props := h.page(v, p, in, false)
	props.Layout.Flash, props.Notice = popFlash(c), notice
	render(c, http.StatusOK, views.PrincipalSettingsPage(props))
}

// revertPage is the settings page of the principal named name with a draft of it as it is in
// doc (the policy with an audit event's before state put back), previewed against the current
// policy; nothing is saved until Save. A principal that no longer exists is 404.
func (h *Principals) revertPage(c *gin.Context, v *live.View, doc *models.Document, name, notice string) {
	if _, ok := h.kind.find(v.Doc, name); !ok {
		notFound(c, h.kind.one, name)
		return
	}
	p, ok := h.kind.find(doc, name)
	if !ok {
		notFound(c, h.kind.one, name)
		return
	}
	in := draftInput{form: formOf(ptr(p.level())), loaded: v.Revision, preview: v.Revision, loadedOK: true, page: 1}
	props := h.page(v, p, in, false)
	props.Notice = notice
	status := previewStatus(props.Preview)
	render(c, status, views.PrincipalSettingsPage(props))
}

func ptr[T any](v T) *T { return &v }

// Preview computes what the posted draft would change, writing nothing: the panel to htmx, the
// page to a plain post, the resolver's diff as JSON to a client asking for it.
func (h *Principals) Preview(c *gin.Context) {
	v, cur, ok := h.load(c)
	if !ok {
		return
	}
	h.previewDraft(c, v, cur.Name, false)
}

// PreviewNew is Preview for the new page's draft.
func (h *Principals) PreviewNew(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	h.previewDraft(c, v, "", true)
}

func (h *Principals) previewDraft(c *gin.Context, v *live.View, name string, create bool) {
	in, p := h.parse(c, name, create, false)
	if previewJSON(c, v.Revision, in.problems, func() (resolver.DiffResult, models.Problems) {
		d, _, probs := h.diff(v, p, create)
		return d, probs
	}) {
		return
	}
	props := h.page(v, p, in, create)
	if !create && !h.noteStale(c, v, &props, p, in) {
		return
	}
	status := previewStatus(props.Preview)
	renderPage(c, status, views.PrincipalSettingsPage(props), views.PreviewFragment(props.Preview))
}

// noteStale adds to the preview who changed the settings after the form loaded them. It
// answers the request itself (and returns false) on a store error.
func (h *Principals) noteStale(c *gin.Context, v *live.View, props *views.PrincipalSettingsProps, cur principal, in draftInput) bool {
	if !in.loadedOK || in.loaded >= v.Revision {
		return true
	}
	stored, _ := h.kind.find(v.Doc, cur.Name)
	_, _, events, err := h.settingsAt(c, v, stored, in.loaded)
	if err != nil {
		fail(c, err)
		return false
	}
	if n := len(events); n > 0 {
		props.Preview.Stale = &views.StaleNote{Actor: events[n-1].Actor, At: events[n-1].At, Changes: n}
	}
	return true
}

// Save writes the draft under the organization page's protocol (see Orgs.Save).
func (h *Principals) Save(c *gin.Context) {
	v, cur, ok := h.load(c)
	if !ok || !h.allow(c, v, cur) {
		return
	}
	in, p := h.parse(c, cur.Name, false, true)
	// A move needs the organization moved to as well.
	if !h.allow(c, v, cur, p) {
		return
	}
	h.commit(c, v, cur, p, in, false)
}

// Create writes a new principal under the same protocol; a key is created with its secret,
// shown once on the answer.
func (h *Principals) Create(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	// Who may create depends on where: read the placement fields first, nothing else.
	place := principal{Organization: strings.TrimSpace(c.PostForm("organization")), Team: strings.TrimSpace(c.PostForm("team"))}
	if !h.allow(c, v, place) {
		return
	}
	in, p := h.parse(c, "", true, true)
	h.commit(c, v, principal{}, p, in, true)
}

// commit saves or creates p, answering the request.
func (h *Principals) commit(c *gin.Context, v *live.View, cur, p principal, in draftInput, create bool) {
	refuse := func(status int, props views.PrincipalSettingsProps, msg string) {
		props.Message = msg
		render(c, status, views.PrincipalSettingsPage(props))
	}
	if len(in.problems) > 0 {
		props := h.page(v, p, in, create)
		if !in.loadedOK && !create {
			props = h.page(v, cur, draftInput{form: formOf(ptr(cur.level())), stored: true, loaded: v.Revision}, false)
			props.Preview.Problems = in.problems
		}
		refuse(http.StatusUnprocessableEntity, props, "The form has problems; nothing was saved.")
		return
	}
	diff, _, probs := h.diff(v, p, create)
	if len(probs) > 0 {
		refuse(http.StatusUnprocessableEntity, h.page(v, p, in, create), "The draft has problems; nothing was saved.")
		return
	}
	summary := savedSummary(diff)
	change := store.PrincipalChange{Kind: h.kind.kind, Name: p.Name, Create: create, Put: h.kind.put(p),
		SettingsRevision: in.loaded, BaseRevision: in.preview, Actor: actorOf(c), Summary: summary}
	if create && h.kind.kind == models.KindKey {
		change.IssueSecret = p.Name
	}
	// The guards are checked again under the save's lock, on the state the save changes.
	draft := func(v *live.View) *resolver.Snapshot {
		_, after, _ := h.diff(v, p, create)
		return after
	}
	var res store.PrincipalResult
	err := guardedSave(c.Request.Context(), h.State, draft, func(verify func(int64) error) error {
		change.Verify = verify
		var err error
		res, err = h.Store.ChangePrincipals(c.Request.Context(), change)
		return err
	})
	var conflict *models.ConflictError
	var bad *models.Error
	var ps models.Problems
	var refused *GuardRefusal
	switch {
	case err == nil:
	case errors.As(err, &refused):
		fresh, ok := freshView(c, h.State)
		if !ok {
			return
		}
		refuse(http.StatusUnprocessableEntity, h.page(fresh, p, in, create), "Nothing was saved: "+refused.Error()+".")
		return
	case errors.As(err, &conflict):
		fresh, ok := freshView(c, h.State)
		if !ok {
			return
		}
		props := h.page(fresh, p, in, create)
		if conflict.Reason == models.ConflictSettings {
			props.Conflict = conflictOf(h.kind.one+" "+p.Name, h.kind.settingsURL(p.Name), views.PrincipalFormID, p.level(), conflict,
				func(js string) (models.OrganizationDoc, bool) {
					q, err := h.kind.decode(js)
					return q.level(), js != "" && err == nil
				})
			props.Message = "Nothing was saved: " + conflict.Error() + "."
		} else {
			props.Message = conflict.Error()
			if !create && !h.noteStale(c, fresh, &props, p, in) {
				return
			}
		}
		render(c, http.StatusConflict, views.PrincipalSettingsPage(props))
		return
	case errors.As(err, &bad) && bad.Code == models.EInvalid:
		props := h.page(v, p, in, create)
		props.Preview.Problems = models.Problems{{Path: "preview_revision", Message: bad.Message}}
		refuse(http.StatusUnprocessableEntity, props, "The form has problems; nothing was saved.")
		return
	case errors.As(err, &ps):
		props := h.page(v, p, in, create)
		props.Preview.Problems = ps
		for _, pr := range ps {
			props.FieldProblems[pr.Path] = append(props.FieldProblems[pr.Path], pr.Message)
		}
		refuse(http.StatusUnprocessableEntity, props, "The draft has problems; nothing was saved.")
		return
	default:
		fail(c, err)
		return
	}
	// Enforcement must see the save before the person does.
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	if res.Secret != "" {
		h.showSecret(c, p.Name, res.Secret, "Created key "+p.Name+" — "+summary)
		return
	}
	verb := "Saved"
	if create {
		verb = "Created " + h.kind.one + " " + p.Name
	}
	setFlash(c, verb+" — "+summary)
	redirect(c, h.kind.settingsURL(p.Name))
}

// Rebase is "Apply my edits on top" (see Orgs.Rebase): the draft's edits relative to the
// settings the form loaded, re-applied onto the current ones; nothing is saved.
func (h *Principals) Rebase(c *gin.Context) {
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	v, cur, ok := h.load(c)
	if !ok || !h.allow(c, v, cur) {
		return
	}
	in, p := h.parse(c, cur.Name, false, true)
	if len(in.problems) == 0 && in.loaded > v.Revision {
		in.problems = append(in.problems, models.Problem{Path: "loaded_revision",
			Message: fmt.Sprintf("revision %d is newer than the current revision %d", in.loaded, v.Revision)})
	}
	if len(in.problems) > 0 {
		props := h.page(v, cur, draftInput{form: formOf(ptr(cur.level())), stored: true, loaded: v.Revision}, false)
		props.Preview.Problems = in.problems
		props.Message = "The form has problems; your edits were not applied."
		render(c, http.StatusUnprocessableEntity, views.PrincipalSettingsPage(props))
		return
	}
	base, existed, _, err := h.settingsAt(c, v, cur, in.loaded)
	if err != nil {
		fail(c, err)
		return
	}
	if !existed {
		props := h.page(v, p, in, false)
		props.Message = fmt.Sprintf("%s did not exist at revision %d, when this form loaded its settings; start from the current settings.", cur.Name, in.loaded)
		render(c, http.StatusConflict, views.PrincipalSettingsPage(props))
		return
	}
	merged := cur.withLevel(models.Rebase(base.level(), p.level(), cur.level()))
	// Placement: mine where I changed it, the current one elsewhere.
	pick := func(b, mine, now string) string {
		if mine != b {
			return mine
		}
		return now
	}
	merged.Organization = pick(base.Organization, p.Organization, cur.Organization)
	merged.Team = pick(base.Team, p.Team, cur.Team)
	merged.Agent = pick(base.Agent, p.Agent, cur.Agent)
	merged.ExpiresAt = pick(base.ExpiresAt, p.ExpiresAt, cur.ExpiresAt)
	next := draftInput{form: formOf(ptr(merged.level())), filter: in.filter, page: 1, loaded: v.Revision, preview: v.Revision}
	props := h.page(v, merged, next, false)
	props.Notice = fmt.Sprintf("Your edits are applied on top of %s's current settings (revision %d). Review the preview, then Save; nothing is saved yet.", cur.Name, v.Revision)
	status := previewStatus(props.Preview)
	render(c, status, views.PrincipalSettingsPage(props))
}

// Why explains one principal's access now and with the posted draft saved.
func (h *Principals) Why(c *gin.Context) {
	v, cur, ok := h.load(c)
	if !ok {
		return
	}
	h.why(c, v, cur.Name, false)
}

// WhyNew is Why on the new page.
func (h *Principals) WhyNew(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	h.why(c, v, "", true)
}

func (h *Principals) why(c *gin.Context, v *live.View, name string, create bool) {
	in, p := h.parse(c, name, create, false)
	kind := resolver.PrincipalKind(c.PostForm("kind"))
	switch kind {
	case resolver.KindOrganization, resolver.KindTeam, resolver.KindKey:
	default:
		fail(c, models.Errorf(models.EInvalid, "kind must be organization, team or key, not %q", kind))
		return
	}
	who := c.PostForm("name")
	before, found := v.Snapshot.ExplainPrincipal(kind, who)
	props := views.WhyProps{Before: before.Lines()}
	if !found {
		props.Before = []string{who + " does not exist yet."}
	}
	if len(in.problems) > 0 {
		props.After = []string{"The draft has problems; see the preview."}
	} else if _, after, probs := h.diff(v, p, create); len(probs) == 0 {
		e, ok := after.ExplainPrincipal(kind, who)
		if !ok {
			fail(c, models.Errorf(models.ENotFound, "unknown %s %q", kind, who))
			return
		}
		props.After = e.Lines()
	} else {
		props.After = []string{"The draft has problems; see the preview."}
	}
	render(c, http.StatusOK, views.Why(props))
}

// ToolLimit renders one server's tool limit block, for a server selected after the page
// loaded (see Orgs.ToolLimit).
func (h *Principals) ToolLimit(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	if c.Param(h.kind.param) != "" {
		if _, ok := h.kind.find(v.Doc, c.Param(h.kind.param)); !ok {
			notFound(c, h.kind.one, c.Param(h.kind.param))
			return
		}
	}
	for _, s := range catalogueOf(v).Servers {
		if s.Name == c.Param("server") {
			render(c, http.StatusOK, views.ToolLimit(s, views.AccessForm{Servers: []string{s.Name}}))
			return
		}
	}
	notFound(c, "server", c.Param("server"))
}
