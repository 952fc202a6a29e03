package models_test

import (
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
)

const refsDoc = `
version: 1
servers:
  - {name: github, tools: [create_issue, list_issues, delete_repo], disabled_tools: [delete_repo]}
  - {name: jira, tools: [search]}
access_groups:
  - {name: dev, servers: [github, jira]}
toolsets:
  - {name: ro, tools: [github/list_issues, jira/search]}
organizations:
  - name: acme
    mcp: {servers: [github], access_groups: [dev], toolsets: [ro], tools: {github: [list_issues, delete_repo]}}
    deny_tools: [github/create_issue]
teams:
  - {name: web, organization: acme, mcp: {access_groups: [dev]}}
keys:
  - {name: k, team: web, deny_tools: [github/delete_repo]}
`

func load(t *testing.T) *models.Document {
	t.Helper()
	d, err := models.LoadDocument([]byte(refsDoc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Every removal leaves a valid document and says what else it changed.
func TestRemovalsLeaveNoDanglingReference(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(d *models.Document) ([]string, error)
		want []string
	}{
		{"server", func(d *models.Document) ([]string, error) { return d.RemoveServer("github") }, []string{
			"access group dev: server removed", "toolset ro: 1 tool removed", "organization acme: 1 tool removed from deny_tools",
			"organization acme: its tool limit on github removed", "key k: 1 tool removed from deny_tools", "organization acme: server removed from its MCP access"}},
		{"tools", func(d *models.Document) ([]string, error) {
			return d.SetServerTools("github", []models.ToolDoc{{Name: "create_issue"}, {Name: "new"}})
		}, []string{
			"server github: 1 tool removed from disabled_tools", "toolset ro: 1 tool removed",
			"organization acme: 2 tools removed from its tool limit on github", "key k: 1 tool removed from deny_tools"}},
		{"group", func(d *models.Document) ([]string, error) { return d.RemoveAccessGroup("dev") }, []string{
			"organization acme: access group removed from its MCP access", "team web: access group removed from its MCP access"}},
		{"toolset", func(d *models.Document) ([]string, error) { return d.RemoveToolset("ro") }, []string{
			"organization acme: toolset removed from its MCP access"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := load(t)
			got, err := c.edit(d)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("said\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if probs := d.Validate(); len(probs) > 0 {
				t.Errorf("dangling: %v", probs)
			}
		})
	}
	if _, err := load(t).RemoveServer("nosuch"); models.ErrorCode(err) != models.ENotFound {
		t.Errorf("unknown server: %v", err)
	}
}

func TestSetEntityJSON(t *testing.T) {
	d := load(t)
	if err := d.SetEntityJSON(models.KindAccessGroup, "dev", `{"name":"dev","servers":["jira"]}`); err != nil || len(d.AccessGroup("dev").Servers) != 1 {
		t.Fatalf("replace: %v %+v", err, d.AccessGroup("dev"))
	}
	if err := d.SetEntityJSON(models.KindToolset, "new", `{"name":"new"}`); err != nil || d.Toolset("new") == nil {
		t.Fatalf("insert: %v", err)
	}
	if err := d.SetEntityJSON(models.KindTeam, "web", ""); err != nil || len(d.Teams) != 0 {
		t.Fatalf("remove: %v", err)
	}
	if err := d.SetEntityJSON("planet", "x", "{}"); models.ErrorCode(err) != models.EInvalid {
		t.Errorf("unknown kind: %v", err)
	}
	if err := d.SetEntityJSON(models.KindTeam, "x", "{"); models.ErrorCode(err) != models.EInvalid {
		t.Errorf("bad JSON: %v", err)
	}
}
