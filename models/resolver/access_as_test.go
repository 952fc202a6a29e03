package resolver

import (
	"testing"

	"pgregory.net/rapid"
)

// OrganizationAccessAs agrees with deriving the snapshot with the organization's settings
// replaced and reading its access there, for every random document and settings.
func TestPropertyOrganizationAccessAs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := Build(drawDoc(t))
		o := drawOrg(t, rapid.SampledFrom(withDangling(poolOrgs, "ox")).Draw(t, "o"))
		got, ok := s.OrganizationAccessAs(o)
		want, wantOK := s.WithOrganization(o).OrganizationAccess(o.Name)
		if _, exists := s.orgIdx[o.Name]; !exists {
			wantOK = false
		}
		if ok != wantOK || (ok && !got.Equal(want)) {
			t.Fatalf("OrganizationAccessAs(%+v) = %v %v, derived %v %v", o, got, ok, want, wantOK)
		}
	})
}
