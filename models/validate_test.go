package models_test

import (
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
)

// validBase is a small valid document; rows of TestValidateProblems add sections to it.
const validBase = `version: 1
servers:
  - name: github
    url: https://mcp.example.com/github/mcp
    tools: [create_issue, list_issues, delete_repo]
    disabled_tools: [delete_repo]
  - name: jira
    tools: [search]
access_groups: [{name: dev, servers: [github, jira]}]
toolsets: [{name: read-only, tools: [github/list_issues, jira/search]}]
organizations: [{name: acme}, {name: globex}]
teams: [{name: platform, organization: acme}, {name: loose}]
agents: [{name: triage-agent}]
`

// withServers is validBase with its servers, access groups and toolsets replaced.
func withServers(servers string) string {
	_, rest, _ := strings.Cut(validBase, "organizations:")
	return "version: 1\n" + servers + "organizations:" + rest
}

func TestValidBaseIsValid(t *testing.T) {
	mustLoad(t, []byte(validBase))
}

// TestValidateProblems has one row per kind of problem Validate reports.
func TestValidateProblems(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		// version
		{"unsupported version", strings.Replace(validBase, "version: 1", "version: 2", 1),
			"version: unsupported version 2 (this build reads version 1)"},
		{"missing version", strings.Replace(validBase, "version: 1\n", "", 1),
			"version: missing version; add `version: 1` (this build reads version 1)"},

		// names
		{"missing server name", withServers("servers: [{url: https://mcp.example.com/x}]\n"),
			"servers[0].name: missing server name"},
		{"invalid server name", withServers("servers: [{name: GitHub}]\n"),
			`servers[0].name: invalid server name "GitHub": use lowercase letters, digits, - and _, starting with a letter or digit`},
		// The aggregate endpoint /mcp names tools <server>__<tool> and splits at the first "__":
		// with servers a and a__b, a__b's tool c and a's tool b__c were both listed as a__b__c,
		// and a call of it always went to a.
		{"server name with __", withServers("servers: [{name: a}, {name: a__b}]\n"),
			`servers[1].name: invalid server name "a__b": it cannot contain "__", which /mcp puts between a server and a tool name`},
		{"server name starting with -", withServers("servers: [{name: -x}]\n"),
			`servers[0].name: invalid server name "-x": use lowercase letters, digits, - and _, starting with a letter or digit`},
		{"duplicate server", withServers("servers: [{name: github}, {name: jira}, {name: github}]\n"),
			`servers[2].name: duplicate server "github" (first at servers[0])`},
		{"duplicate access group", withServers("servers: [{name: github}]\naccess_groups: [{name: dev}, {name: dev}]\n"),
			`access_groups[1].name: duplicate access group "dev" (first at access_groups[0])`},
		{"missing access group name", withServers("servers: [{name: github}]\naccess_groups: [{servers: [github]}]\n"),
			`access_groups[0].name: missing access group name`},
		{"invalid toolset name", withServers("servers: [{name: github}]\ntoolsets: [{name: read_only!}]\n"),
			`toolsets[0].name: invalid toolset name "read_only!": use lowercase letters, digits, - and _, starting with a letter or digit`},
		{"duplicate toolset", withServers("servers: [{name: github}]\ntoolsets: [{name: ro}, {name: ro}]\n"),
			`toolsets[1].name: duplicate toolset "ro" (first at toolsets[0])`},
		{"invalid organization name", strings.Replace(validBase, "{name: globex}", "{name: globex corp}", 1),
			`organizations[1].name: invalid organization name "globex corp": use 1 to 200 letters, digits, -, _, . and @`},
		{"duplicate organization", strings.Replace(validBase, "{name: globex}", "{name: acme}", 1),
			`organizations[1].name: duplicate organization "acme" (first at organizations[0])`},
		{"missing team name", strings.Replace(validBase, "{name: loose}", "{organization: acme}", 1),
			`teams[1].name: missing team name`},
		{"duplicate team", strings.Replace(validBase, "{name: loose}", "{name: platform}", 1),
			`teams[1].name: duplicate team "platform" (first at teams[0])`},
		{"key name too long", validBase + "keys: [{name: " + strings.Repeat("k", 201) + "}]\n",
			`keys[0].name: invalid key name "` + strings.Repeat("k", 201) + `": use 1 to 200 letters, digits, -, _, . and @`},
		{"duplicate key", validBase + "keys: [{name: ci-bot}, {name: deploy}, {name: ci-bot}]\n",
			`keys[2].name: duplicate key "ci-bot" (first at keys[0])`},
		{"invalid end user name", validBase + "end_users: [{name: alice smith}]\n",
			`end_users[0].name: invalid end user name "alice smith": use 1 to 200 letters, digits, -, _, . and @`},
		{"duplicate end user", validBase + "end_users: [{name: alice@example.com}, {name: alice@example.com}]\n",
			`end_users[1].name: duplicate end user "alice@example.com" (first at end_users[0])`},
		{"duplicate agent", strings.Replace(validBase, "agents: [{name: triage-agent}]", "agents: [{name: triage-agent}, {name: triage-agent}]", 1),
			`agents[1].name: duplicate agent "triage-agent" (first at agents[0])`},
		{"missing agent name", strings.Replace(validBase, "agents: [{name: triage-agent}]", "agents: [{name: triage-agent}, {mcp: {}}]", 1),
			`agents[1].name: missing agent name`},

		// servers
		{"url without scheme", withServers("servers: [{name: github, url: mcp.example.com/github}]\n"),
			`servers[0] "github".url: invalid URL "mcp.example.com/github": use an absolute http:// or https:// URL`},
		{"url with another scheme", withServers("servers: [{name: github, url: 'ftp://mcp.example.com/github'}]\n"),
			`servers[0] "github".url: invalid URL "ftp://mcp.example.com/github": use an absolute http:// or https:// URL`},
		{"url without host", withServers("servers: [{name: github, url: 'https:///github'}]\n"),
			`servers[0] "github".url: invalid URL "https:///github": use an absolute http:// or https:// URL`},
		{"unparsable url", withServers("servers: [{name: github, url: 'http://exa mple.com/%zz'}]\n"),
			`servers[0] "github".url: invalid URL "http://exa mple.com/%zz": use an absolute http:// or https:// URL`},
		{"duplicate tool", withServers("servers: [{name: github, tools: [create_issue, list_issues, {name: create_issue, description: again}]}]\n"),
			`servers[0] "github".tools[2]: duplicate tool "create_issue" (first at servers[0].tools[0])`},
		{"missing tool name", withServers("servers: [{name: github, tools: [a, {description: nameless}]}]\n"),
			`servers[0] "github".tools[1]: missing tool name`},
		{"invalid tool name", withServers("servers: [{name: github, tools: [issues/create]}]\n"),
			`servers[0] "github".tools[0]: invalid tool name "issues/create": use 1 to 128 characters without /, spaces or control characters`},
		{"invalid input schema", withServers("servers: [{name: github, tools: [{name: a, input_schema: '{\"type\": object}'}]}]\n"),
			`servers[0] "github".tools[0].input_schema: input_schema is not valid JSON: invalid character 'o' looking for beginning of value`},
		{"input schema not an object", withServers("servers: [{name: github, tools: [{name: a, input_schema: [object]}]}]\n"),
			`servers[0] "github".tools[0].input_schema: input_schema must be a JSON object (a JSON Schema such as {"type": "object"})`},
		{"disabled tool not in catalogue", withServers("servers: [{name: github, tools: [create_issue], disabled_tools: [delete_repo]}]\n"),
			`servers[0] "github".disabled_tools[0]: unknown tool "delete_repo": not in the catalogue of server "github"`},

		// access groups and toolsets
		{"access group with unknown server", withServers("servers: [{name: github}]\naccess_groups: [{name: dev, servers: [github, jira]}]\n"),
			`access_groups[0] "dev".servers[1]: unknown server "jira"`},
		{"toolset entry without server", withServers("servers: [{name: github, tools: [list_issues]}]\ntoolsets: [{name: ro, tools: [list_issues]}]\n"),
			`toolsets[0] "ro".tools[0]: "list_issues" is not of the form server/tool`},
		{"toolset entry without tool", withServers("servers: [{name: github, tools: [list_issues]}]\ntoolsets: [{name: ro, tools: [github/]}]\n"),
			`toolsets[0] "ro".tools[0]: "github/" is not of the form server/tool`},
		{"toolset with unknown server", withServers("servers: [{name: github, tools: [list_issues]}]\ntoolsets: [{name: ro, tools: [github/list_issues, jira/search]}]\n"),
			`toolsets[0] "ro".tools[1]: unknown server "jira" in "jira/search"`},
		{"toolset with unknown tool", withServers("servers: [{name: github, tools: [list_issues]}]\ntoolsets: [{name: ro, tools: [github/list_issue]}]\n"),
			`toolsets[0] "ro".tools[0]: unknown tool "github/list_issue": not in the catalogue of server "github"`},

		// mcp blocks, at every level
		{"organization mcp unknown server", strings.Replace(validBase, "{name: globex}", "{name: globex, mcp: {servers: [github, gitlab]}}", 1),
			`organizations[1] "globex".mcp.servers[1]: unknown server "gitlab"`},
		{"organization mcp unknown access group", strings.Replace(validBase, "{name: globex}", "{name: globex, mcp: {access_groups: [devs]}}", 1),
			`organizations[1] "globex".mcp.access_groups[0]: unknown access group "devs"`},
		{"organization mcp unknown toolset", strings.Replace(validBase, "{name: globex}", "{name: globex, mcp: {toolsets: [ro]}}", 1),
			`organizations[1] "globex".mcp.toolsets[0]: unknown toolset "ro"`},
		{"organization mcp tools unknown server", strings.Replace(validBase, "{name: globex}", "{name: globex, mcp: {tools: {gitlab: [x]}}}", 1),
			`organizations[1] "globex".mcp.tools.gitlab: unknown server "gitlab"`},
		{"organization mcp tools unknown tool", strings.Replace(validBase, "{name: globex}", "{name: globex, mcp: {tools: {github: [list_issues, close_issue]}}}", 1),
			`organizations[1] "globex".mcp.tools.github[1]: unknown tool "close_issue": not in the catalogue of server "github"`},
		{"team mcp unknown server", strings.Replace(validBase, "{name: loose}", "{name: loose, mcp: {servers: [gitlab]}}", 1),
			`teams[1] "loose".mcp.servers[0]: unknown server "gitlab"`},
		{"key mcp unknown toolset", validBase + "keys: [{name: ci-bot, mcp: {toolsets: [read-only, write]}}]\n",
			`keys[0] "ci-bot".mcp.toolsets[1]: unknown toolset "write"`},
		{"end user mcp unknown access group", validBase + "end_users: [{name: alice, mcp: {access_groups: [ops]}}]\n",
			`end_users[0] "alice".mcp.access_groups[0]: unknown access group "ops"`},
		{"agent mcp unknown tool", strings.Replace(validBase, "agents: [{name: triage-agent}]", "agents: [{name: triage-agent, mcp: {tools: {jira: [serch]}}}]", 1),
			`agents[0] "triage-agent".mcp.tools.jira[0]: unknown tool "serch": not in the catalogue of server "jira"`},
		{"odd tools key is quoted in the path", strings.Replace(validBase, "{name: globex}", "{name: globex, mcp: {tools: {'my server': []}}}", 1),
			`organizations[1] "globex".mcp.tools["my server"]: unknown server "my server"`},

		// deny_tools, at every level
		{"deny_tools entry without server", strings.Replace(validBase, "{name: globex}", "{name: globex, deny_tools: [delete_repo]}", 1),
			`organizations[1] "globex".deny_tools[0]: "delete_repo" is not of the form server/tool`},
		{"deny_tools unknown server", strings.Replace(validBase, "{name: loose}", "{name: loose, deny_tools: [gitlab/delete_repo]}", 1),
			`teams[1] "loose".deny_tools[0]: unknown server "gitlab" in "gitlab/delete_repo"`},
		{"deny_tools unknown tool", validBase + "keys: [{name: ci-bot, deny_tools: [github/delete_repos]}]\n",
			`keys[0] "ci-bot".deny_tools[0]: unknown tool "github/delete_repos": not in the catalogue of server "github"`},
		{"end user deny_tools", validBase + "end_users: [{name: bob, deny_tools: [jira]}]\n",
			`end_users[0] "bob".deny_tools[0]: "jira" is not of the form server/tool`},
		{"agent deny_tools", strings.Replace(validBase, "agents: [{name: triage-agent}]", "agents: [{name: triage-agent, deny_tools: [jira/create]}]", 1),
			`agents[0] "triage-agent".deny_tools[0]: unknown tool "jira/create": not in the catalogue of server "jira"`},

		// references between principals
		{"team in unknown organization", strings.Replace(validBase, "{name: loose}", "{name: loose, organization: initech}", 1),
			`teams[1] "loose".organization: unknown organization "initech"`},
		{"key in unknown team", validBase + "keys: [{name: ci-bot, team: plat}]\n",
			`keys[0] "ci-bot".team: unknown team "plat"`},
		{"key in unknown organization", validBase + "keys: [{name: ci-bot, organization: initech}]\n",
			`keys[0] "ci-bot".organization: unknown organization "initech"`},
		{"key organization disagrees with team", validBase + "keys: [{name: a}, {name: b}, {name: c}, {name: d, team: platform, organization: globex}]\n",
			`keys[3] "d".organization: "globex" disagrees with team "platform" of organization "acme"`},
		{"key organization with a team without one", validBase + "keys: [{name: d, team: loose, organization: globex}]\n",
			`keys[0] "d".organization: "globex" disagrees with team "loose", which has no organization`},
		{"key bound to unknown agent", validBase + "keys: [{name: triage, team: platform, agent: triager}]\n",
			`keys[0] "triage".agent: unknown agent "triager"`},
		{"key expiry not RFC 3339", validBase + "keys: [{name: temp, expires_at: 2026-01-31}]\n",
			`keys[0] "temp".expires_at: invalid time "2026-01-31": use RFC 3339, such as 2026-01-31T00:00:00Z`},
		{"key expiry nonsense", validBase + "keys: [{name: temp, expires_at: next tuesday}]\n",
			`keys[0] "temp".expires_at: invalid time "next tuesday": use RFC 3339, such as 2026-01-31T00:00:00Z`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := models.LoadDocument([]byte(tc.doc))
			equalLines(t, problemLines(t, err), []string{tc.want})
		})
	}
}

