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
)

// render writes a templ component with the given status.
func render(c *gin.Context, status int, comp templ.Component) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Vary", "HX-Request")
	c.Status(status)
	if err := comp.Render(c.Request.Context(), c.Writer); err != nil {
		slog.Error("render", "path", c.Request.URL.Path, "err", err)
	}
}

// isFragment reports whether to answer with a partial: an htmx request that is neither boosted
// nor a history restore wants just the component it swaps in.
func isFragment(c *gin.Context) bool {
	h := c.Request.Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true" && h.Get("HX-History-Restore-Request") != "true"
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

// fail answers with the error as plain text and logs it with the request's details. Internal
// errors are logged in full and shown without detail.
func fail(c *gin.Context, err error) {
	status := statusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		slog.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		msg = "internal error; see the server log"
	} else if status == http.StatusServiceUnavailable {
		msg = "Warden cannot show the policy now: " + msg
	} else {
		slog.Info("request refused", "method", c.Request.Method, "path", c.Request.URL.Path, "status", status, "err", err)
	}
	c.String(status, msg)
}
