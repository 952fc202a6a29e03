package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/handlers"
)

// access is what a route asks of the request before its handler runs. Every route the router
// registers has one (see router.handle); the route × role table test (TestRouteRoles) lists
// every route with the answer each role gets, so a route added without thinking about who may
// use it fails that test.
type access int

const (
	// public routes authenticate by other means or hold nothing to protect: the gateway and
	// decision API (key secrets), health, metrics, static files. Nothing is read of the
	// request's cookies or Authorization header here: on the gateway, Bearer is a key secret.
	public access = iota
	// guest routes are for people not signed in yet (sign-in, OIDC callback): who is signed
	// in, if anyone, is known to the handler but nobody is refused.
	guest
	// signedIn routes are for every signed-in role: every page, preview, explanation and
	// download, one's own account. They write no policy.
	signedIn
	// writer routes change the policy within organizations: admins and org_admins pass, and
	// the handler narrows to the organizations involved (handlers.allowOrgs). Viewers get 403.
	writer
	// admin routes are everything else that writes: users, servers, imports, access groups,
	// toolsets. Only admins pass.
	admin
)

func (a access) String() string {
	return [...]string{"public", "guest", "signed in", "writer", "admin"}[a]
}

// router registers routes with their access rule.
type router struct {
	e     *gin.Engine
	auth  *handlers.Auth
	rules map[string]access // "METHOD /path" → rule
}

func (rt *router) handle(method, path string, a access, h gin.HandlerFunc) {
	rt.rules[method+" "+path] = a
	rt.e.Handle(method, path, rt.require(a), h)
}

func (rt *router) get(path string, a access, h gin.HandlerFunc) {
	rt.handle(http.MethodGet, path, a, h)
}
func (rt *router) post(path string, a access, h gin.HandlerFunc) {
	rt.handle(http.MethodPost, path, a, h)
}

// any registers every method gin's Any does (the gateway answers its own 405s).
func (rt *router) any(path string, a access, h gin.HandlerFunc) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodHead,
		http.MethodOptions, http.MethodDelete, http.MethodConnect, http.MethodTrace} {
		rt.handle(m, path, a, h)
	}
}

// require enforces a route's access rule before its handler.
func (rt *router) require(a access) gin.HandlerFunc {
	return func(c *gin.Context) {
		if a == public {
			c.Next()
			return
		}
		id, err := rt.auth.Identify(c)
		switch {
		case err == nil:
			handlers.SetIdentity(c, id)
		case a == guest:
			// Nobody (validly) signed in: the handler shows the sign-in page.
		case errors.Is(err, handlers.ErrNotSignedIn):
			signInFirst(c)
			return
		default:
			// A token or session that does not authenticate: expired, revoked, unknown. Not a
			// 500: the database answered; the credential is no good.
			if c.GetHeader("Authorization") != "" {
				handlers.Logger(c).Info("request refused", "path", c.Request.URL.Path, "status", http.StatusUnauthorized, "err", err)
				handlers.Error(c, http.StatusUnauthorized, "The API token is not valid: "+err.Error()+".")
				return
			}
			signInFirst(c)
			return
		}
		switch {
		case a == writer && !id.Writes(), a == admin && !id.Admin():
			handlers.Logger(c).Info("request refused", "method", c.Request.Method, "path", c.Request.URL.Path,
				"status", http.StatusForbidden, "actor", id.Actor(), "role", id.Role)
			msg := "Your role (" + string(id.Role) + ") cannot change the policy; ask an admin."
			if a == admin {
				msg = "Only an admin can do this; your role is " + string(id.Role) + "."
			}
			handlers.Error(c, http.StatusForbidden, msg)
			return
		}
		c.Next()
	}
}

// signInFirst answers a request from someone not signed in: a page load goes to the sign-in
// page and comes back after; htmx is told to load that page (HX-Redirect); anything else (a
// form post, a script) gets 401.
func signInFirst(c *gin.Context) {
	r := c.Request
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		next = ""
	}
	if r.Header.Get("HX-Request") == "true" {
		if u, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && u.Path != "" {
			next = u.RequestURI()
		}
		c.Header("HX-Redirect", loginURL(next))
		c.AbortWithStatus(http.StatusUnauthorized)
		return
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON) != gin.MIMEJSON {
		c.Header("Cache-Control", "no-store")
		c.Redirect(http.StatusSeeOther, loginURL(next))
		c.Abort()
		return
	}
	c.Header("WWW-Authenticate", `Bearer realm="warden"`)
	handlers.Error(c, http.StatusUnauthorized, "Sign in first (or send a personal API token as Authorization: Bearer …).")
}

func loginURL(next string) string {
	if next == "" || next == "/" {
		return "/login"
	}
	return "/login?" + url.Values{"next": {next}}.Encode()
}
