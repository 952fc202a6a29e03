package handlers

// Reading the settings form into a draft, strictly.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/views"
)

// draftInput is a posted draft: the form as typed and the level it describes.
type draftInput struct {
	form views.AccessForm
	// org is the organization the draft describes, on the organization page; level the MCP
	// access, denied tools and blocked flag it gives any level.
	org   models.OrganizationDoc
	level models.OrganizationDoc
	// fields are the posted values of the other fields a principal's form sends (organization,
	// team, agent, expires_at, name), each once at most.
	fields map[string]string
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
var singleFields = []string{"mode", "blocked", "filter", "page", "loaded_revision", "preview_revision", "replay_window"}

// parseDraft reads the settings form, checking every value against what the form sends; with
// revisions set the form must carry both revisions (Save), otherwise they are optional. With
// "No limit" chosen the selection is kept in the form (so switching back restores it) but the
// organization gets no mcp block. Names of servers, groups, toolsets and tools are checked by
// the catalogue (diff), not here.
func parseDraft(c *gin.Context, name string, revisions bool) draftInput {
	in := parseLevelDraft(c, revisions, nil)
	in.org = in.level
	in.org.Name = name
	return in
}

// parseLevelDraft reads the access part of any level's settings form (as parseDraft does) and
// the named other fields, each of which the form sends once at most.
func parseLevelDraft(c *gin.Context, revisions bool, fields []string) draftInput {
	var probs models.Problems
	bad := func(field, format string, args ...any) {
		probs = append(probs, models.Problem{Path: field, Message: fmt.Sprintf(format, args...)})
	}
	// Read the body first: a malformed one is a problem, not a draft missing what could not
	// be read.
	readForm(c, append(slices.Clip(singleFields), fields...), bad)
	f := views.AccessForm{
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
	in.loaded, in.preview, in.loadedOK = readRevisions(c, revisions, bad)
	level := models.OrganizationDoc{Blocked: f.Blocked, DenyTools: f.DenyTools}
	if f.Limit {
		level.MCP = &models.MCPPermission{Servers: f.Servers, AccessGroups: f.AccessGroups, Toolsets: f.Toolsets}
		if len(f.ToolLimits) > 0 {
			level.MCP.Tools = f.ToolLimits
		}
	}
	in.fields = make(map[string]string, len(fields))
	for _, name := range fields {
		in.fields[name] = strings.TrimSpace(c.PostForm(name))
	}
	in.level, in.problems = level, probs
	return in
}

// formOf shows a stored organization (or any level's access, in that shape) in the form.
func formOf(o *models.OrganizationDoc) views.AccessForm {
	f := views.AccessForm{Blocked: o.Blocked, Limit: o.MCP != nil, DenyTools: o.DenyTools, ToolLimits: map[string][]string{}}
	if o.MCP != nil {
		f.Servers, f.AccessGroups, f.Toolsets = o.MCP.Servers, o.MCP.AccessGroups, o.MCP.Toolsets
		for s, tools := range o.MCP.Tools {
			f.ToolLimits[s] = tools
		}
	}
	return f
}

// readRevisions reads a settings form's loaded_revision and preview_revision, reporting what is
// wrong with them through bad; with required set both must be posted (a Save). loadedOK says
// loaded_revision was posted once and sound.
func readRevisions(c *gin.Context, required bool, bad func(field, format string, args ...any)) (loaded, preview int64, loadedOK bool) {
	rev := func(field string) (int64, bool) {
		s, ok := c.GetPostForm(field)
		if !ok {
			if required {
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
	loaded, loadedOK = rev("loaded_revision")
	preview, previewOK = rev("preview_revision")
	if loadedOK && previewOK && preview < loaded {
		bad("preview_revision", "%d is before loaded_revision %d; a preview is never older than its form", preview, loaded)
	}
	return loaded, preview, loadedOK
}
