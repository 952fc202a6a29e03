package handlers

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// Shared by the access review pages (who can call, unused access, decisions): each answers
// HTML, JSON (Accept: application/json) or CSV (Accept: text/csv, or the path ending .csv).

const mimeCSV = "text/csv"

// answerFormat is how to answer a read: "html", gin.MIMEJSON or mimeCSV.
func answerFormat(c *gin.Context) string {
	c.Header("Vary", "Accept, HX-Request")
	if strings.HasSuffix(c.Request.URL.Path, ".csv") {
		return mimeCSV
	}
	switch c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON, mimeCSV) {
	case gin.MIMEJSON:
		return gin.MIMEJSON
	case mimeCSV:
		return mimeCSV
	}
	return "html"
}

// writeCSV answers a CSV download named filename: the header, then the rows. Every cell goes
// through csvCell.
func writeCSV(c *gin.Context, filename string, header []string, rows [][]string) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+filename+`"`)
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	safe := func(r []string) []string {
		out := make([]string, len(r))
		for i, s := range r {
			out[i] = csvCell(s)
		}
		return out
	}
	if err := w.Write(safe(header)); err != nil {
		return
	}
	for _, r := range rows {
		if err := w.Write(safe(r)); err != nil {
			Logger(c).Warn("csv", "path", c.Request.URL.Path, "err", err)
			return
		}
	}
	w.Flush()
}

// csvCell defuses CSV formula injection: a spreadsheet runs a cell that starts with = + - @
// (or a tab or carriage return, which some strip before looking) as a formula, and tool names
// are free-form. Such a cell is prefixed with an apostrophe, which spreadsheets show as text.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvTime is a CSV cell for a time: RFC 3339 in UTC, empty for none.
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// jsonTime is a time for JSON: RFC 3339 in UTC, nil for none.
func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// pathText renders a holder's path for people and CSV: "organization acme: access group dev >
// key tl: toolset read-only", or "public server" when no level restricts.
func pathText(h resolver.ToolHolder) string {
	if h.Public {
		return "public server (no level restricts)"
	}
	steps := make([]string, len(h.Path))
	for i, st := range h.Path {
		steps[i] = pathStepText(st)
	}
	return strings.Join(steps, " > ")
}

func pathStepText(st resolver.PathStep) string {
	from := make([]string, len(st.From))
	for i, f := range st.From {
		switch f.Kind {
		case resolver.SourceServer:
			from[i] = "server " + f.Name
		case resolver.SourceAccessGroup:
			from[i] = "access group " + f.Name
		case resolver.SourceToolset:
			from[i] = "toolset " + f.Name
		case resolver.SourceToolList:
			from[i] = "tool list"
		}
	}
	return string(st.Level) + " " + st.Name + ": " + strings.Join(from, ", ")
}

// decisionsURL links the decision log filtered to a key, and optionally a tool.
func decisionsURL(key, server, tool string) string {
	v := url.Values{}
	for _, p := range [][2]string{{"key", key}, {"server", server}, {"tool", tool}} {
		if p[1] != "" {
			v.Set(p[0], p[1])
		}
	}
	return "/decisions?" + v.Encode()
}

// strictQuery refuses a parameter given twice, naming it: a read is untrusted input too.
func strictQuery(c *gin.Context, names ...string) error {
	q := c.Request.URL.Query()
	for _, n := range names {
		if len(q[n]) > 1 {
			return models.Errorf(models.EInvalid, "%s: given %d times", n, len(q[n]))
		}
	}
	return nil
}

// reviewLayout is the layout of an access review page.
func reviewLayout(c *gin.Context, title, nav string, revision int64) views.LayoutProps {
	return views.LayoutProps{Title: title, Nav: nav, Revision: revision, Flash: popFlash(c)}
}
