package store_test

import (
	"context"
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

		newRev, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, BaseRevision: rev, Actor: "alice", Summary: "3 keys lose access"})
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
		if r, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, BaseRevision: newRev, Actor: "alice"}); err != nil || r != newRev {
			t.Fatalf("no-op save: rev %d err %v", r, err)
		}

		// A change elsewhere (globex) does not make an acme save stale...
		other := storetest.MustLoad(t, small)
		other.Organizations[0] = *got.Organization("acme")
		other.Organizations[1].Blocked = true
		storetest.MustApply(t, st, other)
		acme.Blocked = true
		r2, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, BaseRevision: newRev, Actor: "alice"})
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
		_, err = st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: acme, BaseRevision: r2, Actor: "alice"})
		if models.ErrorCode(err) != models.EConflict {
			t.Fatalf("stale save: err %v, want a conflict", err)
		}
		after, revAfter, _ := st.LoadDocument(ctx)
		if revAfter != revBefore || after.Organization("acme").Blocked != before.Organization("acme").Blocked {
			t.Fatal("a stale save wrote something")
		}

		// Bad input.
		if _, err := st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: models.OrganizationDoc{Name: "nope"}, BaseRevision: revAfter}); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("unknown organization: %v", err)
		}
		bad := acme
		bad.MCP = &models.MCPPermission{Servers: []string{"gitlab"}}
		_, err = st.UpdateOrganization(ctx, store.OrganizationUpdate{Org: bad, BaseRevision: revAfter})
		if ps, ok := err.(models.Problems); !ok || ps[0].String() != `mcp.servers[0]: unknown server "gitlab"` {
			t.Errorf("invalid settings: %v", err)
		}
	})
}
