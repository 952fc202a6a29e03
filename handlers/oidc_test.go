package handlers

import (
	"slices"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
)

func TestParseRoleRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RoleRule
	}{
		{"admin=warden-admins", RoleRule{Role: models.RoleAdmin, Group: "warden-admins"}},
		{"viewer=everyone", RoleRule{Role: models.RoleViewer, Group: "everyone"}},
		{"org_admin:acme=acme-admins", RoleRule{Role: models.RoleOrgAdmin, Org: "acme", Group: "acme-admins"}},
		// The group is everything after the first "=", as the provider spells it.
		{"viewer=/warden/Read Only=yes:x", RoleRule{Role: models.RoleViewer, Group: "/warden/Read Only=yes:x"}},
		{" admin =Warden Admins", RoleRule{Role: models.RoleAdmin, Group: "Warden Admins"}},
	} {
		got, err := ParseRoleRule(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRoleRule(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if err == nil {
			if again, err := ParseRoleRule(got.String()); err != nil || again != got {
				t.Errorf("%q does not read back: %+v, %v", got.String(), again, err)
			}
		}
	}
	for in, msg := range map[string]string{
		"admin":                 "want ROLE=GROUP",
		"admin=":                "want ROLE=GROUP",
		"=group":                "want ROLE=GROUP",
		"owner=x":               `unknown role "owner"`,
		"org_admin=acme-admins": "org_admin needs its organization",
		"org_admin:=x":          "org_admin needs its organization",
		"viewer:acme=x":         "only org_admin names an organization",
	} {
		if _, err := ParseRoleRule(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseRoleRule(%q) = %v, want an error saying %q", in, err, msg)
		}
	}
}

func TestMapGroups(t *testing.T) {
	var rules []RoleRule
	for _, s := range []string{"viewer=everyone", "org_admin:acme=acme-admins", "org_admin:globex=globex-admins",
		"org_admin:acme=acme-owners", "admin=warden-admins"} {
		r, err := ParseRoleRule(s)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	for _, tc := range []struct {
		groups []string
		role   models.Role
		orgs   []string
		ok     bool
	}{
		{nil, "", nil, false},
		{[]string{"contractors"}, "", nil, false},
		{[]string{"Everyone"}, "", nil, false}, // group names match exactly
		{[]string{"everyone"}, models.RoleViewer, nil, true},
		{[]string{"everyone", "globex-admins"}, models.RoleOrgAdmin, []string{"globex"}, true},
		{[]string{"globex-admins", "acme-owners", "acme-admins"}, models.RoleOrgAdmin, []string{"acme", "globex"}, true},
		{[]string{"acme-admins", "warden-admins", "everyone"}, models.RoleAdmin, nil, true},
	} {
		role, orgs, ok := MapGroups(rules, tc.groups)
		if role != tc.role || !slices.Equal(orgs, tc.orgs) || ok != tc.ok {
			t.Errorf("MapGroups(%v) = %s %v %v; want %s %v %v", tc.groups, role, orgs, ok, tc.role, tc.orgs, tc.ok)
		}
	}
}
