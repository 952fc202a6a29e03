package handlers

// OIDC is single sign-on through an OpenID Connect provider (authorization code flow with PKCE
// and a nonce). Its flow handlers are GET /auth/oidc/login and GET /auth/oidc/callback.
type OIDC struct {
	// Name is the provider's name on the sign-in page ("Okta"); "" says "single sign-on".
	Name string
}

// Label is the sign-in page's button.
func (o *OIDC) Label() string {
	if o.Name == "" {
		return "Sign in with single sign-on"
	}
	return "Sign in with " + o.Name
}
