package models

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// Role is what a console user may do. Permission over MCP access is the resolver's; a role says
// only who may change the policy in the console and its JSON API.
type Role string

// The console roles.
const (
	// RoleAdmin may do everything: every organization, users, servers, imports.
	RoleAdmin Role = "admin"
	// RoleOrgAdmin may change the organizations listed in Identity.Orgs (their settings, their
	// teams, keys and end users) and read everything else.
	RoleOrgAdmin Role = "org_admin"
	// RoleViewer reads everything and may use previews and explanations, writing nothing.
	RoleViewer Role = "viewer"
)

// Roles lists the roles in order of power, as `warden user create --role` accepts them.
var Roles = []Role{RoleAdmin, RoleOrgAdmin, RoleViewer}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", Errorf(EInvalid, "unknown role %q (want admin, org_admin or viewer)", s)
}

// Identity is who a console request acts for: a signed-in user, or a user's personal API token.
type Identity struct {
	// Username is the user's name; Token the name of the personal API token the request
	// authenticated with ("" when signed in with a session).
	Username string
	Token    string
	Role     Role
	// Orgs are the organizations an org_admin administers (empty for other roles).
	Orgs []string
}

// Actor is how the audit log names who made a change: the username, and the token when a script
// made it.
func (i *Identity) Actor() string {
	if i == nil {
		return ""
	}
	if i.Token != "" {
		return i.Username + " (token " + i.Token + ")"
	}
	return i.Username
}

// Admin reports whether the identity may do everything.
func (i *Identity) Admin() bool { return i != nil && i.Role == RoleAdmin }

// Administers reports whether the identity may change the organization named org: an admin may
// change every organization, an org_admin those it was given.
func (i *Identity) Administers(org string) bool {
	if i == nil {
		return false
	}
	switch i.Role {
	case RoleAdmin:
		return true
	case RoleOrgAdmin:
		return slices.Contains(i.Orgs, org)
	}
	return false
}

// MayChange reports whether the identity may change what belongs to the organizations orgs:
// an admin always; an org_admin when it administers every one of them, and never what is
// admin-only or belongs to no organization. It is the one rule behind the console's write
// checks (handlers.allowOrgs, allowAdmin) and what pages offer.
func (i *Identity) MayChange(adminOnly bool, orgs ...string) bool {
	if i.Admin() {
		return true
	}
	if adminOnly || len(orgs) == 0 {
		return false
	}
	for _, o := range orgs {
		if !i.Administers(o) {
			return false
		}
	}
	return true
}

// Writes reports whether the identity may change anything at all (admin or org_admin).
func (i *Identity) Writes() bool {
	return i != nil && (i.Role == RoleAdmin || i.Role == RoleOrgAdmin)
}

// ValidUsername checks a username: 1 to 64 characters of lower-case ASCII letters, digits and
// . _ @ - (so an e-mail address from an identity provider fits), starting with a letter or
// digit. ASCII only: a username is shown as the actor of every change, where a look-alike
// letter from another script would let one person pass for another.
func ValidUsername(name string) error {
	if name == "" || len(name) > 64 {
		return Errorf(EInvalid, "username must be 1 to 64 characters, not %d", len(name))
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '@' || r == '-'):
		default:
			return Errorf(EInvalid, "username %q: character %d (%q) is not allowed; use lower-case letters, digits and . _ @ - (not first)", name, i+1, r)
		}
	}
	return nil
}

// ValidTokenName checks the name a person gives a personal API token: 1 to 64 characters, none
// of them a control or an invisible format character (a name is shown in the audit log as part
// of the actor, where a right-to-left override would make one actor read as another).
func ValidTokenName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 64 {
		return Errorf(EInvalid, "a token's name must be 1 to 64 characters")
	}
	if msg := invisibleProblem(name); msg != "" {
		return Errorf(EInvalid, "a token's name %s", msg)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return Errorf(EInvalid, "a token's name may not contain the control character %U", r)
		}
	}
	return nil
}
