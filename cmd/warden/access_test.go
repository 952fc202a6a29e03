package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/resolver/gen"
)

// The streamed output is byte for byte what encoding/json makes of resolver.AllAccess, as the
// command printed before it streamed: on a generated document, and on names JSON escapes.
func TestPolicyAccessStreamsTheSameBytes(t *testing.T) {
	small := gen.Generate(gen.Small())
	odd := &models.Document{Version: 1,
		Servers:       []models.ServerDoc{{Name: "s", Tools: []models.ToolDoc{{Name: "<b>&\"x\"\\"}, {Name: "é"}}}, {Name: "t"}},
		Organizations: []models.OrganizationDoc{{Name: "a@b.c"}, {Name: "none", MCP: &models.MCPPermission{}}},
		Teams:         []models.TeamDoc{{Name: "t_1", Organization: "a@b.c"}},
		Keys:          []models.KeyDoc{{Name: "k-1", Team: "t_1"}, {Name: "n", Organization: "none"}},
	}
	empty := &models.Document{Version: 1}
	for name, doc := range map[string]*models.Document{"small": small, "odd": odd, "empty": empty} {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(resolver.Build(doc).AllAccess()); err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(t.TempDir(), "doc.json")
			var b bytes.Buffer
			if err := gen.WriteJSON(&b, doc); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errs := runCLI(t, "policy", "access", "-f", f)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if out != want.String() {
				t.Errorf("streamed output differs from encoding/json's (%d vs %d bytes):\n%.2000s\nwant\n%.2000s", len(out), want.Len(), out, want.String())
			}
		})
	}
}

func TestPolicyAccessFilters(t *testing.T) {
	cfg := gen.Small()
	doc := gen.Generate(cfg)
	var b bytes.Buffer
	if err := gen.WriteJSON(&b, doc); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	all := resolver.Build(doc).AllAccess()
	access := func(args ...string) resolver.AllAccess {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"policy", "access", "-f", f}, args...)...)
		if code != 0 {
			t.Fatalf("access %v: exit %d: %s", args, code, errs)
		}
		var got resolver.AllAccess
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	// Every printed principal has its full access, and exactly the selected ones are printed.
	check := func(got resolver.AllAccess, orgs, teams, keys map[string]bool) {
		t.Helper()
		for kind, c := range map[string]struct {
			got, all map[string]resolver.Access
			want     map[string]bool
		}{"organizations": {got.Organizations, all.Organizations, orgs}, "teams": {got.Teams, all.Teams, teams}, "keys": {got.Keys, all.Keys, keys}} {
			if len(c.got) != len(c.want) {
				t.Errorf("%s: %d printed, want %d", kind, len(c.got), len(c.want))
			}
			for n, a := range c.got {
				if !c.want[n] {
					t.Errorf("%s: %q printed, not selected", kind, n)
				} else if !a.Equal(c.all[n]) {
					t.Errorf("%s: %q: %v, want %v", kind, n, a, c.all[n])
				}
			}
		}
	}
	org := gen.OrgName(1)
	orgTeams, orgKeys := map[string]bool{}, map[string]bool{}
	for _, tm := range doc.Teams {
		if tm.Organization == org {
			orgTeams[tm.Name] = true
		}
	}
	team := ""
	for _, k := range doc.Keys {
		if k.Organization == org {
			orgKeys[k.Name] = true
			if team == "" && k.Team != "" {
				team = k.Team
			}
		}
	}
	if len(orgTeams) == 0 || len(orgKeys) == 0 || team == "" {
		t.Fatalf("%s has %d teams and %d keys; the test needs some", org, len(orgTeams), len(orgKeys))
	}
	check(access("--org", org), map[string]bool{org: true}, orgTeams, orgKeys)

	teamKeys := map[string]bool{}
	for _, k := range doc.Keys {
		if k.Team == team {
			teamKeys[k.Name] = true
		}
	}
	check(access("--team", team), nil, map[string]bool{team: true}, teamKeys)

	key := gen.KeyName(0)
	check(access("--key", key), nil, nil, map[string]bool{key: true})

	// Several flags select the union.
	both := map[string]bool{key: true}
	for k := range teamKeys {
		both[k] = true
	}
	check(access("--key", key, "--team", team), nil, map[string]bool{team: true}, both)

	for _, args := range [][]string{{"--org", "nope"}, {"--team", "nope"}, {"--key", "nope"}} {
		code, _, errs := runCLI(t, append([]string{"policy", "access", "-f", f}, args...)...)
		if code != 2 || !strings.Contains(errs, `unknown`) || !strings.Contains(errs, `"nope"`) {
			t.Errorf("access %v: exit %d: %s", args, code, errs)
		}
	}
}
