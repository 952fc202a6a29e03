package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// smallGuards is small with guards of both forms, at_most: 0 and every kind of scope.
const smallGuards = small + `guards:
  - name: no-agent-deletes
    description: Keys bound to an agent never delete anything
    forbid: ["*/delete_*", "github/create_issue"]
    for: {agent_bound: true}
  - {name: few-searchers, tool: jira/search, at_most: 5}
  - {name: nobody-tickets, tool: jira/create_ticket, at_most: 0, for: {organizations: [acme], teams: [loose], keys: [ci-bot]}}
`

func intp(n int) *int { return &n }

// TestGuardsRoundTrip: guards survive import and export exactly, from YAML and from JSON, and
// re-importing the export changes nothing, not even the revision.
func TestGuardsRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		doc := storetest.MustLoad(t, smallGuards)
		sum := storetest.MustApply(t, st, doc)
		if c := sum.Counts[models.KindGuard]; c.Created != 3 {
			t.Errorf("guards created = %d, want 3", c.Created)
		}
		if !strings.Contains(sum.String(), "guards:        3 created, 0 updated, 0 deleted\n") {
			t.Errorf("summary:\n%s", sum)
		}
		got, rev, err := st.LoadDocument(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := normalized(doc); !reflect.DeepEqual(got.Guards, want.Guards) {
			t.Fatalf("guards after import:\n got %#v\nwant %#v", got.Guards, want.Guards)
		}
		if g := got.Guard("nobody-tickets"); g.AtMost == nil || *g.AtMost != 0 {
			t.Errorf("at_most 0 read back as %v", g.AtMost)
		}
		out, err := models.EncodeDocument(got)
		if err != nil {
			t.Fatal(err)
		}
		again := storetest.MustLoad(t, string(out))
		if s := storetest.MustApply(t, st, again); s.Changed || s.Revision != rev {
			t.Errorf("import(export()) changed=%v revision %d, want false %d", s.Changed, s.Revision, rev)
		}
		// The same document as JSON imports to the same state.
		js, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if s := storetest.MustApply(t, st, storetest.MustLoad(t, string(js))); s.Changed {
			t.Errorf("the JSON form changed the state: %+v", s.Counts[models.KindGuard])
		}

		// Edits and deletes, one audit event each.
		next := again.Clone()
		next.Guards = next.Guards[1:] // few-searchers goes
		next.Guard("no-agent-deletes").For = nil
		s := storetest.MustApply(t, st, next)
		if c := s.Counts[models.KindGuard]; c.Updated != 1 || c.Deleted != 1 || c.Created != 0 {
			t.Errorf("guard counts %+v, want 1 updated 1 deleted", c)
		}
		got, _, _ = st.LoadDocument(ctx)
		if len(got.Guards) != 2 || got.Guard("few-searchers") != nil || got.Guard("no-agent-deletes").For != nil {
			t.Fatalf("guards after the edit: %+v", got.Guards)
		}
		events, _ := st.ListAuditEvents(ctx, store.AuditFilter{EntityKind: models.KindGuard, EntityName: "no-agent-deletes", Limit: 5})
		if len(events) != 2 || events[0].Action != "update" || !strings.Contains(events[0].Before, `"agent_bound":true`) {
			t.Errorf("audit events: %+v", events)
		}
	})
}

// TestGuardsChangesReload: a guard change cannot be patched into a view; Changes asks for a
// reload, and the reloaded state has the guard.
func TestGuardsChangesReload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		sum := storetest.MustApply(t, st, storetest.MustLoad(t, small))
		storetest.MustApply(t, st, storetest.MustLoad(t, smallGuards))
		ch, err := st.Changes(ctx, sum.Revision)
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Reload || !strings.HasPrefix(ch.Reason, "guard ") {
			t.Errorf("changes after a guard import: reload=%v reason %q", ch.Reload, ch.Reason)
		}
	})
}

