package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func TestUpdateOrganization(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		doc, rev, _ := st.LoadDocument(ctx)
		acme := *doc.Organization("acme")
		acme.MCP = &models.MCPPermission{Toolsets: []string{"read-only"}}
		acme.DenyTools = nil

		newRev, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, SettingsRevision: rev, BaseRevision: rev, Actor: "alice", Summary: "3 keys lose access"})
		if err != nil {
			t.Fatal(err)
		}
		if newRev != rev+1 {
			t.Fatalf("revision %d, want %d", newRev, rev+1)
		}
		got, _, _ := st.LoadDocument(ctx)
		if o := got.Organization("acme"); o.MCP == nil || len(o.MCP.Toolsets) != 1 || len(o.MCP.Servers) != 0 || o.DenyTools != nil {
			t.Fatalf("acme after save: %+v %+v", o, o.MCP)
		}
		events, _ := st.ListAuditEvents(ctx, store.AuditFilter{EntityKind: models.KindOrganization, EntityName: "acme", Limit: 1})
		if len(events) != 1 || events[0].Actor != "alice" || events[0].Summary != "3 keys lose access" || events[0].Revision != newRev {
			t.Fatalf("audit event: %+v", events)
		}

		// Saving the same settings again changes nothing.
		if r, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, SettingsRevision: newRev, BaseRevision: newRev, Actor: "alice"}); err != nil || r != newRev {
			t.Fatalf("no-op save: rev %d err %v", r, err)
		}

		// A change elsewhere (globex) does not make an acme save stale...
		other := storetest.MustLoad(t, small)
		other.Organizations[0] = *got.Organization("acme")
		other.Organizations[1].Blocked = true
		storetest.MustApply(t, st, other)
		acme.Blocked = true
		r2, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, SettingsRevision: newRev, BaseRevision: newRev, Actor: "alice"})
		if err != nil {
			t.Fatalf("save after an unrelated change: %v", err)
		}
		// ...but a change to one of acme's teams does, and nothing is written.
		moved := other.Clone()
		moved.Organizations[0].Blocked = true
		moved.Teams[0].MCP = nil // platform is in acme
		storetest.MustApply(t, st, moved)
		before, revBefore, _ := st.LoadDocument(ctx)
		acme.Blocked = false
		_, err = st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, SettingsRevision: r2, BaseRevision: r2, Actor: "alice"})
		var ce *models.ConflictError
		if !errors.As(err, &ce) || ce.Reason != models.ConflictRelated || ce.Cause != "team platform was updated" || models.ErrorCode(err) != models.EConflict {
			t.Fatalf("stale save: err %v, want a conflict with a team of acme", err)
		}
		after, revAfter, _ := st.LoadDocument(ctx)
		if revAfter != revBefore || after.Organization("acme").Blocked != before.Organization("acme").Blocked {
			t.Fatal("a stale save wrote something")
		}

		// Bad input.
		if _, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: models.OrganizationDoc{Name: "nope"}, SettingsRevision: revAfter, BaseRevision: revAfter}); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("unknown organization: %v", err)
		}
		bad := acme
		bad.MCP = &models.MCPPermission{Servers: []string{"gitlab"}}
		_, err = st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: bad, SettingsRevision: revAfter, BaseRevision: revAfter})
		if ps, ok := err.(models.Problems); !ok || ps[0].String() != `mcp.servers[0]: unknown server "gitlab"` {
			t.Errorf("invalid settings: %v", err)
		}
	})
}

// A save based on settings loaded before another save of the same organization is refused
// with that save's audit event, whatever revision its preview names; a revision the store has
// not reached is refused as invalid.
func TestUpdateOrganizationOwnSettingsChanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		doc, loaded, _ := st.LoadDocument(ctx)
		acme := *doc.Organization("acme")

		// Alice denies a tool.
		alice := acme
		alice.DenyTools = append(append([]string(nil), acme.DenyTools...), "jira/create_ticket")
		revA, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: alice, SettingsRevision: loaded, BaseRevision: loaded, Actor: "alice", Summary: "deny create_ticket"})
		if err != nil {
			t.Fatal(err)
		}
		if ev, err := st.OrganizationChangesSince(ctx, "acme", loaded); err != nil || len(ev) != 1 || ev[0].Actor != "alice" || ev[0].Revision != revA || ev[0].Before == "" || ev[0].After == "" {
			t.Fatalf("changes since %d: %+v %v", loaded, ev, err)
		}
		if ev, err := st.OrganizationChangesSince(ctx, "acme", revA); err != nil || len(ev) != 0 {
			t.Fatalf("changes since %d: %+v %v", revA, ev, err)
		}

		// Bob loaded acme before; his preview is as new as can be. Refused, with Alice's event.
		bob := acme
		bob.Blocked = true
		for _, base := range []int64{loaded, revA} {
			_, err = st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: bob, SettingsRevision: loaded, BaseRevision: base, Actor: "bob"})
			var ce *models.ConflictError
			if !errors.As(err, &ce) || ce.Reason != models.ConflictSettings || len(ce.Changes) != 1 || ce.Changes[0].Actor != "alice" || ce.Since != loaded || ce.Revision != revA {
				t.Fatalf("preview at %d: err %v, want alice's change", base, err)
			}
		}
		for _, u := range []store.OrganizationUpdate{
			{SettingsRevision: 9000000000000000000, BaseRevision: 9000000000000000000},
			{SettingsRevision: revA, BaseRevision: revA + 1},
			{SettingsRevision: revA, BaseRevision: loaded},
			{SettingsRevision: -1, BaseRevision: revA},
		} {
			u.Org, u.Actor = bob, "bob"
			if _, err := st.UpdateOrganization(ctx, u); models.ErrorCode(err) != models.EInvalid {
				t.Errorf("revisions %d/%d: err %v, want invalid", u.SettingsRevision, u.BaseRevision, err)
			}
		}
		got, rev, _ := st.LoadDocument(ctx)
		if rev != revA || got.Organization("acme").Blocked {
			t.Fatalf("a refused save wrote: revision %d", rev)
		}
		// Loaded again after Alice's save, Bob's save goes through.
		if _, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: bob, SettingsRevision: revA, BaseRevision: revA, Actor: "bob"}); err != nil {
			t.Fatal(err)
		}
	})
}

// Saves racing from forms loaded at the same revision: the policy lock lets exactly one
// through, and every other one is told the settings changed under it, never written.
func TestUpdateOrganizationRace(t *testing.T) {
	// Postgres only: on SQLite concurrent writers wait on the database lock, which is not what
	// this tests.
	st := storetest.Open(t, store.KindPostgres)
	ctx := context.Background()
	storetest.MustApply(t, st, storetest.MustLoad(t, small))
	doc, loaded, _ := st.LoadDocument(ctx)
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		org := *doc.Organization("acme")
		org.DenyTools = []string{"jira/search", fmt.Sprintf("github/%s", []string{"create_issue", "list_issues"}[i%2])}
		go func() {
			_, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: org, SettingsRevision: loaded, BaseRevision: loaded, Actor: fmt.Sprint("admin-", i)})
			errs <- err
		}()
	}
	saved := 0
	for i := 0; i < n; i++ {
		err := <-errs
		var ce *models.ConflictError
		switch {
		case err == nil:
			saved++
		case errors.As(err, &ce) && ce.Reason == models.ConflictSettings:
		default:
			t.Errorf("racing save: %v", err)
		}
	}
	if _, rev, _ := st.LoadDocument(ctx); saved != 1 || rev != loaded+1 {
		t.Errorf("%d saves went through, revision %d (from %d); want exactly one", saved, rev, loaded)
	}
}
