package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/warden-mcp/warden/handlers"
)

// oidcConfig is serve's single sign-on: the --oidc-* flags, and the client secret from the
// environment only (a flag's value is visible to everyone on the machine, in ps).
type oidcConfig struct {
	issuer, clientID, clientSecret, name, groupsClaim, scopes string
	roles                                                     []handlers.RoleRule
}

// roleFlag collects the repeatable --oidc-role. Given on the command line, the rules replace
// those of WARDEN_OIDC_ROLES (as every flag replaces its variable).
type roleFlag struct {
	rules *[]handlers.RoleRule
	set   bool
}

func (f *roleFlag) String() string {
	if f == nil || f.rules == nil {
		return ""
	}
	var s []string
	for _, r := range *f.rules {
		s = append(s, r.String())
	}
	return strings.Join(s, "; ")
}

func (f *roleFlag) Set(v string) error {
	r, err := handlers.ParseRoleRule(v)
	if err != nil {
		return err
	}
	if !f.set {
		*f.rules, f.set = nil, true
	}
	*f.rules = append(*f.rules, r)
	return nil
}

// flags registers the --oidc-* flags, each defaulting to its WARDEN_OIDC_* variable.
// WARDEN_OIDC_ROLES holds several rules, separated by ";" or new lines.
func (o *oidcConfig) flags(fs *flag.FlagSet, e env) error {
	fs.StringVar(&o.issuer, "oidc-issuer", e.getenv("WARDEN_OIDC_ISSUER"),
		"single sign-on: the OpenID Connect provider's issuer URL; set, it offers \"Sign in with …\" (env WARDEN_OIDC_ISSUER; the client secret is read from env WARDEN_OIDC_CLIENT_SECRET only)")
	fs.StringVar(&o.clientID, "oidc-client-id", e.getenv("WARDEN_OIDC_CLIENT_ID"), "single sign-on: Warden's client id at the provider (env WARDEN_OIDC_CLIENT_ID)")
	fs.StringVar(&o.name, "oidc-name", e.getenv("WARDEN_OIDC_NAME"), "single sign-on: the provider's name on the sign-in button, e.g. Okta (env WARDEN_OIDC_NAME)")
	fs.StringVar(&o.groupsClaim, "oidc-groups-claim", cmp.Or(e.getenv("WARDEN_OIDC_GROUPS_CLAIM"), "groups"),
		"single sign-on: the ID token claim listing the user's groups (env WARDEN_OIDC_GROUPS_CLAIM)")
	fs.StringVar(&o.scopes, "oidc-scopes", cmp.Or(e.getenv("WARDEN_OIDC_SCOPES"), strings.Join(handlers.DefaultOIDCScopes, " ")),
		"single sign-on: scopes asked for, space-separated; openid is always added (env WARDEN_OIDC_SCOPES)")
	o.clientSecret = e.getenv("WARDEN_OIDC_CLIENT_SECRET")
	for _, line := range strings.FieldsFunc(e.getenv("WARDEN_OIDC_ROLES"), func(r rune) bool { return r == ';' || r == '\n' }) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		r, err := handlers.ParseRoleRule(strings.TrimSpace(line))
		if err != nil {
			return fmt.Errorf("WARDEN_OIDC_ROLES: %v", err)
		}
		o.roles = append(o.roles, r)
	}
	fs.Var(&roleFlag{rules: &o.roles}, "oidc-role",
		"single sign-on: give a provider group a role, ROLE=GROUP with ROLE admin, viewer or org_admin:ORGANIZATION; repeat it; the most powerful role of a user's groups wins, a user in no mapped group is refused (env WARDEN_OIDC_ROLES, rules separated by ;)")
	return nil
}

// check says what is missing from a single sign-on set up in part.
func (o *oidcConfig) check() error {
	if o.issuer == "" {
		if o.clientID != "" || len(o.roles) > 0 {
			return errors.New("--oidc-client-id and --oidc-role need --oidc-issuer")
		}
		return nil
	}
	switch {
	case o.clientID == "":
		return errors.New("--oidc-issuer needs --oidc-client-id")
	case o.clientSecret == "":
		return errors.New("--oidc-issuer needs the client secret in env WARDEN_OIDC_CLIENT_SECRET")
	case len(o.roles) == 0:
		return errors.New("--oidc-issuer needs at least one --oidc-role ROLE=GROUP: without one nobody could sign in")
	}
	return nil
}

// open discovers the provider (nil, nil when single sign-on is not configured). The redirect
// URL is the console's public URL + /auth/oidc/callback: register exactly that at the provider.
func (o *oidcConfig) open(ctx context.Context, publicURL *url.URL) (*handlers.OIDC, error) {
	if o.issuer == "" {
		return nil, nil
	}
	redirect := *publicURL
	redirect.Path, redirect.RawQuery = handlers.OIDCCallbackPath, ""
	sso, err := handlers.NewOIDC(ctx, handlers.OIDCConfig{Issuer: o.issuer, ClientID: o.clientID, ClientSecret: o.clientSecret,
		RedirectURL: redirect.String(), Name: o.name, Scopes: strings.Fields(o.scopes), GroupsClaim: o.groupsClaim, Roles: o.roles})
	if err != nil {
		return nil, fmt.Errorf("single sign-on: %w", err)
	}
	return sso, nil
}
