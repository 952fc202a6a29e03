package live

import (
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// Changes that disagree with the view are refused (refresh then does a full build).
func TestPatchViewRefusesInconsistentChanges(t *testing.T) {
	doc := &models.Document{Version: 1,
		Organizations: []models.OrganizationDoc{{Name: "acme"}},
		Keys:          []models.KeyDoc{{Name: "a"}, {Name: "c", Organization: "acme"}},
	}
	old := &View{Revision: 5, Doc: doc, Snapshot: resolver.Build(doc), KeysByHash: map[string]string{"h1": "a", "h2": "c"}}
	ok := func(ch *store.Changes) *View {
		t.Helper()
		v, reason := patchView(old, ch)
		if v == nil {
			t.Fatalf("refused: %s", reason)
		}
		return v
	}
	refused := func(ch *store.Changes, want string) {
		t.Helper()
		if v, reason := patchView(old, ch); v != nil || !strings.Contains(reason, want) {
			t.Errorf("patchView = %v, %q; want a refusal for %q", v, reason, want)
		}
	}
	key := func(name string) *models.KeyDoc { return &models.KeyDoc{Name: name, Blocked: true} }

	// A new key b between a and c, c deleted, a's secret replaced.
	v := ok(&store.Changes{Since: 5, Revision: 7,
		Entities: []store.ChangedEntity{
			{Kind: models.KindKey, Name: "b", Actions: []string{"create"}},
			{Kind: models.KindKey, Name: "c", Actions: []string{"update", "delete"}},
			{Kind: models.KindKey, Name: "a", Actions: []string{"issue_secret"}},
		},
		Keys:       map[string]*models.KeyDoc{"b": key("b"), "c": nil, "a": {Name: "a"}},
		KeySecrets: map[string]string{"h3": "a"},
	})
	if names := []string{v.Doc.Keys[0].Name, v.Doc.Keys[1].Name}; len(v.Doc.Keys) != 2 || names[0] != "a" || names[1] != "b" || !v.Doc.Keys[1].Blocked {
		t.Errorf("keys %+v", v.Doc.Keys)
	}
	if len(v.KeysByHash) != 1 || v.KeysByHash["h3"] != "a" {
		t.Errorf("KeysByHash %v", v.KeysByHash)
	}
	if len(old.Doc.Keys) != 2 || old.Doc.Keys[1].Name != "c" || len(old.KeysByHash) != 2 {
		t.Error("patchView changed the old view")
	}
	// Only a secret changed: the document and snapshot are shared.
	v = ok(&store.Changes{Since: 5, Revision: 6,
		Entities:   []store.ChangedEntity{{Kind: models.KindKey, Name: "a", Actions: []string{"issue_secret"}}},
		Keys:       map[string]*models.KeyDoc{"a": {Name: "a"}},
		KeySecrets: map[string]string{"h3": "a"},
	})
	if v.Doc != old.Doc || v.Snapshot != old.Snapshot || v.Revision != 6 {
		t.Error("a secret change rebuilt the document or snapshot")
	}

	refused(&store.Changes{Since: 4, Revision: 6}, "do not apply")
	refused(&store.Changes{Since: 5, Revision: 6, Entities: []store.ChangedEntity{{Kind: models.KindKey, Name: "a", Actions: []string{"create"}}},
		Keys: map[string]*models.KeyDoc{"a": key("a")}}, "existed=true")
	refused(&store.Changes{Since: 5, Revision: 6, Entities: []store.ChangedEntity{{Kind: models.KindKey, Name: "z", Actions: []string{"update"}}},
		Keys: map[string]*models.KeyDoc{"z": key("z")}}, "existed=false")
	refused(&store.Changes{Since: 5, Revision: 6, Entities: []store.ChangedEntity{{Kind: models.KindKey, Name: "a", Actions: []string{"delete"}}},
		Keys: map[string]*models.KeyDoc{"a": key("a")}}, "exists=true")
	refused(&store.Changes{Since: 5, Revision: 6, Entities: []store.ChangedEntity{{Kind: models.KindKey, Name: "a", Actions: []string{"update"}}},
		Keys: map[string]*models.KeyDoc{"a": nil}}, "exists=false")
	refused(&store.Changes{Since: 5, Revision: 6, Entities: []store.ChangedEntity{{Kind: models.KindKey, Name: "a", Actions: []string{"update"}}}},
		"do not describe")
	refused(&store.Changes{Since: 5, Revision: 6, Entities: []store.ChangedEntity{{Kind: models.KindKey, Name: "a", Actions: []string{"update"}}},
		Keys: map[string]*models.KeyDoc{"a": key("a")}, Teams: map[string]*models.TeamDoc{"t": nil}}, "name 1 entities but describe 2")
	refused(&store.Changes{Since: 5, Revision: 6, Entities: []store.ChangedEntity{{Kind: models.KindKey, Name: "a", Actions: []string{"issue_secret"}}},
		Keys: map[string]*models.KeyDoc{"a": {Name: "a"}}, KeySecrets: map[string]string{"h2": "a"}}, "share a secret")
}