func TestValidateInvalidAccessGroupName(t *testing.T) {
	doc := withServers("servers: [{name: github}]\naccess_groups: [{name: Dev Team, servers: [github]}]\n")
	_, err := models.LoadDocument([]byte(doc))
	equalLines(t, problemLines(t, err), []string{
		`access_groups[0].name: invalid access group name "Dev Team": use lowercase letters, digits, - and _, starting with a letter or digit`,
	})
}

func TestValidateAcceptsGoodDocuments(t *testing.T) {
	for _, doc := range []string{
		validBase,
		// A disabled tool still counts as in the catalogue for references.
		validBase + "keys: [{name: k, deny_tools: [github/delete_repo], mcp: {tools: {github: [delete_repo]}}}]\n",
		// Teamless keys, keys with both team and matching organization, agents, expiry, mcp: {}.
		validBase + `keys:
  - {name: billing-svc, organization: globex, mcp: {}}
  - {name: ci-bot, team: platform, organization: acme, agent: triage-agent, expires_at: "2026-06-30T23:59:59+02:00"}
  - {name: ops.bot@acme, blocked: true}
end_users: [{name: alice@example.com, mcp: {servers: [jira], tools: {jira: []}}}]
`,
		// An empty document apart from its version.
		"version: 1\n",
		"{\"version\": 1}",
	} {
		if _, err := models.LoadDocument([]byte(doc)); err != nil {
			t.Errorf("%s\n=> %v", doc, err)
		}
	}
}

