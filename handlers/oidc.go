package handlers

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
)

// OIDC is single sign-on through an OpenID Connect provider (authorization code flow with PKCE
// and a nonce). Its flow handlers are Auth.OIDCLogin (GET /auth/oidc/login) and
// Auth.OIDCCallback (GET /auth/oidc/callback). Build it with NewOIDC.
type OIDC struct {
	// Name is the provider's name on the sign-in page ("Okta"); "" says "single sign-on".
	Name string

	issuer      string
	groupsClaim string
	rules       []RoleRule
	oauth       oauth2.Config
	verifier    *oidc.IDTokenVerifier
	client      *http.Client
	// flows bounds the sign-ins one address may start (see flowLimiter).
	flows flowLimiter
}

// OIDCConfig is how Warden talks to the OpenID Connect provider (serve's --oidc-* flags).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as its discovery document says it
	// ("https://acme.okta.com", "https://keycloak.example.com/realms/acme").
	Issuer string
	// ClientID and ClientSecret are Warden's registration at the provider.
	ClientID, ClientSecret string
	// RedirectURL is where the provider sends the browser back: the console's public URL +
	// OIDCCallbackPath, registered at the provider.
	RedirectURL string
	// Name is the provider's name on the sign-in button ("" : "single sign-on").
	Name string
	// Scopes asked for; "openid" is always included (nil: DefaultOIDCScopes).
	Scopes []string
	// GroupsClaim names the ID token claim that lists the user's groups ("": "groups").
	GroupsClaim string
	// Roles map groups to roles (ParseRoleRule); a user in none of the groups is refused.
	Roles []RoleRule
	// HTTPClient makes the requests to the provider (nil: one with a 15-second timeout).
	HTTPClient *http.Client
}

// Paths of the single sign-on flow.
const (
	OIDCLoginPath    = "/auth/oidc/login"
	OIDCCallbackPath = "/auth/oidc/callback"
)

// DefaultOIDCScopes are the scopes asked for unless configured: the ID token then carries the
// username, e-mail address and groups on providers that release them by scope (Keycloak, Dex,
// Okta with a groups claim set up).
var DefaultOIDCScopes = []string{oidc.ScopeOpenID, "profile", "email", "groups"}

// oidcFlowMaxAge is how long a browser may spend at the provider between the redirect and the
// callback: enough to type a password and answer a second factor, short enough that a state
// left in a history or a log is soon worthless.
const oidcFlowMaxAge = 10 * time.Minute

// NewOIDC discovers the provider (its discovery document names the endpoints and the key set)
// and returns the single sign-on it configures. An unreachable issuer, or one whose discovery
// document names another issuer, is an error saying so: Warden does not start half-configured.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("the issuer URL is required (--oidc-issuer)")
	case cfg.ClientID == "":
		return nil, errors.New("the client id is required (--oidc-client-id)")
	case cfg.ClientSecret == "":
		return nil, errors.New("the client secret is required (env WARDEN_OIDC_CLIENT_SECRET)")
	case len(cfg.Roles) == 0:
		return nil, errors.New("map at least one group to a role (--oidc-role ROLE=GROUP); without one nobody could sign in")
	}
	if u, err := url.Parse(cfg.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("the issuer %q is not an http(s) URL", cfg.Issuer)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), 15*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(dctx, cfg.Issuer)
	if err != nil {
		var mismatch *oidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			return nil, fmt.Errorf("the discovery document of %q names the issuer %q: set --oidc-issuer to exactly the provider's issuer", mismatch.Provided, mismatch.Discovered)
		}
		return nil, fmt.Errorf("discover the OpenID provider at %s/.well-known/openid-configuration: %w", strings.TrimSuffix(cfg.Issuer, "/"), err)
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = DefaultOIDCScopes
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	claim := cfg.GroupsClaim
	if claim == "" {
		claim = "groups"
	}
	return &OIDC{
		Name:        cfg.Name,
		issuer:      cfg.Issuer,
		groupsClaim: claim,
		rules:       slices.Clone(cfg.Roles),
		client:      client,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: provider.Endpoint(), Scopes: scopes},
		// The verifier checks the signature against the provider's published keys (fetched
		// again when a token names a key not seen yet: rotation), the issuer, that the
		// audience includes our client id, and the expiry. Its context only carries the
		// HTTP client for those key fetches.
		verifier: provider.VerifierContext(oidc.ClientContext(context.Background(), client), &oidc.Config{ClientID: cfg.ClientID}),
	}, nil
}

// Label is the sign-in page's button.
func (o *OIDC) Label() string {
	if o.Name == "" {
		return "Sign in with single sign-on"
	}
	return "Sign in with " + o.Name
}

// providerName names the provider in messages.
func (o *OIDC) providerName() string {
	if o.Name == "" {
		return "the identity provider"
	}
	return o.Name
}

