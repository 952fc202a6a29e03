package views

import (
	"context"

	"github.com/warden-mcp/warden/models"
)

// viewerKey carries the signed-in identity in the request context, so the layout's header can
// say who is signed in without every page's props repeating it.
type viewerKey struct{}

// WithViewer returns ctx carrying the identity the page is rendered for.
func WithViewer(ctx context.Context, id *models.Identity) context.Context {
	return context.WithValue(ctx, viewerKey{}, id)
}

// viewerOf is the identity a page is rendered for, nil when nobody is signed in.
func viewerOf(ctx context.Context) *models.Identity {
	id, _ := ctx.Value(viewerKey{}).(*models.Identity)
	return id
}

// roleLabel says a role in words for the header and the users page.
func roleLabel(id *models.Identity) string {
	switch id.Role {
	case models.RoleAdmin:
		return "admin"
	case models.RoleOrgAdmin:
		return "org admin of " + joinShort(id.Orgs, 3)
	}
	return "viewer (read-only)"
}

// orgAdminsOf names, after "an admin", who else may save what belongs to orgs.
func orgAdminsOf(adminOnly bool, orgs []string) string {
	if adminOnly || len(orgs) == 0 {
		return ""
	}
	return " or an org admin of " + joinShort(orgs, 3)
}

// orgs is the organization the key belongs to (none: only an admin changes it).
func (p KeyDetailProps) orgs() []string {
	if p.Organization == "" {
		return nil
	}
	return []string{p.Organization}
}
