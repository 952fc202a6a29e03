package web

import (
	"net/http"

	"github.com/warden-mcp/warden/handlers"
)

// NewWithConsole is New with the console's pages reading s instead of d.State: a state whose
// View fails shows the error paths. Only tests can reach it.
func NewWithConsole(d Deps, s handlers.PolicyState) http.Handler {
	d.console = s
	return New(d)
}
