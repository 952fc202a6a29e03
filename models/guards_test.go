package models_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
)

// guardsBase is a document with the guards of the example.
const guardsBase = `version: 1
servers:
  - {name: github, tools: [create_issue, delete_repo, list_issues]}
  - {name: postgres, tools: [execute, query]}
organizations: [{name: acme}]
teams: [{name: platform, organization: acme}]
agents: [{name: triage-agent}]
keys:
  - {name: ci-bot, team: platform}
  - {name: triage, team: platform, agent: triage-agent}
guards:
  - name: no-agent-deletes
    description: Keys bound to an agent never delete anything
    forbid: ["*/delete_*", "postgres/execute"]
    for: {agent_bound: true}
  - name: few-executors
    tool: postgres/execute
    at_most: 5
`

func intp(n int) *int { return &n }

func TestParseGuards(t *testing.T) {
	d := mustLoad(t, []byte(guardsBase))
	want := []models.GuardDoc{
		{Name: "no-agent-deletes", Description: "Keys bound to an agent never delete anything",
			Forbid: []string{"*/delete_*", "postgres/execute"}, For: &models.GuardScope{AgentBound: true}},
		{Name: "few-executors", Tool: "postgres/execute", AtMost: intp(5)},
	}
	if !reflect.DeepEqual(d.Guards, want) {
		t.Fatalf("guards = %#v\nwant %#v", d.Guards, want)
	}
	// JSON, as json.Marshal writes the document, reads back the same.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"guards":[{"name":"no-agent-deletes"`) || !strings.Contains(string(b), `"at_most":5`) {
		t.Errorf("JSON form: %s", b)
	}
	if again := mustLoad(t, b); !reflect.DeepEqual(again, d) {
		t.Errorf("JSON reads back differently:\n%#v\n%#v", again.Guards, d.Guards)
	}
}

// TestRoundTripGuards: every guard field survives encode and parse, at_most: 0 included (it is
// a limit, not "no limit"), and the encoding is stable.
func TestRoundTripGuards(t *testing.T) {
	d := mustLoad(t, []byte(guardsBase))
	d.Guards = append(d.Guards,
		models.GuardDoc{Name: "nobody-executes", Tool: "postgres/execute", AtMost: intp(0),
			For: &models.GuardScope{Organizations: []string{"acme"}, Teams: []string{"platform"}, Keys: []string{"triage", "ci-bot"}}},
		models.GuardDoc{Name: "multi\nline", Description: "true", Forbid: []string{"github/*"}})
	out := roundTrip(t, d)
	if !strings.Contains(string(out), "at_most: 0") {
		t.Errorf("at_most: 0 was dropped:\n%s", out)
	}
	again, err := models.ParseDocument(out)
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := models.EncodeDocument(again)
	if string(out2) != string(out) {
		t.Errorf("second encoding differs:\n%s\n---\n%s", out, out2)
	}
	// Guards come out sorted by name, their lists as sets.
	if g := again.Guards[0]; g.Name != "few-executors" {
		t.Errorf("first guard %q, want few-executors", g.Name)
	}
	if g := again.Guard("nobody-executes"); g == nil || !reflect.DeepEqual(g.For.Keys, []string{"ci-bot", "triage"}) {
		t.Errorf("scope keys not sorted: %#v", g)
	}
}

