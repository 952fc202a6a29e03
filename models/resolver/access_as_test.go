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

// TeamAccessAs and KeyAccessAs agree with deriving the snapshot and reading the access there.
func TestPropertyTeamAndKeyAccessAs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := Build(drawDoc(t))
		tm := drawTeam(t, rapid.SampledFrom(withDangling(poolTeams, "tx")).Draw(t, "t"))
		got, ok := s.TeamAccessAs(tm)
		_, exists := s.teamIdx[tm.Name]
		want, _ := s.WithTeam(tm).TeamAccess(tm.Name)
		if ok != exists || (ok && !got.Equal(want)) {
			t.Fatalf("TeamAccessAs(%+v) = %v %v, derived %v", tm, got, ok, want)
		}
		k := drawKey(t, rapid.SampledFrom(withDangling(poolKeys, "kx")).Draw(t, "k"))
		got, ok = s.KeyAccessAs(k)
		_, exists = s.keyIdx[k.Name]
		want, _ = s.WithKey(k).KeyAccess(k.Name)
		if ok != exists || (ok && !got.Equal(want)) {
			t.Fatalf("KeyAccessAs(%+v) = %v %v, derived %v", k, got, ok, want)
		}
	})
}
