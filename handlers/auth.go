package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/password"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Auth signs people in and out of the console and says who each request acts for: a session
// cookie from a browser, or a personal API token (Authorization: Bearer) from a script.
type Auth struct {
	Store *store.Store
	// Secure marks the session cookie Secure (and names it with the __Host- prefix, which
	// browsers accept only on a Secure, host-only, Path=/ cookie): the console is reached over
	// https (the public URL's scheme).
	Secure bool
	// IdleTimeout ends a session unused for that long; MaxAge ends every session that long
	// after sign-in, however active (--session-idle, --session-max).
	IdleTimeout, MaxAge time.Duration
	// Limits slow and refuse guessing.
	Limits LoginLimits
	// SSO, when set, offers "Sign in with …" on the sign-in page.
	SSO *OIDC
}

// LoginLimits bound failed sign-ins, counted in the database so every replica sees them.
type LoginLimits struct {
	// PerAccount and PerAddress failures within Window refuse further attempts for that
	// account (whether it exists or not: refusing only real ones would tell which exist) or
	// from that address, until the window has passed.
	PerAccount, PerAddress int
	Window                 time.Duration
	// Delay is added to the answer of the n-th failure: Delay × 2^(n−1), at most MaxDelay.
	Delay, MaxDelay time.Duration
}

// DefaultLoginLimits: five guesses at an account and twenty from an address every 15 minutes,
// each failure answered a little later than the one before.
var DefaultLoginLimits = LoginLimits{PerAccount: 5, PerAddress: 20, Window: 15 * time.Minute,
	Delay: 250 * time.Millisecond, MaxDelay: 4 * time.Second}

// Default session lifetimes (serve's --session-idle and --session-max).
const (
	DefaultSessionIdle = 12 * time.Hour
	DefaultSessionMax  = 7 * 24 * time.Hour
)

// TokenPrefix starts every personal API token, so a leaked one is easy to spot and tell from
// a key secret (wdn_).
const TokenPrefix = "wdt_"

// badCredentials is the one answer to a wrong username or a wrong password.
const badCredentials = "The username or password is not right."

func (a *Auth) cookieName() string {
	if a.Secure {
		return models.SecureSessionCookie
	}
	return models.SessionCookie
}

// LoginPage is GET /login.
func (a *Auth) LoginPage(c *gin.Context) {
	if IdentityOf(c) != nil {
		c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
		return
	}
	a.renderLogin(c, http.StatusOK, views.LoginProps{Next: safeNext(c.Query("next")), Flash: popFlash(c)})
}

func (a *Auth) renderLogin(c *gin.Context, status int, p views.LoginProps) {
	if a.SSO != nil {
		p.SSOLabel = a.SSO.Label()
	}
	c.Header("Cache-Control", "no-store")
	render(c, status, views.LoginPage(p))
}

// Login is POST /login: fields username and password (and next, where to go after). Failures
// are slowed (LoginLimits.Delay) and limited per account and per client address; the answer
// never says which of username and password was wrong.
func (a *Auth) Login(c *gin.Context) {
	ctx := c.Request.Context()
	_, refused := refusedForm(c, "username", "password", "next")
	username, pw, next := strings.TrimSpace(c.PostForm("username")), c.PostForm("password"), safeNext(c.PostForm("next"))
	p := views.LoginProps{Username: username, Next: next}
	if refused != "" {
		p.Error = refused
		a.renderLogin(c, http.StatusUnprocessableEntity, p)
		return
	}
	if username == "" || pw == "" {
		p.Error = "Enter your username and password."
		a.renderLogin(c, http.StatusUnprocessableEntity, p)
		return
	}
	l := a.limits()
	client := ClientAddr(c)
	account, addr := "user:"+username, "addr:"+client
	// The attempt counts before its password is checked (see BeginLoginAttempt): counts
	// include this one, so an account may make PerAccount attempts in the window.
	counts, attempt, err := a.Store.BeginLoginAttempt(ctx, l.Window, account, addr)
	if err != nil {
		fail(c, err)
		return
	}
	if counts[account] > int64(l.PerAccount) || counts[addr] > int64(l.PerAddress) {
		if err := a.Store.ForgetLoginAttempt(ctx, attempt); err != nil {
			fail(c, err)
			return
		}
		Logger(c).Warn("sign-in refused: too many failures", "username", username, "client", client)
		p.Error = fmt.Sprintf("Too many failed sign-ins for this account or from this address. Try again in %s.", l.Window)
		a.renderLogin(c, http.StatusTooManyRequests, p)
		return
	}
	user, err := a.Store.UserByName(ctx, username)
	hash := ""
	switch {
	case err == nil:
		hash = user.PasswordHash
	case models.ErrorCode(err) != models.ENotFound:
		fail(c, err)
		return
	}
	// Verify runs the same argon2id work with no user or no password, so the time taken does
	// not tell whether the username exists.
	ok, err := password.Verify(ctx, pw, hash)
	if err != nil {
		fail(c, err)
		return
	}
	if !ok {
		if err := a.Store.RecordLoginFailure(ctx, username, client); err != nil {
			fail(c, err)
			return
		}
		n := max(counts[account], counts[addr])
		time.Sleep(min(l.Delay<<min(n-1, 16), l.MaxDelay))
		Logger(c).Info("sign-in failed", "username", username, "client", client)
		p.Error = badCredentials
		a.renderLogin(c, http.StatusUnauthorized, p)
		return
	}
	// A success forgets the account's failures, and its own attempt from the address's count.
	if err := a.Store.ClearLoginFailures(ctx, account); err != nil {
		fail(c, err)
		return
	}
	if err := a.Store.ForgetLoginAttempt(ctx, attempt); err != nil {
		fail(c, err)
		return
	}
	a.StartSession(c, user, "password", next)
}