func TestSaveGuard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rev := storetest.MustApply(t, st, storetest.MustLoad(t, small)).Revision
		g := models.GuardDoc{Name: "few", Tool: "jira/search", AtMost: intp(1), For: &models.GuardScope{Teams: []string{"platform"}, Keys: []string{"old"}}}
		r1, err := st.SaveGuard(ctx, store.GuardSave{Guard: &g, Since: rev, Actor: "alice"})
		if err != nil || r1 != rev+1 {
			t.Fatalf("create: rev %d err %v", r1, err)
		}
		doc, _, _ := st.LoadDocument(ctx)
		if len(doc.Guards) != 1 || !reflect.DeepEqual(doc.Guards[0], g) {
			t.Fatalf("stored guards %+v", doc.Guards)
		}
		// Creating it again, or renaming another onto it, is refused by name.
		if _, err := st.SaveGuard(ctx, store.GuardSave{Guard: &g, Since: r1}); err == nil || err.Error() != `name: there is already a guard "few"` {
			t.Errorf("duplicate: %v", err)
		}
		// An edit made from a revision before someone else's edit is a conflict, naming them.
		g2 := g.Clone()
		g2.AtMost = intp(3)
		r2, err := st.SaveGuard(ctx, store.GuardSave{Guard: &g2, Original: "few", Since: r1, Actor: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		g3 := g.Clone()
		g3.Description = "stale"
		_, err = st.SaveGuard(ctx, store.GuardSave{Guard: &g3, Original: "few", Since: r1, Actor: "carol"})
		var ce *models.ConflictError
		if !errors.As(err, &ce) || ce.Kind != models.KindGuard || len(ce.Changes) != 1 || ce.Changes[0].Actor != "bob" {
			t.Fatalf("stale edit: %v", err)
		}
		// Invalid guards: problems relative to the guard; nothing written.
		bad := models.GuardDoc{Name: "bad", Forbid: []string{"gitlab/*"}, For: &models.GuardScope{Teams: []string{"nope", "loose"}}}
		_, err = st.SaveGuard(ctx, store.GuardSave{Guard: &bad, Since: r2})
		if ps, ok := err.(models.Problems); !ok || ps.Error() != "forbid[0]: unknown server \"gitlab\" in \"gitlab/*\"\nfor.teams[0]: unknown team \"nope\"" {
			t.Errorf("invalid guard: %v", err)
		}
		neg := models.GuardDoc{Name: "neg", Tool: "jira/search", AtMost: intp(-1)}
		if _, err := st.SaveGuard(ctx, store.GuardSave{Guard: &neg, Since: r2}); err == nil || err.Error() != "at_most: must be ≥ 0, got -1" {
			t.Errorf("negative limit: %v", err)
		}
		// Rename, then delete.
		g4 := g2.Clone()
		g4.Name = "few-searchers"
		r3, err := st.SaveGuard(ctx, store.GuardSave{Guard: &g4, Original: "few", Since: r2, Actor: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		doc, _, _ = st.LoadDocument(ctx)
		if len(doc.Guards) != 1 || doc.Guards[0].Name != "few-searchers" || *doc.Guards[0].AtMost != 3 {
			t.Fatalf("after rename: %+v", doc.Guards)
		}
		if _, err := st.SaveGuard(ctx, store.GuardSave{Original: "few", Since: r3}); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("delete of a renamed-away guard: %v", err)
		}
		r4, err := st.SaveGuard(ctx, store.GuardSave{Original: "few-searchers", Since: r3, Actor: "alice"})
		if err != nil || r4 != r3+1 {
			t.Fatalf("delete: rev %d err %v", r4, err)
		}
		doc, _, _ = st.LoadDocument(ctx)
		if len(doc.Guards) != 0 {
			t.Fatalf("after delete: %+v", doc.Guards)
		}
		if _, err := st.SaveGuard(ctx, store.GuardSave{Guard: &g, Since: r4 + 1}); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("future revision: %v", err)
		}
	})
}

// TestUpdateOrganizationVerify: Verify runs under the lock with the current revision, and its
// refusal writes nothing.
func TestUpdateOrganizationVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		rev := storetest.MustApply(t, st, storetest.MustLoad(t, small)).Revision
		doc, _, _ := st.LoadDocument(ctx)
		acme := *doc.Organization("acme")
		acme.Blocked = true
		refused := errors.New("refused")
		var saw int64 = -1
		_, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, SettingsRevision: rev, BaseRevision: rev,
			Verify: func(r int64) error { saw = r; return refused }})
		if !errors.Is(err, refused) || saw != rev {
			t.Fatalf("err %v, Verify saw revision %d, want %d", err, saw, rev)
		}
		if d, r, _ := st.LoadDocument(ctx); r != rev || d.Organization("acme").Blocked {
			t.Fatal("a refused save wrote something")
		}
		if _, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, SettingsRevision: rev, BaseRevision: rev,
			Verify: func(int64) error { return nil }}); err != nil {
			t.Fatal(err)
		}
	})
}
