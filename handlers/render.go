// Package handlers turns HTTP requests into calls on the store and the resolver, and their
// answers into templ components or JSON. Every handler follows the same steps: load the target,
// 404 if missing, parse and validate input, act, then render or redirect.
package handlers

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/views"
)

// render writes a templ component with the given status.
func render(c *gin.Context, status int, comp templ.Component) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Vary", "HX-Request")
	c.Status(status)
	if err := comp.Render(c.Request.Context(), c.Writer); err != nil {
		Logger(c).Error("render", "path", c.Request.URL.Path, "err", err)
	}
}

// renderPage answers with the whole page, or with the fragment htmx swaps in when the request
// asks for one (see isFragment). Both are built from the same props, so they cannot drift.
func renderPage(c *gin.Context, status int, page, fragment templ.Component) {
	if isFragment(c) {
		render(c, status, fragment)
		return
	}
	render(c, status, page)
}

// isFragment reports whether to answer with a partial: an htmx request that is neither boosted
// nor a history restore wants just the component it swaps in.
func isFragment(c *gin.Context) bool {
	h := c.Request.Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true" && h.Get("HX-History-Restore-Request") != "true"
}

// previewStatus is the status of a page showing a preview: 422 when the draft it previews has
// problems (htmx swaps the answer in all the same, see views.htmxConfig), 200 otherwise.
func previewStatus(p views.PreviewProps) int {
	if len(p.Problems) > 0 {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// redirect answers a successful form post: HX-Redirect for htmx, 303 otherwise.
func redirect(c *gin.Context, to string) {
	if c.GetHeader("HX-Request") == "true" {
		c.Header("HX-Redirect", to)
		c.Status(http.StatusNoContent)
		return
	}
	c.Redirect(http.StatusSeeOther, to)
}

// statusOf maps a domain error code to an HTTP status. No policy view to trust (none loaded
// yet, or stale beyond max-stale) is 503: the console, like enforcement, fails closed.
func statusOf(err error) int {
	var stale *live.StaleError
	if errors.As(err, &stale) || errors.Is(err, live.ErrNoView) {
		return http.StatusServiceUnavailable
	}
	switch models.ErrorCode(err) {
	case models.EInvalid:
		return http.StatusUnprocessableEntity
	case models.ENotFound:
		return http.StatusNotFound
	case models.EConflict:
		return http.StatusConflict
	case models.EForbidden:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// fail answers a request that failed with err, the status its code maps to (statusOf), and
// logs it. Internal errors are logged in full and shown without detail.
func fail(c *gin.Context, err error) {
	status := statusOf(err)
	msg := err.Error()
	log := Logger(c)
	switch status {
	case http.StatusInternalServerError:
		log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		msg = InternalError
	case http.StatusServiceUnavailable:
		log.Warn("policy unavailable", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		msg = "Warden cannot show the policy now: " + msg
	default:
		log.Info("request refused", "method", c.Request.Method, "path", c.Request.URL.Path, "status", status, "err", err)
	}
	Error(c, status, msg)
}

// InternalError is what a 500 tells the person; the details are in the log, under the
// request's id.
const InternalError = "Something went wrong inside Warden."

// Error answers a console request that failed with status, saying msg, and ends the request:
// with JSON to a client asking for it (Accept: application/json), with the error partial for an
// htmx request, retargeted (HX-Retarget, HX-Reswap) into a region of the page the person can
// see, and with the error page otherwise. Each shows the request id, which the request's log
// line shows too. The gateway and the decision API answer their own errors; this is not for them.
func Error(c *gin.Context, status int, msg string) {
	c.Abort()
	id := RequestID(c)
	// An error is about this request only: never store it in place of the page.
	c.Header("Cache-Control", "no-store")
	if c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON) == gin.MIMEJSON {
		c.Header("Vary", "Accept")
		c.JSON(status, gin.H{"error": msg, "status": status, "request_id": id})
		return
	}
	e := views.ErrorProps{Status: status, Message: msg, RequestID: id}
	if !isFragment(c) {
		render(c, status, views.ErrorPage(e))
		return
	}
	region := views.ErrorRegion
	if c.GetHeader("HX-Target") == views.PreviewPanelID {
		// A failed preview leaves the last one on screen: say so inside it.
		region, e.Context = views.PreviewStatusID, "This preview is not of your latest edits."
	}
	c.Header("HX-Retarget", "#"+region)
	c.Header("HX-Reswap", "innerHTML")
	// A failed list request must not become a history entry.
	c.Header("HX-Push-Url", "false")
	render(c, status, views.ErrorPartial(e))
}

// Request-scoped values set by BeginRequest.
const (
	requestIDKey = "warden.request_id"
	loggerKey    = "warden.logger"
)

// BeginRequest records the request's id, sets it as the X-Request-Id response header, and
// records the logger for the request's lines (which should carry the id). The web shell's
// middleware calls it before anything else runs.
func BeginRequest(c *gin.Context, id string, log *slog.Logger) {
	c.Set(requestIDKey, id)
	c.Set(loggerKey, log)
	c.Header("X-Request-Id", id)
}

// RequestID is the id BeginRequest gave the request ("" if none).
func RequestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// Logger is the request's logger (BeginRequest), or slog.Default outside one.
func Logger(c *gin.Context) *slog.Logger {
	if v, ok := c.Get(loggerKey); ok {
		if l, ok := v.(*slog.Logger); ok {
			return l
		}
	}
	return slog.Default()
}
