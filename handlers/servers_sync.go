package handlers

// Sync tools: reading a server's catalogue from the upstream, previewing the change (tools
// added, removed, and changed in description or input schema, and who gains and loses what),
// and applying exactly the previewed catalogue. And the server's upstream headers.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers/internal/mcpsync"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Sync fetches the server's tools from its upstream and shows what applying them would change.
// Nothing is written. An upstream that cannot be read is a 502 page saying why.
func (h *Catalogue) Sync(c *gin.Context) {
	v, name, ok := h.load(c)
	if !ok || !allowAdmin(c) {
		return
	}
	tools, err := h.fetch(c, v, name)
	if err != nil {
		h.syncFailed(c, v, name, err)
		return
	}
	p := h.syncPage(v, name, tools)
	status := previewStatus(p.Preview)
	render(c, status, views.SyncPage(p))
}

// SyncApply fetches the catalogue again and, if it is the one previewed (catalogue_hash),
// stores it through the revision-checked save; if the upstream now lists something else, it
// writes nothing and shows the new change (409).
func (h *Catalogue) SyncApply(c *gin.Context) {
	v, name, ok := h.load(c)
	if !ok || !allowAdmin(c) {
		return
	}
	var probs models.Problems
	bad := func(field, format string, args ...any) {
		probs = append(probs, models.Problem{Path: field, Message: fmt.Sprintf(format, args...)})
	}
	loaded, preview, _ := readRevisions(c, true, bad)
	want := c.PostForm("catalogue_hash")
	if len(want) != 64 {
		bad("catalogue_hash", "missing or malformed; apply from a sync preview")
	}
	if len(probs) > 0 {
		p := h.syncPage(v, name, nil)
		p.Error, p.Preview.Problems = "The form has problems; nothing was applied.", probs
		render(c, http.StatusUnprocessableEntity, views.SyncPage(p))
		return
	}
	tools, err := h.fetch(c, v, name)
	if err != nil {
		h.syncFailed(c, v, name, err)
		return
	}
	if catalogueHash(tools) != want {
		p := h.syncPage(v, name, tools)
		p.Error = name + " now lists a different catalogue than the one you previewed; nothing was applied. Review the change below and apply it again."
		render(c, http.StatusConflict, views.SyncPage(p))
		return
	}
	ch := draftChange(v, func(d *models.Document) error { _, err := d.SetServerTools(name, tools); return err })
	summary := "synced tools; " + savedSummary(ch.diff)
	_, err = h.Store.UpdateDocument(c.Request.Context(), store.DocumentUpdate{
		Kind: models.KindServer, Name: name, SettingsRevision: loaded, BaseRevision: preview, Actor: actorOf(c), Summary: summary,
		// New tools reach every whole-server grant at once: a guard may forbid them.
		Edit: func(d *models.Document) error { _, err := d.SetServerTools(name, tools); return err }, Verify: verifyGuards,
	})
	if !h.saved(c, err, func(status int, probs models.Problems, msg string) {
		if fresh, verr := h.State.View(); verr == nil {
			v = fresh
		}
		p := h.syncPage(v, name, tools)
		p.Error = msg
		if len(probs) > 0 {
			p.Preview.Problems = probs
		}
		render(c, status, views.SyncPage(p))
	}) {
		return
	}
	setFlash(c, "Synced "+name+" — "+summary)
	redirect(c, "/servers/"+name)
}

// fetch reads the server's catalogue from its upstream with its stored headers.
func (h *Catalogue) fetch(c *gin.Context, v *live.View, name string) ([]models.ToolDoc, error) {
	up := v.Upstreams[name]
	if up.Unavailable != "" {
		return nil, models.Errorf(models.EInvalid, "the stored upstream headers cannot be used: %s", up.Unavailable)
	}
	url := v.Doc.Server(name).URL
	if url == "" {
		return nil, models.Errorf(models.EInvalid, "%s has no URL; set it in the settings first", name)
	}
	tools, err := mcpsync.Fetch(c.Request.Context(), url, up.Headers, mcpsync.Options{})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(tools, func(a, b models.ToolDoc) int { return strings.Compare(a.Name, b.Name) })
	return tools, nil
}

// syncFailed answers a sync whose upstream could not be read: the catalogue is untouched.
func (h *Catalogue) syncFailed(c *gin.Context, v *live.View, name string, err error) {
	var se *mcpsync.Error
	msg := err.Error()
	if !errors.As(err, &se) && models.ErrorCode(err) != models.EInvalid {
		fail(c, err)
		return
	}
	p := h.syncPage(v, name, nil)
	p.Error = "Could not read the tools of " + name + ": " + msg + ". The catalogue is unchanged."
	status := http.StatusBadGateway
	if models.ErrorCode(err) == models.EInvalid {
		status = http.StatusUnprocessableEntity
	}
	render(c, status, views.SyncPage(p))
}

