package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/views"
)

// identityKey holds the *models.Identity the web shell's sign-in middleware established.
const identityKey = "warden.identity"

// SetIdentity records who the request acts for; the web shell's sign-in middleware calls it
// before any console handler runs.
// The layout's header reads it from the request context ("Signed in as …").
func SetIdentity(c *gin.Context, id *models.Identity) {
	c.Set(identityKey, id)
	c.Request = c.Request.WithContext(views.WithViewer(c.Request.Context(), id))
}

// IdentityOf is who the request acts for, nil when nobody is signed in.
func IdentityOf(c *gin.Context) *models.Identity {
	id, _ := c.Get(identityKey)
	i, _ := id.(*models.Identity)
	return i
}

// actorOf names who made a change in the audit log.
func actorOf(c *gin.Context) string {
	return IdentityOf(c).Actor()
}

// allowAdmin is the authorization of every admin-only action (users, servers, imports,
// access groups, toolsets): it answers 403 with the error page and returns false unless the
// signed-in identity is an admin. Call it before reading the form, so a refused write writes
// nothing.
func allowAdmin(c *gin.Context) bool {
	if IdentityOf(c).Admin() {
		return true
	}
	forbid(c, "Only an admin can do this.")
	return false
}

// allowOrgs is the authorization of every write scoped to organizations: the identity must
// administer every organization named (an organization's settings; a team or key of it, and,
// for a move, the organization it moves to as well). An entity that belongs to no organization
// is passed as no name at all and needs an admin. It answers 403 and returns false otherwise.
func allowOrgs(c *gin.Context, orgs ...string) bool {
	id := IdentityOf(c)
	if id.MayChange(false, orgs...) {
		return true
	}
	if len(orgs) == 0 {
		forbid(c, "Only an admin can change what belongs to no organization.")
		return false
	}
	var refused []string
	for _, o := range orgs {
		if !id.Administers(o) {
			refused = append(refused, o)
		}
	}
	if len(refused) == 0 {
		return true
	}
	forbid(c, "You do not administer the organization "+strings.Join(refused, ", ")+"; an admin or that organization's org_admin can make this change.")
	return false
}

// allowBlocking is the one organization setting an org_admin may not change: blocked, the
// admins' stop switch for a whole organization (an org_admin of a blocked organization must not
// be able to lift it). It answers 403 when a non-admin's draft changes it.
func allowBlocking(c *gin.Context, was, now bool) bool {
	if was == now || IdentityOf(c).Admin() {
		return true
	}
	forbid(c, "Only an admin can block or unblock an organization; nothing was saved.")
	return false
}

// forbid answers 403 with the error page (JSON to a client asking for it).
func forbid(c *gin.Context, msg string) {
	Logger(c).Info("request refused", "method", c.Request.Method, "path", c.Request.URL.Path, "status", http.StatusForbidden, "actor", actorOf(c))
	Error(c, http.StatusForbidden, msg)
}

// clientKey holds the request's client address: the peer, or from a trusted proxy the address
// it forwarded (the web shell's host guard sets it).
const clientKey = "warden.client"

// SetClientAddr records the request's client address.
func SetClientAddr(c *gin.Context, addr string) { c.Set(clientKey, addr) }

// ClientAddr is the request's client address, for the request log and sign-in limits.
func ClientAddr(c *gin.Context) string { return c.GetString(clientKey) }
