package resolver

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver/gen"
)

// The recorded traffic of TestReplay, on base() (where every key has the public slack/post,
// slack/read and docs/search, and nobody github or jira).
func replayTraffic() []models.RecordedCalls {
	at := func(h int) time.Time { return time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC) }
	call := func(key, eu, agent, server, tool string, n int64, h int) models.RecordedCalls {
		return models.RecordedCalls{CallTuple: models.CallTuple{Key: key, EndUser: eu, Agent: agent, Server: server, Tool: tool}, Calls: n, LastSeen: at(h)}
	}
	return []models.RecordedCalls{
		call("ci", "", "", "slack", "post", 10, 10),
		call("ci", "", "", "slack", "read", 5, 11),
		call("ci", "", "", "github", "create_issue", 4, 12),
		call("solo", "alice", "", "slack", "post", 3, 13),
		call("bound", "", "bot", "slack", "post", 2, 9),
		call("loner", "", "", "slack", "post", 7, 8), // no organization
		call("stray", "", "", "slack", "post", 1, 7), // team orphans, no organization
	}
}

func TestReplay(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC) }
	acme := Scope{Organizations: []string{"acme"}}
	none := ReplayChange{ByTool: []ReplayTool{}, ByKey: []ReplayKey{}}
	cases := []struct {
		name  string
		after func(s *Snapshot) *Snapshot
		scope Scope
		want  ReplayResult
	}{
		{"acme denies slack/post: its three keys' 15 calls of it, not loner's or stray's", func(s *Snapshot) *Snapshot {
			return s.WithOrganization(models.OrganizationDoc{Name: "acme", DenyTools: []string{"slack/post"}})
		}, acme, ReplayResult{Calls: 24, Keys: 3, NewlyDenied: ReplayChange{Calls: 15, Keys: 3,
			ByTool: []ReplayTool{{Server: "slack", Tool: "post", Calls: 15, Keys: 3, LastSeen: at(13)}},
			ByKey:  []ReplayKey{{Key: "ci", Calls: 10, LastSeen: at(10)}, {Key: "solo", Calls: 3, LastSeen: at(13)}, {Key: "bound", Calls: 2, LastSeen: at(9)}},
		}, NewlyAllowed: none}},
		{"acme limited to github: the public tools' calls denied, github's allowed", func(s *Snapshot) *Snapshot {
			return s.WithOrganization(models.OrganizationDoc{Name: "acme", MCP: mcp("github")})
		}, acme, ReplayResult{Calls: 24, Keys: 3, NewlyDenied: ReplayChange{Calls: 20, Keys: 3,
			ByTool: []ReplayTool{{Server: "slack", Tool: "post", Calls: 15, Keys: 3, LastSeen: at(13)}, {Server: "slack", Tool: "read", Calls: 5, Keys: 1, LastSeen: at(11)}},
			ByKey:  []ReplayKey{{Key: "ci", Calls: 15, LastSeen: at(11)}, {Key: "solo", Calls: 3, LastSeen: at(13)}, {Key: "bound", Calls: 2, LastSeen: at(9)}},
		}, NewlyAllowed: ReplayChange{Calls: 4, Keys: 1,
			ByTool: []ReplayTool{{Server: "github", Tool: "create_issue", Calls: 4, Keys: 1, LastSeen: at(12)}},
			ByKey:  []ReplayKey{{Key: "ci", Calls: 4, LastSeen: at(12)}},
		}}},
		{"a deleted key's calls are denied (scope All counts every key)", func(s *Snapshot) *Snapshot {
			d := base()
			d.Keys = slices.DeleteFunc(d.Keys, func(k models.KeyDoc) bool { return k.Name == "ci" })
			return Build(d)
		}, Scope{All: true}, ReplayResult{Calls: 32, Keys: 5, NewlyDenied: ReplayChange{Calls: 15, Keys: 1,
			ByTool: []ReplayTool{{Server: "slack", Tool: "post", Calls: 10, Keys: 1, LastSeen: at(10)}, {Server: "slack", Tool: "read", Calls: 5, Keys: 1, LastSeen: at(11)}},
			ByKey:  []ReplayKey{{Key: "ci", Calls: 15, LastSeen: at(11)}},
		}, NewlyAllowed: none}},
		{"a key's own scope: team platform's keys only", func(s *Snapshot) *Snapshot {
			return s.WithOrganization(models.OrganizationDoc{Name: "acme", DenyTools: []string{"slack/post"}})
		}, Scope{Teams: []string{"platform"}}, ReplayResult{Calls: 21, Keys: 2, NewlyDenied: ReplayChange{Calls: 12, Keys: 2,
			ByTool: []ReplayTool{{Server: "slack", Tool: "post", Calls: 12, Keys: 2, LastSeen: at(10)}},
			ByKey:  []ReplayKey{{Key: "ci", Calls: 10, LastSeen: at(10)}, {Key: "bound", Calls: 2, LastSeen: at(9)}},
		}, NewlyAllowed: none}},
		{"no change, nothing flips", func(s *Snapshot) *Snapshot { return s }, acme,
			ReplayResult{Calls: 24, Keys: 3, NewlyDenied: none, NewlyAllowed: none}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := Build(base())
			got := Replay(before, c.after(before), c.scope, replayTraffic())
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// keyTest names the keys expand lists, for every organization and team of a generated policy.
func TestReplayScopeKeys(t *testing.T) {
	s := Build(gen.Generate(gen.Small()))
	var scopes []Scope
	for _, o := range s.Organizations() {
		scopes = append(scopes, Scope{Organizations: []string{o}})
	}
	for _, tm := range s.Teams()[:10] {
		scopes = append(scopes, Scope{Teams: []string{tm}, Keys: []string{s.Keys()[0]}})
	}
	for _, sc := range scopes {
		_, _, want := sc.expand(s, s)
		in := sc.keyTest(s, s)
		for _, k := range s.Keys() {
			if in(k) != want[k] {
				t.Errorf("scope %+v, key %s: keyTest %v, expand %v", sc, k, in(k), want[k])
			}
		}
	}
}