// syncPage is the catalogue change of tools (nil: none fetched) with its access preview.
func (h *Catalogue) syncPage(v *live.View, name string, tools []models.ToolDoc) views.SyncProps {
	srv := v.Doc.Server(name)
	p := views.SyncProps{
		Layout: views.LayoutProps{Title: "Sync tools of " + name, Nav: "servers", Revision: v.Revision},
		Server: name, URL: srv.URL, Revision: v.Revision,
	}
	if tools == nil {
		return p
	}
	p.Fetched, p.Hash, p.Count = true, catalogueHash(tools), len(tools)
	old := map[string]models.ToolDoc{}
	for _, t := range srv.Tools {
		old[t.Name] = t
	}
	seen := map[string]bool{}
	for _, t := range tools {
		seen[t.Name] = true
		o, had := old[t.Name]
		switch {
		case !had:
			p.Added = append(p.Added, views.SyncTool{Name: t.Name, Description: t.Description})
		case o.Description != t.Description || o.InputSchema != t.InputSchema:
			st := views.SyncTool{Name: t.Name}
			if o.Description != t.Description {
				st.Description = "changed"
				st.DescriptionDiff = lineDiff(o.Description, t.Description)
			}
			if o.InputSchema != t.InputSchema {
				st.SchemaDiff = lineDiff(indentJSON(o.InputSchema), indentJSON(t.InputSchema))
			}
			p.Changed = append(p.Changed, st)
		}
	}
	for _, t := range srv.Tools {
		if !seen[t.Name] {
			p.Removed = append(p.Removed, t.Name)
		}
	}
	ch := draftChange(v, func(d *models.Document) error {
		var err error
		p.References, err = d.SetServerTools(name, tools)
		return err
	})
	p.Preview = previewAcross(ch.diff, "", 1)
	p.Preview.Revision, p.Preview.NoWhy, p.Preview.Problems = v.Revision, true, ch.problems
	return p
}

// catalogueHash identifies a fetched catalogue, so an apply stores the one previewed.
func catalogueHash(tools []models.ToolDoc) string {
	b, _ := json.Marshal(tools)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// lineDiff is the line-by-line difference from a to b (longest common subsequence).
func lineDiff(a, b string) []views.DiffLine {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	if a == "" {
		x = nil
	}
	if b == "" {
		y = nil
	}
	// lcs[i][j] is the common length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []views.DiffLine
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, views.DiffLine{Op: " ", Text: x[i]})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			// Removed lines before added ones, as diff(1) prints them.
			out = append(out, views.DiffLine{Op: "-", Text: x[i]})
			i++
		default:
			out = append(out, views.DiffLine{Op: "+", Text: y[j]})
			j++
		}
	}
	return out
}

// SetHeaders replaces the server's upstream headers (POST /servers/:server/headers): one
// "Name: value" a line, empty to clear. Values are sealed by the store, never shown again.
func (h *Catalogue) SetHeaders(c *gin.Context) {
	v, name, ok := h.load(c)
	if !ok || !allowAdmin(c) {
		return
	}
	headers := map[string]string{}
	for i, line := range strings.Split(strings.ReplaceAll(c.PostForm("headers"), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, val, found := strings.Cut(line, ":")
		if !found || strings.TrimSpace(k) == "" {
			h.headersRefused(c, v, name, models.Problem{Path: "headers", Message: fmt.Sprintf("line %d is not Name: value", i+1)})
			return
		}
		headers[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	if len(headers) == 0 {
		headers = nil
	}
	if err := h.Store.SetServerAuthHeaders(c.Request.Context(), name, headers, actorOf(c)); err != nil {
		if models.ErrorCode(err) == models.EInvalid {
			h.headersRefused(c, v, name, models.Problem{Path: "headers", Message: err.Error()})
			return
		}
		fail(c, err)
		return
	}
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	msg := "Cleared the upstream headers of " + name
	if len(headers) > 0 {
		msg = "Stored the upstream headers of " + name
	}
	setFlash(c, msg)
	redirect(c, "/servers/"+name+"/settings")
}

func (h *Catalogue) headersRefused(c *gin.Context, v *live.View, name string, pr models.Problem) {
	p := h.page(c, v, entityDraft{form: h.k.formOf(v.Doc, name), page: 1, loaded: v.Revision}, true)
	p.Message = "The headers were not stored: " + pr.Message
	render(c, http.StatusUnprocessableEntity, views.EntitySettingsPage(p))
}
