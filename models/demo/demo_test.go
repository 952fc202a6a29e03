package demo_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/resolver"
)

func TestDemoLoads(t *testing.T) {
	d, err := demo.Document()
	if err != nil {
		t.Fatalf("the demo has problems:\n%v", err)
	}
	sizes := map[string][2]int{
		"servers":       {len(d.Servers), 5},
		"organizations": {len(d.Organizations), 2},
		"teams":         {len(d.Teams), 6},
		"keys":          {len(d.Keys), 25},
		"access groups": {len(d.AccessGroups), 3},
		"toolsets":      {len(d.Toolsets), 4},
		"end users":     {len(d.EndUsers), 4},
		"agents":        {len(d.Agents), 4},
	}
	for what, s := range sizes {
		if s[0] != s[1] {
			t.Errorf("%d %s, want %d", s[0], what, s[1])
		}
	}

	var public, disabled []string
	for _, s := range d.Servers {
		if s.Public {
			public = append(public, s.Name)
		}
		for _, tool := range s.DisabledTools {
			disabled = append(disabled, s.Name+"/"+tool)
		}
		if len(s.Tools) < 3 {
			t.Errorf("server %s has only %d tools", s.Name, len(s.Tools))
		}
		for _, tool := range s.Tools {
			if tool.Description == "" || tool.InputSchema == "" {
				t.Errorf("tool %s/%s lacks a description or an input schema", s.Name, tool.Name)
			}
		}
	}
	if !reflect.DeepEqual(public, []string{"docs"}) {
		t.Errorf("public servers: %v, want [docs]", public)
	}
	if len(disabled) < 2 || slices.Contains(disabled, "github/delete_repo") {
		t.Errorf("disabled tools: %v; want a few, but not github/delete_repo", disabled)
	}

	acme, globex := d.Organization("acme"), d.Organization("globex")
	if acme == nil || acme.MCP == nil || len(acme.MCP.AccessGroups) == 0 || len(acme.MCP.Toolsets) == 0 {
		t.Errorf("acme should restrict through access groups and toolsets: %+v", acme)
	}
	if acme != nil && !slices.Contains(acme.DenyTools, "github/delete_repo") {
		t.Errorf("acme should deny github/delete_repo: %v", acme.DenyTools)
	}
	if globex == nil || globex.MCP != nil {
		t.Errorf("globex should not restrict: %+v", globex)
	}

	var restricting, open int
	for _, tm := range d.Teams {
		if tm.MCP != nil {
			restricting++
		} else {
			open++
		}
	}
	if restricting == 0 || open == 0 {
		t.Errorf("want some teams restricting and some not: %d and %d", restricting, open)
	}

	var teamless, noAccess, withAgent, blocked, expiring int
	for _, k := range d.Keys {
		if k.Team == "" && k.Organization != "" {
			teamless++
		}
		if k.MCP.IsEmpty() {
			noAccess++
		}
		if k.Agent != "" {
			withAgent++
		}
		if k.Blocked {
			blocked++
		}
		if k.ExpiresAt != "" {
			expiring++
		}
	}
	if teamless < 2 || noAccess != 1 || withAgent < 2 || blocked != 1 || expiring != 1 {
		t.Errorf("keys: %d teamless, %d with mcp: {}, %d bound to agents, %d blocked, %d expiring",
			teamless, noAccess, withAgent, blocked, expiring)
	}
}

func TestDemoRoundTrips(t *testing.T) {
	d, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	out, err := models.EncodeDocument(d)
	if err != nil {
		t.Fatal(err)
	}
	again, err := models.LoadDocument(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	d.Normalize()
	if !reflect.DeepEqual(d, again) {
		t.Errorf("round trip changed the demo:\n%s", out)
	}
}

func TestDocumentReturnsFreshCopies(t *testing.T) {
	a, _ := demo.Document()
	a.Keys[0].Name = "changed"
	b, _ := demo.Document()
	if b.Keys[0].Name == "changed" {
		t.Error("Document shares state between calls")
	}
}

// The demo keeps its own guards (the console seeds it, and `warden import` would refuse it
// otherwise), and has one of each form.
func TestDemoKeepsItsGuards(t *testing.T) {
	d, err := demo.Document()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Guards) != 2 || d.Guards[0].IsForbid() == d.Guards[1].IsForbid() {
		t.Fatalf("demo guards: %+v", d.Guards)
	}
	if probs := resolver.GuardProblems(d); probs != nil {
		t.Errorf("the demo breaks its guards:\n%v", probs)
	}
}