// actor is the audit log's actor of the changes single sign-on makes to users: the provider
// decided them (its groups), not a person in the console.
func (o *OIDC) actor() string { return "single sign-on (" + o.issuer + ")" }

// RoleRule gives the members of a provider group a console role; an org_admin rule names the
// organization they administer.
type RoleRule struct {
	Role  models.Role
	Org   string
	Group string
}

func (r RoleRule) String() string {
	if r.Role == models.RoleOrgAdmin {
		return string(r.Role) + ":" + r.Org + "=" + r.Group
	}
	return string(r.Role) + "=" + r.Group
}

// ParseRoleRule reads one --oidc-role: ROLE=GROUP, where ROLE is admin, viewer or
// org_admin:ORGANIZATION. The group is everything after the first "=", as the provider spells
// it (spaces, slashes and colons included: "/warden/admins", "Warden Admins").
func ParseRoleRule(s string) (RoleRule, error) {
	role, group, ok := strings.Cut(s, "=")
	role = strings.TrimSpace(role)
	if !ok || role == "" || group == "" {
		return RoleRule{}, fmt.Errorf("role mapping %q: want ROLE=GROUP, e.g. admin=warden-admins or org_admin:acme=acme-admins", s)
	}
	name, org, hasOrg := strings.Cut(role, ":")
	r, err := models.ParseRole(name)
	if err != nil {
		return RoleRule{}, fmt.Errorf("role mapping %q: %v", s, err)
	}
	switch {
	case r == models.RoleOrgAdmin && (!hasOrg || org == ""):
		return RoleRule{}, fmt.Errorf("role mapping %q: org_admin needs its organization: org_admin:ORGANIZATION=GROUP", s)
	case r != models.RoleOrgAdmin && hasOrg:
		return RoleRule{}, fmt.Errorf("role mapping %q: only org_admin names an organization (%s=GROUP)", s, r)
	}
	return RoleRule{Role: r, Org: org, Group: group}, nil
}

// MapGroups is the role the groups give and, for an org_admin, the organizations: the most
// powerful role any group maps to wins (admin, then org_admin, then viewer), and an org_admin
// administers every organization its groups name. ok is false when no group maps to a role.
func MapGroups(rules []RoleRule, groups []string) (role models.Role, orgs []string, ok bool) {
	best := len(models.Roles)
	for _, r := range rules {
		if !slices.Contains(groups, r.Group) {
			continue
		}
		rank := slices.Index(models.Roles, r.Role)
		if rank < best {
			best = rank
		}
		if r.Role == models.RoleOrgAdmin && !slices.Contains(orgs, r.Org) {
			orgs = append(orgs, r.Org)
		}
	}
	if best == len(models.Roles) {
		return "", nil, false
	}
	role = models.Roles[best]
	if role != models.RoleOrgAdmin {
		orgs = nil
	}
	slices.Sort(orgs)
	return role, orgs, true
}

// stateCookie binds a sign-in in progress to the browser that started it: a callback whose
// state is not this browser's (login CSRF: someone else's code pushed at us) is refused.
func (a *Auth) stateCookie() string {
	if a.Secure {
		return "__Host-warden_oidc_state"
	}
	return "warden_oidc_state"
}

