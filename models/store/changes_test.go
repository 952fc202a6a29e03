package store_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite" for raw statements

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func mustChanges(t *testing.T, st *store.Store, since int64) *store.Changes {
	t.Helper()
	ch, err := st.Changes(context.Background(), since)
	if err != nil {
		t.Fatalf("changes since %d: %v", since, err)
	}
	return ch
}

func mustLoad(t *testing.T, st *store.Store) (*models.Document, int64) {
	t.Helper()
	doc, rev, err := st.LoadDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return doc, rev
}

// Changes names every principal changed in the range with its actions, gives each its current
// document exactly as LoadDocument does (nil once deleted), and the current secrets of the
// changed keys.
func TestChangesDescribeTheRange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		_, since := mustLoad(t, st)
		if ch := mustChanges(t, st, since); !ch.Empty() || ch.Reload || len(ch.Entities) != 0 || ch.Revision != since {
			t.Fatalf("no change: %+v", ch)
		}

		// Revision 2: several principals at once.
		doc, _ := mustLoad(t, st)
		doc.Organization("acme").MCP = &models.MCPPermission{Tools: map[string][]string{"github": {"list_issues"}, "jira": {}}}
		doc.Teams = append(doc.Teams, models.TeamDoc{Name: "new-team", Organization: "globex", DenyTools: []string{"jira/search", "github/create_issue"}})
		doc.Keys = slices.DeleteFunc(doc.Keys, func(k models.KeyDoc) bool { return k.Name == "old" })
		doc.Keys = append(doc.Keys, models.KeyDoc{Name: "fresh", Team: "new-team", Organization: "globex", ExpiresAt: "2031-05-06T07:08:09-03:00",
			MCP: &models.MCPPermission{AccessGroups: []string{"dev"}, Toolsets: []string{"read-only"}, Servers: []string{"jira", "github"}}})
		doc.EndUsers = append(doc.EndUsers, models.EndUserDoc{Name: "bob", MCP: &models.MCPPermission{}})
		doc.Agents[0].DenyTools = nil
		storetest.MustApply(t, st, doc)
		// Revision 3: a secret. Revision 4: the deleted key comes back, without its secret.
		if _, err := st.IssueKeySecret(ctx, "ci-bot", "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.IssueKeySecret(ctx, "fresh", "test"); err != nil {
			t.Fatal(err)
		}
		doc, _ = mustLoad(t, st)
		doc.Keys = append(doc.Keys, models.KeyDoc{Name: "old", Organization: "acme", Blocked: true})
		storetest.MustApply(t, st, doc)

		now, rev := mustLoad(t, st)
		ch := mustChanges(t, st, since)
		if ch.Reload || ch.Since != since || ch.Revision != rev || rev != since+4 {
			t.Fatalf("changes: reload=%v %q since=%d revision=%d (current %d)", ch.Reload, ch.Reason, ch.Since, ch.Revision, rev)
		}
		var got []string
		for _, e := range ch.Entities {
			got = append(got, e.Kind+" "+e.Name+" "+strings.Join(e.Actions, ","))
		}
		slices.Sort(got)
		want := []string{
			"agent triage-agent update", "end_user bob create", "key ci-bot issue_secret", "key fresh create,issue_secret",
			"key old delete,create", "organization acme update", "team new-team create",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("entities\n got %q\nwant %q", got, want)
		}
		sameDoc(t, "organization acme", ch.Organizations["acme"], now.Organization("acme"))
		sameDoc(t, "team new-team", ch.Teams["new-team"], find(now.Teams, "new-team", func(d *models.TeamDoc) string { return d.Name }))
		for _, k := range []string{"ci-bot", "fresh", "old"} {
			sameDoc(t, "key "+k, ch.Keys[k], find(now.Keys, k, func(d *models.KeyDoc) string { return d.Name }))
		}
		sameDoc(t, "end user bob", ch.EndUsers["bob"], find(now.EndUsers, "bob", func(d *models.EndUserDoc) string { return d.Name }))
		sameDoc(t, "agent triage-agent", ch.Agents["triage-agent"], find(now.Agents, "triage-agent", func(d *models.AgentDoc) string { return d.Name }))
		if len(ch.Organizations) != 1 || len(ch.Teams) != 1 || len(ch.Keys) != 3 || len(ch.EndUsers) != 1 || len(ch.Agents) != 1 {
			t.Errorf("maps hold more than the changed principals: %+v", ch)
		}

		secrets, err := st.KeySecretHashes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantSecrets := map[string]string{}
		for h, k := range secrets {
			if _, ok := ch.Keys[k]; ok {
				wantSecrets[h] = k
			}
		}
		if len(wantSecrets) != 2 || !reflect.DeepEqual(ch.KeySecrets, wantSecrets) {
			t.Errorf("key secrets %v, want %v", ch.KeySecrets, wantSecrets)
		}

		// A range ending in a deletion says so with nil.
		doc, _ = mustLoad(t, st)
		doc.Keys = slices.DeleteFunc(doc.Keys, func(k models.KeyDoc) bool { return k.Name == "fresh" })
		doc.EndUsers = nil
		storetest.MustApply(t, st, doc)
		ch = mustChanges(t, st, rev)
		if d, ok := ch.Keys["fresh"]; !ok || d != nil {
			t.Errorf("deleted key fresh: %v %v", d, ok)
		}
		if d, ok := ch.EndUsers["alice"]; !ok || d != nil {
			t.Errorf("deleted end user alice: %v %v", d, ok)
		}
		if len(ch.KeySecrets) != 0 {
			t.Errorf("a deleted key keeps a secret: %v", ch.KeySecrets)
		}
		// A range in the middle of the history reads only its own events.
		if ch = mustChanges(t, st, since+2); ch.Reload || len(ch.Entities) != 4 {
			t.Errorf("changes since %d: %+v", since+2, ch.Entities)
		}
	})
}

