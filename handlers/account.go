package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/password"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Account is the signed-in person's own page: their password and personal API tokens. Every
// signed-in user may use it, viewers too: it changes no policy.
type Account struct {
	Store *store.Store
	Auth  *Auth
}

// Show is GET /account.
func (h *Account) Show(c *gin.Context) {
	h.render(c, http.StatusOK, views.AccountProps{}, popFlash(c))
}

func (h *Account) render(c *gin.Context, status int, p views.AccountProps, flash string) {
	id := IdentityOf(c)
	u, err := h.Store.UserByName(c.Request.Context(), id.Username)
	if err != nil {
		fail(c, err)
		return
	}
	toks, err := h.Store.APITokens(c.Request.Context(), u.ID)
	if err != nil {
		fail(c, err)
		return
	}
	p.Layout = views.LayoutProps{Title: "Your account", Nav: "account", NoView: true, Flash: flash}
	p.Identity, p.Local, p.Tokens, p.Now = id, u.PasswordHash != "" || u.OIDCSubject == nil, toks, time.Now()
	c.Header("Cache-Control", "no-store") // a new token is on the page
	render(c, status, views.AccountPage(p))
}

// CreateToken is POST /account/tokens (name, expires_in: a Go duration or "" for never): the
// new token is shown once, on the answer itself, and never again.
func (h *Account) CreateToken(c *gin.Context) {
	if IdentityOf(c).Token != "" {
		forbid(c, "An API token cannot create tokens; sign in to the console to make one.")
		return
	}
	if field, msg := refusedForm(c, "name", "expires_in"); msg != "" {
		h.render(c, http.StatusUnprocessableEntity, views.AccountProps{Error: msg, ErrorField: field}, "")
		return
	}
	name := strings.TrimSpace(c.PostForm("name"))
	var expires *time.Time
	if v := c.PostForm("expires_in"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			h.render(c, http.StatusUnprocessableEntity, views.AccountProps{Error: "expires_in: not a duration: " + v, ErrorField: "expires_in"}, "")
			return
		}
		t := time.Now().Add(d)
		expires = &t
	}
	u, err := h.Store.UserByName(c.Request.Context(), IdentityOf(c).Username)
	if err != nil {
		fail(c, err)
		return
	}
	secret := TokenPrefix + randomToken()
	t := &models.APIToken{UserID: u.ID, Name: name, TokenHash: models.HashSecret(secret), Prefix: secret[:len(TokenPrefix)+6], ExpiresAt: expires}
	if err := h.Store.CreateAPIToken(c.Request.Context(), t, u.Username); err != nil {
		if code := models.ErrorCode(err); code == models.EInvalid || code == models.EConflict {
			h.render(c, statusOf(err), views.AccountProps{Error: "name: " + err.Error(), ErrorField: "name"}, "")
			return
		}
		fail(c, err)
		return
	}
	h.render(c, http.StatusCreated, views.AccountProps{NewToken: secret, NewTokenName: name}, "Token "+name+" created.")
}

// RevokeToken is POST /account/tokens/:id/revoke: the token stops working at once.
func (h *Account) RevokeToken(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		fail(c, models.Errorf(models.ENotFound, "no token %q", c.Param("id")))
		return
	}
	u, err := h.Store.UserByName(c.Request.Context(), IdentityOf(c).Username)
	if err == nil {
		err = h.Store.RevokeAPIToken(c.Request.Context(), u.ID, id, u.Username)
	}
	if err != nil {
		fail(c, err)
		return
	}
	setFlash(c, "Token revoked; it no longer works.")
	redirect(c, "/account")
}

// ChangePassword is POST /account/password (current_password, new_password). It signs the
// user out everywhere, this browser included, and then signs this browser in again.
func (h *Account) ChangePassword(c *gin.Context) {
	ctx := c.Request.Context()
	if IdentityOf(c).Token != "" {
		forbid(c, "An API token cannot change a password.")
		return
	}
	if field, msg := refusedForm(c, "current_password", "new_password"); msg != "" {
		h.render(c, http.StatusUnprocessableEntity, views.AccountProps{Error: msg, ErrorField: field}, "")
		return
	}
	u, err := h.Store.UserByName(ctx, IdentityOf(c).Username)
	if err != nil {
		fail(c, err)
		return
	}
	ok, err := password.Verify(ctx, c.PostForm("current_password"), u.PasswordHash)
	if err != nil {
		fail(c, err)
		return
	}
	if !ok {
		h.render(c, http.StatusUnprocessableEntity, views.AccountProps{Error: "current_password: that is not your current password.", ErrorField: "current_password"}, "")
		return
	}
	pw := c.PostForm("new_password")
	if err := password.Check(pw); err != nil {
		h.render(c, http.StatusUnprocessableEntity, views.AccountProps{Error: "new_password: " + err.Error(), ErrorField: "new_password"}, "")
		return
	}
	hash, err := password.Hash(ctx, pw)
	if err == nil {
		err = h.Store.SetPassword(ctx, u.Username, hash, u.Username)
	}
	if err != nil {
		fail(c, err)
		return
	}
	setFlash(c, "Password changed; every other session of yours is signed out.")
	h.Auth.StartSession(c, u, "a new password", "/account")
}