func (a *Auth) setStateCookie(c *gin.Context, value string, maxAge int) {
	// Lax, not Strict: the callback is a top-level navigation from the provider's site, which
	// Strict would send without the cookie.
	http.SetCookie(c.Writer, &http.Cookie{Name: a.stateCookie(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.Secure, SameSite: http.SameSiteLaxMode})
}

// OIDCLogin is GET /auth/oidc/login (?next=PATH): it starts a sign-in and sends the browser to
// the provider. The state (stored hashed, with the nonce, the PKCE verifier and next, so the
// callback may reach another replica) is also set in a short-lived cookie.
func (a *Auth) OIDCLogin(c *gin.Context) {
	o := a.SSO
	if !o.flows.allow(ClientAddr(c), time.Now()) {
		Logger(c).Warn("single sign-on refused: too many started", "client", ClientAddr(c))
		c.Header("Retry-After", "3")
		Error(c, http.StatusTooManyRequests, "Too many sign-ins were started from this address; wait a few seconds and try again.")
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	flow := models.OIDCFlow{StateHash: models.HashSecret(state), Nonce: nonce, Verifier: verifier, NextPath: safeNext(c.Query("next"))}
	if err := a.Store.BeginOIDCFlow(c.Request.Context(), flow, oidcFlowMaxAge); err != nil {
		fail(c, err)
		return
	}
	a.setStateCookie(c, state, int(oidcFlowMaxAge.Seconds()))
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// OIDCCallback is GET /auth/oidc/callback: the provider's answer. It checks the state against
// this browser's cookie and the stored flow (once only), exchanges the code with the PKCE
// verifier, verifies the ID token (signature, issuer, audience, expiry, and our nonce), maps
// its groups to a role, creates or updates the user, and signs them in.
func (a *Auth) OIDCCallback(c *gin.Context) {
	o := a.SSO
	ctx := c.Request.Context()
	q := c.Request.URL.Query()
	state := q.Get("state")
	cookie, _ := c.Cookie(a.stateCookie())
	a.setStateCookie(c, "", -1)
	c.Header("Cache-Control", "no-store")
	log := Logger(c)
	refuse := func(status int, msg string, args ...any) {
		log.Info("single sign-on refused", append([]any{"status", status, "reason", msg, "client", ClientAddr(c)}, args...)...)
		Error(c, status, msg)
	}
	// The flow is taken (and so ended) whatever the answer: a state serves one callback.
	var flow *models.OIDCFlow
	if state != "" {
		f, err := a.Store.TakeOIDCFlow(ctx, models.HashSecret(state), oidcFlowMaxAge)
		switch {
		case err == nil:
			flow = f
		case models.ErrorCode(err) != models.ENotFound:
			fail(c, err)
			return
		}
	}
	switch {
	case state == "":
		refuse(http.StatusBadRequest, "The answer from "+o.providerName()+" has no state: start again from the sign-in page.")
		return
	case cookie == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(state)) != 1:
		refuse(http.StatusBadRequest, "This sign-in was not started in this browser (or its cookie expired): start again from the sign-in page.")
		return
	case flow == nil:
		refuse(http.StatusBadRequest, "This sign-in was already used or took longer than "+oidcFlowMaxAge.String()+": start again from the sign-in page.")
		return
	case q.Get("error") != "":
		// Shown only as the answer to this browser's own sign-in (checked above): a link
		// carrying a made-up error_description cannot put words on Warden's pages.
		e := q.Get("error")
		msg := o.providerName() + " did not sign you in (" + truncate(e, 64) + ")"
		if d := q.Get("error_description"); d != "" {
			msg += ": " + truncate(d, 300)
		}
		status := http.StatusBadGateway
		if e == "access_denied" {
			status = http.StatusForbidden
		}
		refuse(status, msg+". Start again from the sign-in page.")
		return
	case q.Get("code") == "":
		refuse(http.StatusBadRequest, "The answer from "+o.providerName()+" has no authorization code: start again from the sign-in page.")
		return
	}

	pctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.client), 20*time.Second)
	defer cancel()
	tok, err := o.oauth.Exchange(pctx, q.Get("code"), oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		msg := err.Error()
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			msg = re.ErrorCode
			if re.ErrorDescription != "" {
				msg += ": " + re.ErrorDescription
			}
		}
		refuse(http.StatusBadGateway, o.providerName()+" did not accept the sign-in code ("+msg+"). Start again from the sign-in page.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		refuse(http.StatusBadGateway, o.providerName()+" answered without an ID token; is the openid scope allowed for Warden's client?")
		return
	}
	idt, err := o.verifier.Verify(pctx, raw)
	if err != nil {
		refuse(http.StatusUnauthorized, "The ID token from "+o.providerName()+" is not valid: "+err.Error()+".")
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		refuse(http.StatusUnauthorized, "The ID token from "+o.providerName()+" was not issued for this sign-in (its nonce differs).")
		return
	}
	claims, err := o.readClaims(idt)
	if err != nil {
		refuse(http.StatusUnauthorized, "The ID token from "+o.providerName()+" cannot be read: "+err.Error()+".")
		return
	}
	user, err := a.oidcUser(ctx, idt, claims)
	var r *ssoRefusal
	if errors.As(err, &r) {
		refuse(r.status, r.msg, "subject", idt.Subject)
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	a.StartSession(c, user, "single sign-on", flow.NextPath)
}

// idClaims are the claims of the ID token Warden reads beyond the verified registered ones.
type idClaims struct {
	Username, Email string
	Groups          []string
	// authorizedParty is azp: with several audiences it must be us (OpenID Connect Core 3.1.3.7).
	authorizedParty string
}

// username is the Warden username the claims ask for, lower-cased: preferred_username, else
// email; from names the claim it came from.
func (cl idClaims) username() (name, from string) {
	if name = strings.ToLower(strings.TrimSpace(cl.Username)); name != "" {
		return name, "preferred_username"
	}
	return strings.ToLower(strings.TrimSpace(cl.Email)), "email"
}

func (o *OIDC) readClaims(idt *oidc.IDToken) (idClaims, error) {
	var all map[string]json.RawMessage
	if err := idt.Claims(&all); err != nil {
		return idClaims{}, err
	}
	var out idClaims
	for name, p := range map[string]*string{"preferred_username": &out.Username, "email": &out.Email, "azp": &out.authorizedParty} {
		if v, ok := all[name]; ok && string(v) != "null" {
			if err := json.Unmarshal(v, p); err != nil {
				return idClaims{}, fmt.Errorf("the %s claim is not a string", name)
			}
		}
	}
	if len(idt.Audience) > 1 && out.authorizedParty != o.oauth.ClientID {
		return idClaims{}, fmt.Errorf("it has several audiences and its authorized party (azp) is %q, not Warden's client id", out.authorizedParty)
	}
	// A group list, or one group as a string (some providers flatten a list of one).
	if v, ok := all[o.groupsClaim]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &out.Groups); err != nil {
			var one string
			if json.Unmarshal(v, &one) != nil {
				return idClaims{}, fmt.Errorf("the %q claim is not a list of group names", o.groupsClaim)
			}
			out.Groups = []string{one}
		}
	}
	return out, nil
}

