package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func TestUpdateDocument(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		_, rev, _ := st.LoadDocument(ctx)
		update := func(name string, settings, base int64, edit func(d *models.Document) error) (int64, error) {
			return st.UpdateDocument(ctx, store.DocumentUpdate{Kind: models.KindAccessGroup, Name: name,
				SettingsRevision: settings, BaseRevision: base, Actor: "alice", Summary: "s", Edit: edit})
		}
		onlyJira := func(d *models.Document) error { d.AccessGroup("dev").Servers = []string{"jira"}; return nil }
		r, err := update("dev", rev, rev, onlyJira)
		if err != nil || r != rev+1 {
			t.Fatalf("update: %d %v", r, err)
		}
		ev, _ := st.ListAuditEvents(ctx, store.AuditFilter{EntityKind: models.KindAccessGroup, EntityName: "dev", Limit: 1})
		if len(ev) != 1 || ev[0].Actor != "alice" || ev[0].Summary != "s" || ev[0].Revision != r {
			t.Errorf("audit %+v", ev)
		}
		// The group's own change since the form loaded: settings conflict.
		_, err = update("dev", rev, rev, onlyJira)
		var ce *models.ConflictError
		if !errors.As(err, &ce) || ce.Reason != models.ConflictSettings || len(ce.Changes) != 1 {
			t.Errorf("own change: %v", err)
		}
		// Another entity's change since the preview: related conflict, naming it.
		if _, err := update("dev", r, r, func(d *models.Document) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateDocument(ctx, store.DocumentUpdate{Kind: models.KindToolset, Name: "read-only", SettingsRevision: r, BaseRevision: r,
			Edit: func(d *models.Document) error { d.Toolset("read-only").Tools = []string{"jira/search"}; return nil }}); err != nil {
			t.Fatal(err)
		}
		_, err = update("dev", r, r, func(d *models.Document) error { d.AccessGroup("dev").Servers = nil; return nil })
		if !errors.As(err, &ce) || ce.Reason != models.ConflictRelated || ce.Cause != "toolset read-only was updated" {
			t.Errorf("related change: %v", err)
		}
		// An edit leaving the document invalid writes nothing and says where.
		_, cur, _ := st.LoadDocument(ctx)
		_, err = update("dev", cur, cur, func(d *models.Document) error { d.AccessGroup("dev").Servers = []string{"nosuch"}; return nil })
		var probs models.Problems
		if !errors.As(err, &probs) || probs[0].Path != "access_groups[0].servers[0]" {
			t.Errorf("invalid edit: %v", err)
		}
		// A revision from the future is invalid.
		if _, err := update("dev", cur, cur+5, onlyJira); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("future revision: %v", err)
		}
		if _, after, _ := st.LoadDocument(ctx); after != cur {
			t.Errorf("refused updates wrote revision %d", after)
		}
	})
}