func TestValidateReportsAllProblemsInDocumentOrder(t *testing.T) {
	// The file lists keys before servers; problems still come in document order: version,
	// servers, access groups, toolsets, organizations, teams, keys, end users, agents.
	const doc = `keys:
  - {name: ci-bot, team: plat, agent: nobody, expires_at: soon}
  - {name: ci-bot, organization: globex, team: platform}
version: 3
agents:
  - {name: triage-agent, mcp: {servers: [gitlab], toolsets: [rw]}}
servers:
  - {name: GitHub, url: 'ftp://x', tools: [a, a], disabled_tools: [b]}
  - {name: jira, tools: [search]}
access_groups: [{name: dev, servers: [github, jira, confluence]}]
toolsets: [{name: ro, tools: [jira/search, jira/find, search]}]
organizations: [{name: acme, deny_tools: [github/a]}, {name: globex}]
teams: [{name: platform, organization: acme, mcp: {tools: {jira: [search, create]}}}, {name: web, organization: initech}]
end_users: [{name: "bob smith"}]
`
	d, err := models.ParseDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, problemLines(t, d.Validate()), []string{
		`version: unsupported version 3 (this build reads version 1)`,
		`servers[0].name: invalid server name "GitHub": use lowercase letters, digits, - and _, starting with a letter or digit`,
		`servers[0] "GitHub".url: invalid URL "ftp://x": use an absolute http:// or https:// URL`,
		`servers[0] "GitHub".tools[1]: duplicate tool "a" (first at servers[0].tools[0])`,
		`servers[0] "GitHub".disabled_tools[0]: unknown tool "b": not in the catalogue of server "GitHub"`,
		`access_groups[0] "dev".servers[0]: unknown server "github"`,
		`access_groups[0] "dev".servers[2]: unknown server "confluence"`,
		`toolsets[0] "ro".tools[1]: unknown tool "jira/find": not in the catalogue of server "jira"`,
		`toolsets[0] "ro".tools[2]: "search" is not of the form server/tool`,
		`organizations[0] "acme".deny_tools[0]: unknown server "github" in "github/a"`,
		`teams[0] "platform".mcp.tools.jira[1]: unknown tool "create": not in the catalogue of server "jira"`,
		`teams[1] "web".organization: unknown organization "initech"`,
		`keys[0] "ci-bot".team: unknown team "plat"`,
		`keys[0] "ci-bot".agent: unknown agent "nobody"`,
		`keys[0] "ci-bot".expires_at: invalid time "soon": use RFC 3339, such as 2026-01-31T00:00:00Z`,
		`keys[1].name: duplicate key "ci-bot" (first at keys[0])`,
		`keys[1] "ci-bot".organization: "globex" disagrees with team "platform" of organization "acme"`,
		`end_users[0].name: invalid end user name "bob smith": use 1 to 200 letters, digits, -, _, . and @`,
		`agents[0] "triage-agent".mcp.servers[0]: unknown server "gitlab"`,
		`agents[0] "triage-agent".mcp.toolsets[0]: unknown toolset "rw"`,
	})
}

func TestValidateProgrammaticDocument(t *testing.T) {
	// Validate works on documents built in code, not only parsed ones.
	d := &models.Document{
		Version: 1,
		Servers: []models.ServerDoc{{Name: "s", Tools: []models.ToolDoc{{Name: "t", InputSchema: `{"type":"object"}`}}}},
		Keys:    []models.KeyDoc{{Name: "k", MCP: &models.MCPPermission{Tools: map[string][]string{"s": {"t"}, "z": nil, "a": {"x"}}}}},
	}
	equalLines(t, problemLines(t, d.Validate()), []string{
		`keys[0] "k".mcp.tools.a: unknown server "a"`,
		`keys[0] "k".mcp.tools.z: unknown server "z"`,
	})
	d.Keys[0].MCP = &models.MCPPermission{}
	if ps := d.Validate(); ps != nil {
		t.Errorf("got %v", ps)
	}
}