// ssoRefusal is a single sign-on the person is told no to, with the status of the answer.
type ssoRefusal struct {
	status int
	msg    string
}

func (r *ssoRefusal) Error() string { return r.msg }

// oidcUser finds or creates the user of a verified ID token, with the role its groups give. A
// sign-in Warden refuses is an *ssoRefusal; other errors are the store's.
func (a *Auth) oidcUser(ctx context.Context, idt *oidc.IDToken, cl idClaims) (*models.User, error) {
	o := a.SSO
	// The subject is unique only within its issuer (OpenID Connect Core 2).
	subject := idt.Issuer + " " + idt.Subject
	role, orgs, mapped := MapGroups(o.rules, cl.Groups)
	user, err := a.Store.UserByOIDCSubject(ctx, subject)
	switch {
	case err == nil:
	case models.ErrorCode(err) == models.ENotFound:
		user = nil
	default:
		return nil, err
	}
	if !mapped {
		who, _ := cl.username()
		if user != nil {
			who = user.Username
			// Access was taken away at the provider: end what the user still holds here.
			if err := a.revokeOIDCUser(ctx, user); err != nil {
				return nil, err
			}
		}
		who = cmp.Or(who, subject)
		if err := a.Store.RecordSignIn(ctx, who, "sign_in_refused", "single sign-on refused: groups "+groupList(cl.Groups)+" map to no role"); err != nil {
			return nil, err
		}
		msg := "Your groups at " + o.providerName() + " (" + groupList(cl.Groups) + ") give you no role in Warden, so you cannot sign in. Ask an admin to add you to a group that does."
		if user != nil {
			msg += " Your Warden sessions and API tokens have been ended."
		}
		return nil, &ssoRefusal{http.StatusForbidden, msg}
	}
	if user != nil {
		if err := a.Store.UpdateUserRole(ctx, user.Username, role, orgs, o.actor()); err != nil {
			return nil, err
		}
		user.Role, user.Orgs = role, orgs
		return user, nil
	}
	name, from := cl.username()
	if name == "" {
		return nil, &ssoRefusal{http.StatusUnprocessableEntity, "The ID token from " + o.providerName() + " has neither a preferred_username nor an email claim, so Warden cannot name your account; ask for the profile or email scope to be released to Warden."}
	}
	if err := models.ValidUsername(name); err != nil {
		return nil, &ssoRefusal{http.StatusUnprocessableEntity, "Your " + from + " at " + o.providerName() + " cannot be a Warden username: " + err.Error() + "."}
	}
	user, err = a.Store.CreateUser(ctx, store.NewUser{Username: name, Role: role, Orgs: orgs, OIDCSubject: &subject}, o.actor())
	if models.ErrorCode(err) == models.EConflict {
		return nil, &ssoRefusal{http.StatusConflict, "A Warden user named " + name + " already exists and is not linked to your account at " + o.providerName() + ", so your sign-in cannot take that name. An admin must rename or delete that user first."}
	}
	return user, err
}

// revokeOIDCUser ends the sessions and API tokens of a user the provider no longer gives a
// role: whatever they held here would otherwise outlast the access taken from them.
func (a *Auth) revokeOIDCUser(ctx context.Context, u *models.User) error {
	if err := a.Store.DeleteUserSessions(ctx, u.ID); err != nil {
		return err
	}
	toks, err := a.Store.APITokens(ctx, u.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, t := range toks {
		if t.Active(now) {
			if err := a.Store.RevokeAPIToken(ctx, u.ID, t.ID, u.Username); err != nil {
				return err
			}
		}
	}
	return nil
}

// truncate shortens s to at most n bytes (on a rune boundary), marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func groupList(groups []string) string {
	if len(groups) == 0 {
		return "none"
	}
	return strings.Join(groups, ", ")
}