func TestGuardProblems(t *testing.T) {
	head, _, _ := strings.Cut(guardsBase, "guards:")
	for _, tc := range []struct {
		name, guards string
		want         []string
	}{
		{"negative limit", `[{name: a, forbid: [github/list_issues]}, {name: b, tool: postgres/execute, at_most: -1}]`,
			[]string{"guards[1].at_most: must be ≥ 0, got -1"}},
		{"limit not an integer", `[{name: a, tool: postgres/execute, at_most: five}]`,
			[]string{`guards[0].at_most: expected an integer, got "five"`}},
		{"unknown field", `[{name: a, forbid: [github/list_issues], forbids: [x/y]}]`,
			[]string{`guards[0].forbids: unknown field "forbids"`}},
		{"unknown scope field", `[{name: a, forbid: [github/list_issues], for: {agent: true}}]`,
			// The scope is then read as empty, which the second problem says.
			[]string{`guards[0].for.agent: unknown field "agent"`,
				"guards[0].for: selects no keys: set agent_bound: true or list organizations, teams or keys; leave for out to guard every key"}},
		{"null scope", `[{name: a, forbid: [github/list_issues], for: null}]`,
			[]string{"guards[0].for: null is ambiguous here: leave the key out to guard every key, or name agent_bound, organizations, teams or keys"}},
		{"empty scope", `[{name: a, forbid: [github/list_issues], for: {}}]`,
			[]string{"guards[0].for: selects no keys: set agent_bound: true or list organizations, teams or keys; leave for out to guard every key"}},
		{"unknown names in scope", `[{name: a, forbid: [github/list_issues], for: {organizations: [acme, initech], teams: [plat], keys: [ci-bot, nobody]}}]`,
			[]string{`guards[0].for.organizations[1]: unknown organization "initech"`, `guards[0].for.teams[0]: unknown team "plat"`,
				`guards[0].for.keys[1]: unknown key "nobody"`}},
		{"both forms", `[{name: a, forbid: [github/list_issues], tool: postgres/execute, at_most: 1}]`,
			[]string{"guards[0]: give either forbid (patterns no key may call) or tool with at_most (how many keys may call it), not both"}},
		{"no form", `[{name: a, description: nothing}]`,
			[]string{"guards[0]: missing forbid (server/tool patterns no key may call) or tool with at_most (how many keys may call it)"}},
		{"tool without limit", `[{name: a, tool: postgres/execute}]`,
			[]string{`guards[0].at_most: missing; say how many keys at most may call "postgres/execute"`}},
		{"limit without tool", `[{name: a, at_most: 2}]`,
			[]string{"guards[0].tool: missing; at_most limits how many keys may call one tool, named server/tool"}},
		{"pattern as tool", `[{name: a, tool: "postgres/*", at_most: 2}]`,
			[]string{`guards[0].tool: "postgres/*": at_most counts the keys of one tool; patterns belong in forbid`}},
		{"unknown tool", `[{name: a, tool: postgres/exec, at_most: 2}]`,
			[]string{`guards[0].tool: unknown tool "postgres/exec": not in the catalogue of server "postgres"`}},
		{"bad patterns", `[{name: a, forbid: [delete_repo, "*/", "Git*/x", "a/b/c", "jira/x", "github/delete", "gh*/delete_*"]}]`,
			[]string{
				`guards[0].forbid[0]: "delete_repo" is not a pattern of the form server/tool (* matches within one part, e.g. */delete_*)`,
				`guards[0].forbid[1]: "*/" is not a pattern of the form server/tool (* matches within one part, e.g. */delete_*)`,
				`guards[0].forbid[2]: invalid server part "Git*" in "Git*/x": use lowercase letters, digits, -, _ and *`,
				`guards[0].forbid[3]: "a/b/c" is not a pattern of the form server/tool (* matches within one part, e.g. */delete_*)`,
				`guards[0].forbid[4]: unknown server "jira" in "jira/x"`,
				`guards[0].forbid[5]: unknown tool "github/delete": not in the catalogue of server "github"`,
			}},
		{"names", `[{name: Bad Name, forbid: [github/list_issues]}, {forbid: [github/list_issues]}, {name: x, forbid: [github/list_issues]}, {name: x, forbid: [github/list_issues]}]`,
			[]string{`guards[0].name: invalid guard name "Bad Name": use lowercase letters, digits, - and _, starting with a letter or digit`,
				"guards[1].name: missing guard name", `guards[3].name: duplicate guard "x" (first at guards[2])`}},
		{"not a mapping", `[no-deletes]`,
			[]string{`guards[0]: expected a mapping (name, forbid or tool with at_most, for), got "no-deletes"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := models.LoadDocument([]byte(head + "guards: " + tc.guards + "\n"))
			equalLines(t, problemLines(t, err), tc.want)
		})
	}
}

func TestMatchToolPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, server, tool string
		want                  bool
	}{
		{"*/delete_*", "github", "delete_repo", true},
		{"*/delete_*", "github", "delete_", true},
		{"*/delete_*", "github", "undelete_repo", false},
		{"*/*", "a", "b", true},
		{"postgres/execute", "postgres", "execute", true},
		{"postgres/execute", "postgres", "execute2", false},
		{"post*/exe*ute", "postgres", "execute", true},
		{"post*/exe*ute", "postgres", "exeute", true}, // * matches nothing too
		{"post*/exe*ute", "postgres", "exute", false},
		{"*gres/*", "postgres", "x", true},
		{"*gres/*", "postgresql", "x", false},
		{"a*a/x", "a", "x", false},
		{"a*a/x", "aa", "x", true},
		{"github/*", "githubx", "a", false}, // a part without * matches exactly
		{"github", "github", "", false},
	} {
		if got := models.MatchToolPattern(tc.pattern, tc.server, tc.tool); got != tc.want {
			t.Errorf("MatchToolPattern(%q, %q, %q) = %v, want %v", tc.pattern, tc.server, tc.tool, got, tc.want)
		}
	}
}

func TestValidateGuard(t *testing.T) {
	d := mustLoad(t, []byte(guardsBase))
	if p := d.ValidateGuard(d.Guards[0]); p != nil {
		t.Errorf("a valid guard: %v", p)
	}
	// Another guard of the same name is the store's concern (the edited guard replaces it).
	if p := d.ValidateGuard(models.GuardDoc{Name: "few-executors", Tool: "postgres/query", AtMost: intp(1)}); p != nil {
		t.Errorf("a guard named like an existing one: %v", p)
	}
	got := d.ValidateGuard(models.GuardDoc{Name: "x", Forbid: []string{"github/nope"}, For: &models.GuardScope{Teams: []string{"plat"}}})
	equalLines(t, problemLines(t, got), []string{
		`forbid[0]: unknown tool "github/nope": not in the catalogue of server "github"`,
		`for.teams[0]: unknown team "plat"`,
	})
	equalLines(t, problemLines(t, d.ValidateGuard(models.GuardDoc{Name: "x"})), []string{
		"missing forbid (server/tool patterns no key may call) or tool with at_most (how many keys may call it)",
	})
}
