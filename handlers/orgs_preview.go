package handlers

// The live preview of an organization's draft settings, and the explanations it fetches.

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// Preview computes what the posted draft would change, writing nothing. An htmx request gets
// the panel alone; a plain form post (the no-JavaScript Preview button) gets the whole page.
// When the form's settings are older than the stored ones, the preview says so.
func (h *Orgs) Preview(c *gin.Context) {
	v, org, ok := h.load(c)
	if !ok {
		return
	}
	in := parseDraft(c, org.Name, false)
	window, span, prob := replayWindow(c)
	if prob != nil {
		in.problems = append(in.problems, *prob)
	}
	if c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON) == gin.MIMEJSON {
		// Scripts get the resolver's diff itself, as `warden policy diff` prints it, and the
		// replay of the recorded traffic.
		probs := in.problems
		var diff resolver.DiffResult
		var after *resolver.Snapshot
		if len(probs) == 0 {
			diff, after, probs = h.diff(v, in.org)
		}
		if len(probs) > 0 {
			c.JSON(http.StatusUnprocessableEntity, gin.H{"revision": v.Revision, "problems": probs})
			return
		}
		replay, err := live.Replay(c.Request.Context(), h.Store, v.Snapshot, after, orgScope(org.Name), span, time.Now())
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"revision": v.Revision, "principals": diff.Principals, "summary": diff.Summary, "replay": replay,
			"guards": checkGuards(v.Doc.Guards, v.Snapshot, after).JSON()})
		return
	}
	p, after := h.pageAfter(v, org.Name, in.form, in)
	if !h.noteStale(c, v, &p, in) {
		return
	}
	status := previewStatus(p.Preview)
	if status == http.StatusOK && after != nil {
		p.Preview.Replay = h.replay(c.Request.Context(), v.Snapshot, after, in.org.Name, window, span)
	}
	renderPage(c, status, views.OrgSettingsPage(p), views.PreviewFragment(p.Preview))
}

// orgScope is what a change to an organization's settings can affect: its teams' keys and its
// own.
func orgScope(org string) resolver.Scope { return resolver.Scope{Organizations: []string{org}} }

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

// diff is the change the draft would make, computed by the resolver on the enforced snapshot.
// It also returns the snapshot after the change, for explanations.
func (h *Orgs) diff(v *live.View, draft models.OrganizationDoc) (resolver.DiffResult, *resolver.Snapshot, models.Problems) {
	if probs := v.Doc.ValidateLevel(draft.MCP, draft.DenyTools); len(probs) > 0 {
		return resolver.DiffResult{}, nil, probs
	}
	after := v.Snapshot.WithOrganization(draft)
	return resolver.Diff(v.Snapshot, after), after, nil
}

// Why explains one principal's access now and with the posted draft saved; the preview fetches
// it when "Why?" is opened.
func (h *Orgs) Why(c *gin.Context) {
	v, org, ok := h.load(c)
	if !ok {
		return
	}
	in := parseDraft(c, org.Name, false)
	ch := change{problems: in.problems}
	if len(in.problems) == 0 {
		_, ch.after, ch.problems = h.diff(v, in.org)
	}
	explainWhy(c, v, ch)
}

// replay is the panel's recorded traffic for a change to the organization's settings; a failed
// read of the decision log is shown in the panel, not as a failed preview.
func (h *Orgs) replay(ctx context.Context, before, after *resolver.Snapshot, org, window string, span time.Duration) *views.ReplayProps {
	res, err := live.Replay(ctx, h.Store, before, after, orgScope(org), span, time.Now())
	if err != nil {
		slog.Error("preview: read the decision log", "error", err)
		return &views.ReplayProps{Window: window, Error: "The recorded traffic could not be read; the preview above is complete without it."}
	}
	return replayProps(window, res)
}

// previewJSON answers a preview request asking for JSON, and reports whether it did: scripts
// get the resolver's diff itself, as `warden policy diff` prints it, or the draft's problems
// (the form's, else diff's) with 422.
func previewJSON(c *gin.Context, rev int64, problems models.Problems, diff func() (resolver.DiffResult, models.Problems)) bool {
	if c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON) != gin.MIMEJSON {
		return false
	}
	var d resolver.DiffResult
	if len(problems) == 0 {
		d, problems = diff()
	}
	writePreviewJSON(c, rev, d, problems)
	return true
}