func sameDoc[D any](t *testing.T, what string, got, want *D) {
	t.Helper()
	if got == nil || want == nil || !reflect.DeepEqual(*got, *want) {
		t.Errorf("%s: Changes gives %+v, LoadDocument %+v", what, got, want)
	}
}

func find[D any](list []D, name string, nameOf func(*D) string) *D {
	for i := range list {
		if nameOf(&list[i]) == name {
			return &list[i]
		}
	}
	return nil
}

// Whatever Changes cannot describe piecemeal asks for a full reload.
func TestChangesAskForReload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		_, base := mustLoad(t, st)
		reload := func(since int64, want string) {
			t.Helper()
			ch := mustChanges(t, st, since)
			if !ch.Reload || !strings.Contains(ch.Reason, want) {
				t.Errorf("changes since %d: reload=%v reason %q, want a reload for %q", since, ch.Reload, ch.Reason, want)
			}
			if ch.Entities != nil || ch.Keys != nil {
				t.Errorf("a reload describes changes: %+v", ch)
			}
		}
		reload(base+1, "went back")

		// Upstream headers.
		if err := st.SetServerAuthHeaders(ctx, "jira", map[string]string{"Authorization": "Bearer x"}, "test"); err != nil {
			t.Fatal(err)
		}
		reload(base, `server "jira": set_auth_headers`)

		// A server, an access group, a toolset.
		for _, change := range []func(d *models.Document){
			func(d *models.Document) { d.Servers[0].Public = !d.Servers[0].Public },
			func(d *models.Document) { d.AccessGroups[0].Servers = d.AccessGroups[0].Servers[:1] },
			func(d *models.Document) { d.Toolsets[0].Tools = d.Toolsets[0].Tools[:1] },
		} {
			doc, rev := mustLoad(t, st)
			change(doc)
			doc.Organization("globex").Blocked = !doc.Organization("globex").Blocked
			storetest.MustApply(t, st, doc)
			reload(rev, "update at revision")
		}
		_, base = mustLoad(t, st)

		// A revision without audit events, written behind the store's back.
		storetest.Exec(t, st, `UPDATE policy_state SET revision = revision + 1 WHERE id = 1`)
		reload(base, "has no audit events")
		_, base = mustLoad(t, st)

		// Too many entities, or too many events.
		restore := store.SetChangeLimits(2, 100)
		doc, _ := mustLoad(t, st)
		for i := range doc.Keys {
			doc.Keys[i].Blocked = !doc.Keys[i].Blocked
		}
		storetest.MustApply(t, st, doc)
		reload(base, "more than 2 entities")
		store.SetChangeLimits(100, 3)
		reload(base, "more than 3 audit events")
		restore()
		if ch := mustChanges(t, st, base); ch.Reload || len(ch.Keys) != len(doc.Keys) {
			t.Errorf("within the limits: reload=%v %q, %d keys", ch.Reload, ch.Reason, len(ch.Keys))
		}
	})
}
