package store_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// TestChangePrincipals: a change writes only what it names, in one revision with an audit
// event per principal, and leaves the rest of the state exactly as it was.
func TestChangePrincipals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		before, rev, _ := st.LoadDocument(ctx)

		// Move platform to globex, with a limit of its own.
		team := models.TeamDoc{Name: "platform", Organization: "globex", MCP: &models.MCPPermission{Toolsets: []string{"read-only"}}, DenyTools: []string{"jira/search"}}
		res, err := st.ChangePrincipals(ctx, store.PrincipalChange{Kind: models.KindTeam, Name: "platform",
			Put: models.Document{Teams: []models.TeamDoc{team}}, SettingsRevision: rev, BaseRevision: rev, Actor: "bob", Summary: "moved"})
		if err != nil || res.Revision != rev+1 || res.Secret != "" {
			t.Fatalf("move: %+v %v", res, err)
		}
		after, _, _ := st.LoadDocument(ctx)
		want := before.Clone()
		want.Teams[1] = team // platform sorts after loose
		want.Normalize()
		if !reflect.DeepEqual(after, want) {
			t.Fatalf("state after the move:\n got %+v\nwant %+v", after.Teams, want.Teams)
		}
		ev, _ := st.PrincipalChangesSince(ctx, models.KindTeam, "platform", rev)
		if len(ev) != 1 || ev[0].Actor != "bob" || ev[0].Summary != "moved" || !strings.Contains(ev[0].Before, "acme") || !strings.Contains(ev[0].After, "globex") {
			t.Fatalf("audit: %+v", ev)
		}
		rev = res.Revision

		// Create a key with its secret, in the same revision.
		key := models.KeyDoc{Name: "new-key", Team: "platform", Agent: "triage-agent"}
		res, err = st.ChangePrincipals(ctx, store.PrincipalChange{Kind: models.KindKey, Name: "new-key", Create: true,
			Put: models.Document{Keys: []models.KeyDoc{key}}, IssueSecret: "new-key", SettingsRevision: rev, BaseRevision: rev, Actor: "bob"})
		if err != nil || res.Revision != rev+1 || !strings.HasPrefix(res.Secret, "wdn_") || len(res.Secret) < 4+52 {
			t.Fatalf("create key: %+v %v", res, err)
		}
		hashes, _ := st.KeySecretHashes(ctx)
		if hashes[models.HashSecret(res.Secret)] != "new-key" {
			t.Fatal("the issued secret is not the key's")
		}
		if p, _ := st.KeySecretPrefix(ctx, "new-key"); !strings.HasPrefix(res.Secret, p) || p == "" {
			t.Fatalf("prefix %q", p)
		}
		rev = res.Revision

		// Refused, writing nothing: a taken name, an unknown reference, a dangling deletion,
		// an unknown subject.
		for name, c := range map[string]store.PrincipalChange{
			"taken":     {Kind: models.KindKey, Name: "ci-bot", Create: true, Put: models.Document{Keys: []models.KeyDoc{{Name: "ci-bot"}}}},
			"reference": {Kind: models.KindKey, Name: "ci-bot", Put: models.Document{Keys: []models.KeyDoc{{Name: "ci-bot", Team: "nope"}}}},
			"dangling":  {Kind: models.KindTeam, Name: "platform", Delete: map[string][]string{models.KindTeam: {"platform"}}},
			"bad name":  {Kind: models.KindEndUser, Name: "a b", Create: true, Put: models.Document{EndUsers: []models.EndUserDoc{{Name: "a b"}}}},
		} {
			c.SettingsRevision, c.BaseRevision = rev, rev
			var probs models.Problems
			if _, err := st.ChangePrincipals(ctx, c); !errors.As(err, &probs) {
				t.Errorf("%s: %v, want problems", name, err)
			} else if name == "reference" && probs[0].Path != "team" {
				t.Errorf("reference problem path %q, want the field's", probs[0].Path)
			}
		}
		if _, err := st.ChangePrincipals(ctx, store.PrincipalChange{Kind: models.KindAgent, Name: "nope", SettingsRevision: rev, BaseRevision: rev}); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("unknown agent: %v", err)
		}
		if _, r, _ := st.LoadDocument(ctx); r != rev {
			t.Fatalf("a refused change wrote: revision %d, want %d", r, rev)
		}

		// Delete the team with its keys moved out, in one change.
		cur, _, _ := st.LoadDocument(ctx)
		var put models.Document
		for _, k := range cur.Keys {
			if k.Team == "platform" {
				k.Team, k.Organization = "", "globex"
				put.Keys = append(put.Keys, k)
			}
		}
		res, err = st.ChangePrincipals(ctx, store.PrincipalChange{Kind: models.KindTeam, Name: "platform", Put: put,
			Delete: map[string][]string{models.KindTeam: {"platform"}}, SettingsRevision: rev, BaseRevision: rev, Actor: "bob"})
		if err != nil {
			t.Fatalf("delete with keys moved: %v", err)
		}
		cur, _, _ = st.LoadDocument(ctx)
		for _, k := range cur.Keys {
			if k.Team == "platform" {
				t.Fatalf("key %s still in the deleted team", k.Name)
			}
		}
		if hashes, _ := st.KeySecretHashes(ctx); len(hashes) == 0 {
			t.Fatal("moving a key lost its secret")
		}
	})
}