func (a *Auth) limits() LoginLimits {
	if a.Limits.Window == 0 {
		return DefaultLoginLimits
	}
	return a.Limits
}

// StartSession signs the user in: a new session (its id random, 256 bits, only its hash
// stored), its cookie, an audit event saying how, and a redirect to next. Any session the
// browser had before is ended (no session fixation).
func (a *Auth) StartSession(c *gin.Context, u *models.User, how, next string) {
	ctx := c.Request.Context()
	if old, err := c.Cookie(a.cookieName()); err == nil && old != "" {
		_ = a.Store.DeleteSession(ctx, models.HashSecret(old))
	}
	id := randomToken()
	if err := a.Store.CreateSession(ctx, u.ID, models.HashSecret(id), time.Now().Add(a.maxAge())); err != nil {
		fail(c, err)
		return
	}
	if err := a.Store.RecordSignIn(ctx, u.Username, "sign_in", "signed in with "+how+" from "+ClientAddr(c)); err != nil {
		fail(c, err)
		return
	}
	Logger(c).Info("signed in", "username", u.Username, "with", how)
	a.setCookie(c, id, int(a.maxAge().Seconds()))
	c.Redirect(http.StatusSeeOther, next)
}

func (a *Auth) setCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: a.cookieName(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.Secure, SameSite: http.SameSiteLaxMode})
}

func (a *Auth) maxAge() time.Duration {
	if a.MaxAge > 0 {
		return a.MaxAge
	}
	return DefaultSessionMax
}

// Logout is POST /logout: it ends the session (in the database, so the cookie is worthless
// even if kept) and goes to the sign-in page.
func (a *Auth) Logout(c *gin.Context) {
	if v, err := c.Cookie(a.cookieName()); err == nil && v != "" {
		if err := a.Store.DeleteSession(c.Request.Context(), models.HashSecret(v)); err != nil {
			fail(c, err)
			return
		}
	}
	if id := IdentityOf(c); id != nil {
		_ = a.Store.RecordSignIn(c.Request.Context(), id.Username, "sign_out", "signed out from "+ClientAddr(c))
	}
	a.setCookie(c, "", -1)
	setFlash(c, "You are signed out.")
	redirect(c, "/login")
}

// ErrNotSignedIn is Identify's answer to a request that carries no credentials at all.
var ErrNotSignedIn = errors.New("not signed in")

// Identify finds who the request acts for: a bearer token (personal API token) or the session
// cookie. Neither: ErrNotSignedIn. A token or session that does not authenticate (unknown,
// revoked, expired) is an ENotFound error saying so.
func (a *Auth) Identify(c *gin.Context) (*models.Identity, error) {
	ctx := c.Request.Context()
	if h := c.GetHeader("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !strings.HasPrefix(tok, TokenPrefix) {
			return nil, models.Errorf(models.ENotFound, "the Authorization header is not a Warden API token (Bearer %s…)", TokenPrefix)
		}
		t, u, err := a.Store.TokenUser(ctx, models.HashSecret(tok))
		if err != nil {
			return nil, err
		}
		id := u.Identity()
		id.Token = t.Name
		return id, nil
	}
	v, err := c.Cookie(a.cookieName())
	if err != nil || v == "" {
		return nil, ErrNotSignedIn
	}
	sess, u, err := a.Store.SessionUser(ctx, models.HashSecret(v), a.idle())
	if err != nil {
		return nil, err
	}
	// Idle expiry counts from the last use; recording it once a minute is precise enough and
	// spares a write per request.
	if time.Since(sess.LastSeenAt) >= time.Minute {
		if err := a.Store.TouchSession(ctx, sess.ID); err != nil {
			return nil, err
		}
	}
	return u.Identity(), nil
}

func (a *Auth) idle() time.Duration {
	if a.IdleTimeout > 0 {
		return a.IdleTimeout
	}
	return DefaultSessionIdle
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// safeNext keeps a post-sign-in destination on the console itself: a path, never another site
// ("//evil.example", "/\evil.example" and "https://…" all become "/").
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	return next
}
