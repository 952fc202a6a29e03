package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/password"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Users is the admins' page of console users: list, add, delete. Every action is admin-only.
type Users struct {
	Store *store.Store
}

// List is GET /users.
func (h *Users) List(c *gin.Context) {
	if !allowAdmin(c) {
		return
	}
	h.render(c, http.StatusOK, views.UsersProps{}, popFlash(c))
}

func (h *Users) render(c *gin.Context, status int, p views.UsersProps, flash string) {
	users, err := h.Store.ListUsers(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	p.Layout = views.LayoutProps{Title: "Users", Nav: "users", NoView: true, Flash: flash}
	p.Users, p.Self = users, IdentityOf(c).Username
	render(c, status, views.UsersPage(p))
}

// Create is POST /users: username, role, organizations (comma-separated, org_admin only),
// password.
func (h *Users) Create(c *gin.Context) {
	if !allowAdmin(c) {
		return
	}
	ctx := c.Request.Context()
	if field, msg := refusedForm(c, "username", "role", "organizations", "password"); msg != "" {
		h.render(c, http.StatusUnprocessableEntity, views.UsersProps{Error: msg, ErrorField: field}, "")
		return
	}
	form := views.NewUserForm{Username: strings.TrimSpace(c.PostForm("username")), Role: c.PostForm("role"), Orgs: c.PostForm("organizations")}
	refuse := func(field, msg string) {
		h.render(c, http.StatusUnprocessableEntity, views.UsersProps{Form: form, Error: field + ": " + msg, ErrorField: field}, "")
	}
	role, err := models.ParseRole(form.Role)
	if err != nil {
		refuse("role", err.Error())
		return
	}
	var orgs []string
	for o := range strings.SplitSeq(form.Orgs, ",") {
		if o = strings.TrimSpace(o); o != "" {
			orgs = append(orgs, o)
		}
	}
	// An organization that does not exist would make an org_admin of nothing: say so now.
	if unknown, err := h.Store.UnknownOrganizations(ctx, orgs); err != nil {
		fail(c, err)
		return
	} else if len(unknown) > 0 {
		refuse("organizations", "unknown organization "+strings.Join(unknown, ", "))
		return
	}
	pw := c.PostForm("password")
	if err := password.Check(pw); err != nil {
		refuse("password", err.Error())
		return
	}
	hash, err := password.Hash(ctx, pw)
	if err != nil {
		fail(c, err)
		return
	}
	_, err = h.Store.CreateUser(ctx, store.NewUser{Username: form.Username, Role: role, Orgs: orgs, PasswordHash: hash}, actorOf(c))
	switch code := models.ErrorCode(err); {
	case err == nil:
	case code == models.EInvalid && strings.Contains(err.Error(), "organization"):
		refuse("organizations", err.Error())
		return
	case code == models.EInvalid || code == models.EConflict:
		refuse("username", err.Error())
		return
	default:
		fail(c, err)
		return
	}
	setFlash(c, "User "+form.Username+" added.")
	redirect(c, "/users")
}

// Delete is POST /users/:name/delete: the user, their sessions and tokens. An admin cannot
// delete themselves here (so the console always keeps one admin who can undo mistakes), nor the
// last admin.
func (h *Users) Delete(c *gin.Context) {
	if !allowAdmin(c) {
		return
	}
	name := c.Param("name")
	if name == IdentityOf(c).Username {
		forbid(c, "You cannot delete yourself; another admin can.")
		return
	}
	if err := h.Store.DeleteUser(c.Request.Context(), name, actorOf(c)); err != nil {
		fail(c, err)
		return
	}
	setFlash(c, "User "+name+" deleted; their sessions and tokens no longer work.")
	redirect(c, "/users")
}