// TestChangePrincipalsConflicts: the settings and related checks of UpdateOrganization, for a
// key: its own change since the form loaded is ConflictSettings; its team's since the preview,
// ConflictRelated; another organization's, nothing.
func TestChangePrincipalsConflicts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		_, loaded, _ := st.LoadDocument(ctx)
		key := func(deny ...string) store.PrincipalChange {
			return store.PrincipalChange{Kind: models.KindKey, Name: "ci-bot",
				Put: models.Document{Keys: []models.KeyDoc{{Name: "ci-bot", Team: "platform", DenyTools: deny}}}, Actor: "t"}
		}
		c := key("jira/search")
		c.SettingsRevision, c.BaseRevision = loaded, loaded
		r1, err := st.ChangePrincipals(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		var conflict *models.ConflictError
		// Own settings changed since loaded.
		c = key("jira/create_ticket")
		c.SettingsRevision, c.BaseRevision = loaded, r1.Revision
		if _, err := st.ChangePrincipals(ctx, c); !errors.As(err, &conflict) || conflict.Reason != models.ConflictSettings || len(conflict.Changes) != 1 {
			t.Fatalf("own change: %v", err)
		}
		// Globex's change does not touch ci-bot; its team's does.
		g := store.PrincipalChange{Kind: models.KindOrganization, Name: "globex", Put: models.Document{Organizations: []models.OrganizationDoc{{Name: "globex", Blocked: true}}},
			SettingsRevision: r1.Revision, BaseRevision: r1.Revision}
		r2, err := st.ChangePrincipals(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		c = key("jira/create_ticket")
		c.SettingsRevision, c.BaseRevision = r1.Revision, r1.Revision
		r3, err := st.ChangePrincipals(ctx, c)
		if err != nil {
			t.Fatalf("after an unrelated change (revision %d): %v", r2.Revision, err)
		}
		team := store.PrincipalChange{Kind: models.KindTeam, Name: "platform", Put: models.Document{Teams: []models.TeamDoc{{Name: "platform", Organization: "acme"}}},
			SettingsRevision: r3.Revision, BaseRevision: r3.Revision}
		if _, err := st.ChangePrincipals(ctx, team); err != nil {
			t.Fatal(err)
		}
		c = key()
		c.SettingsRevision, c.BaseRevision = r3.Revision, r3.Revision
		if _, err := st.ChangePrincipals(ctx, c); !errors.As(err, &conflict) || conflict.Reason != models.ConflictRelated || !strings.Contains(conflict.Cause, "platform") {
			t.Fatalf("team changed since the preview: %v", err)
		}
	})
}

// TestRevokeKeySecret: a revoked secret is gone; revoking again is refused.
func TestRevokeKeySecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		s, err := st.IssueKeySecret(ctx, "ci-bot", "t")
		if err != nil || len(s) != 4+52 {
			t.Fatalf("issue: %q %v", s, err)
		}
		if err := st.RevokeKeySecret(ctx, "ci-bot", "t"); err != nil {
			t.Fatal(err)
		}
		if h, _ := st.KeySecretHashes(ctx); len(h) != 0 {
			t.Fatalf("hashes after revoking: %v", h)
		}
		if err := st.RevokeKeySecret(ctx, "ci-bot", "t"); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("revoking twice: %v", err)
		}
		if err := st.RevokeKeySecret(ctx, "nope", "t"); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("unknown key: %v", err)
		}
		// Replicas follow incrementally: the key changed and has no secret now.
		ch, err := st.Changes(ctx, 1)
		if _, ok := ch.Keys["ci-bot"]; err != nil || ch.Reload || !ok || len(ch.KeySecrets) != 0 {
			t.Fatalf("changes after a revoke: %+v %v", ch, err)
		}
	})
}
