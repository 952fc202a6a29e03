package store_test

import (
	"context"
	"crypto/sha256"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

const small = `
version: 1
servers:
  - name: github
    url: https://mcp.example.com/github/mcp
    tools:
      - create_issue
      - list_issues
      - {name: delete_repo, description: Delete a repository, input_schema: '{"type":"object"}'}
    disabled_tools: [delete_repo]
  - {name: jira, public: true, tools: [search, create_ticket]}
access_groups:
  - {name: dev, servers: [github, jira]}
toolsets:
  - {name: read-only, tools: [github/list_issues, jira/search]}
organizations:
  - name: acme
    mcp:
      servers: [github]
      access_groups: [dev]
      toolsets: [read-only]
      tools: {github: [list_issues]}
    deny_tools: [github/create_issue]
  - {name: globex}
teams:
  - {name: platform, organization: acme, mcp: {servers: [jira]}}
  - {name: loose}
keys:
  - {name: ci-bot, team: platform}
  - {name: billing-svc, organization: acme, mcp: {}}
  - {name: triage, team: platform, agent: triage-agent, expires_at: "2030-01-02T03:04:05+02:00"}
  - {name: old, team: loose, blocked: true, mcp: {tools: {jira: []}}}
end_users:
  - {name: alice, mcp: {servers: [jira]}}
agents:
  - {name: triage-agent, mcp: {servers: [github, jira]}, deny_tools: [jira/create_ticket]}
`

func normalized(d *models.Document) *models.Document {
	c := d.Clone()
	for i := range c.Keys {
		if c.Keys[i].ExpiresAt == "2030-01-02T03:04:05+02:00" {
			c.Keys[i].ExpiresAt = "2030-01-02T01:04:05Z"
		}
	}
	c.Normalize()
	return c
}

func TestRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		doc := storetest.MustLoad(t, small)
		sum := storetest.MustApply(t, st, doc)
		if !sum.Changed || sum.Revision != 1 {
			t.Fatalf("first import: changed=%v revision=%d, want true 1", sum.Changed, sum.Revision)
		}
		if c := sum.Counts[models.KindKey]; c.Created != 4 {
			t.Errorf("keys created = %d, want 4", c.Created)
		}
		got, rev, err := st.LoadDocument(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rev != 1 {
			t.Errorf("revision %d, want 1", rev)
		}
		if want := normalized(doc); !reflect.DeepEqual(got, want) {
			a, _ := models.EncodeDocument(got)
			b, _ := models.EncodeDocument(want)
			t.Fatalf("loaded state differs from the document\n--- got\n%s\n--- want\n%s", a, b)
		}
		// The distinction the product rests on survives the database.
		if k := findKey(got, "billing-svc"); k.MCP == nil || !k.MCP.IsEmpty() {
			t.Errorf("billing-svc mcp = %#v, want present and empty", k.MCP)
		}
		if k := findKey(got, "ci-bot"); k.MCP != nil {
			t.Errorf("ci-bot mcp = %#v, want absent", k.MCP)
		}
		if k := findKey(got, "old"); k.MCP == nil || len(k.MCP.Tools) != 1 {
			t.Errorf("old mcp = %#v, want a tool list naming jira with no tools", k.MCP)
		}

		// import(export()) changes nothing, not even the revision.
		out, err := models.EncodeDocument(got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := models.LoadDocument(out)
		if err != nil {
			t.Fatalf("exported document does not load: %v\n%s", err, out)
		}
		sum = storetest.MustApply(t, st, again)
		if sum.Changed || sum.Revision != 1 {
			t.Fatalf("re-import of export: changed=%v revision=%d, want false 1", sum.Changed, sum.Revision)
		}
		// Nor does re-importing the original file, written differently.
		if sum = storetest.MustApply(t, st, doc); sum.Changed {
			t.Fatalf("re-import of the original changed something: %s", sum)
		}
	})
}

func findKey(d *models.Document, name string) *models.KeyDoc {
	for i := range d.Keys {
		if d.Keys[i].Name == name {
			return &d.Keys[i]
		}
	}
	return nil
}

func TestUpdateAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		// Drop jira everywhere, the agent and a key; change acme; add a team.
		next := storetest.MustLoad(t, `
version: 1
servers:
  - name: github
    tools: [create_issue, list_issues, delete_repo]
organizations:
  - {name: acme, blocked: true, mcp: {servers: [github]}}
  - {name: globex, deny_tools: [github/delete_repo]}
teams:
  - {name: platform, organization: acme}
  - {name: web, organization: globex, mcp: {tools: {github: [list_issues]}}}
keys:
  - {name: ci-bot, team: web}
  - {name: billing-svc, organization: acme}
`)
		sum := storetest.MustApply(t, st, next)
		if sum.Revision != 2 {
			t.Errorf("revision %d, want 2", sum.Revision)
		}
		want := map[string]store.KindCounts{
			models.KindServer:       {Updated: 1, Deleted: 1},
			models.KindAccessGroup:  {Deleted: 1},
			models.KindToolset:      {Deleted: 1},
			models.KindOrganization: {Updated: 2},
			models.KindTeam:         {Created: 1, Updated: 1, Deleted: 1},
			models.KindKey:          {Updated: 2, Deleted: 2},
			models.KindEndUser:      {Deleted: 1},
			models.KindAgent:        {Deleted: 1},
		}
		for kind, w := range want {
			if got := *sum.Counts[kind]; got != w {
				t.Errorf("%s: %+v, want %+v", kind, got, w)
			}
		}
		got, _, err := st.LoadDocument(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if w := normalized(next); !reflect.DeepEqual(got, w) {
			a, _ := models.EncodeDocument(got)
			b, _ := models.EncodeDocument(w)
			t.Fatalf("state after update differs\n--- got\n%s\n--- want\n%s", a, b)
		}
		events, err := st.ListAuditEvents(ctx, store.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var n2 int
		for _, e := range events {
			if e.Revision == 2 {
				n2++
				if e.Actor != "test" {
					t.Errorf("audit actor %q", e.Actor)
				}
				if e.Action == "update" && (e.Before == "" || e.After == "") {
					t.Errorf("update event for %s %s lacks before/after", e.EntityKind, e.EntityName)
				}
			}
		}
		if n2 != 15 {
			t.Errorf("%d audit events at revision 2, want 15 (one per changed entity)", n2)
		}
	})
}

// A failed import writes nothing: the database file is byte-for-byte the same.
func TestFailedImportLeavesSQLiteUnchanged(t *testing.T) {
	dsn := storetest.DSN(t, store.KindSQLite)
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.MustApply(t, st, storetest.MustLoad(t, small))
	st.Close()
	before := fileHash(t, dsn)

	st, err = store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	bad := storetest.MustLoad(t, small)
	bad.Keys[0].Team = "plat"
	_, err = st.ApplyDocument(ctx, bad, "test")
	var ps models.Problems
	if !asProblems(err, &ps) || !strings.Contains(ps.Error(), `keys[0] "ci-bot".team: unknown team "plat"`) {
		t.Fatalf("err = %v, want the unknown team problem", err)
	}
	st.Close()
	if after := fileHash(t, dsn); after != before {
		t.Fatal("a failed import changed the database file")
	}
}

// A failure inside the transaction (here a constraint the validator cannot see, injected by
// dropping a table mid-way is too blunt; instead a cancelled context) rolls everything back.
func TestFailedApplyRollsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		before, rev, err := st.LoadDocument(ctx)
		if err != nil {
			t.Fatal(err)
		}
		next := storetest.MustLoad(t, small)
		next.Organizations[1].Blocked = true
		next.Keys = append(next.Keys, models.KeyDoc{Name: "new-key", Team: "platform"})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := st.ApplyDocument(cctx, next, "test"); err == nil {
			t.Fatal("apply with a cancelled context succeeded")
		}
		after, rev2, err := st.LoadDocument(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rev2 != rev || !reflect.DeepEqual(before, after) {
			t.Fatal("a failed apply left changes behind")
		}
	})
}

func TestDemoImports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		doc, err := demo.Document()
		if err != nil {
			t.Fatal(err)
		}
		storetest.MustApply(t, st, doc)
		got, _, err := st.LoadDocument(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c := doc.Clone()
		c.Normalize()
		if !reflect.DeepEqual(got, c) {
			t.Fatal("demo does not round-trip through the store")
		}
		if empty, _ := st.IsEmpty(context.Background()); empty {
			t.Fatal("IsEmpty after the demo import")
		}
	})
}

// fileHash hashes a closed SQLite database. The database runs in WAL mode, where committed data
// can sit in the -wal file beside it until a checkpoint; the last connection to close
// checkpoints and removes that file, so the main file alone holds every commit. fileHash makes
// sure of that (else a hash of the main file could miss a commit) and hashes it.
func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Fatalf("%s-wal holds %d bytes after the store closed: commits may be missing from the file", path, fi.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func asProblems(err error, ps *models.Problems) bool {
	p, ok := err.(models.Problems)
	*ps = p
	return ok
}

func TestUpdateSets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		storetest.MustApply(t, st, storetest.MustLoad(t, small))
		next := storetest.MustLoad(t, small)
		next.AccessGroups[0].Servers = []string{"jira"}
		next.Toolsets[0].Tools = []string{"github/create_issue"}
		next.Toolsets = append(next.Toolsets, models.ToolsetDoc{Name: "writers", Tools: []string{"jira/create_ticket"}})
		sum := storetest.MustApply(t, st, next)
		if g, ts := *sum.Counts[models.KindAccessGroup], *sum.Counts[models.KindToolset]; g != (store.KindCounts{Updated: 1}) || ts != (store.KindCounts{Created: 1, Updated: 1}) {
			t.Errorf("counts: groups %+v toolsets %+v", g, ts)
		}
		got, _, err := st.LoadDocument(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if w := normalized(next); !reflect.DeepEqual(got.AccessGroups, w.AccessGroups) || !reflect.DeepEqual(got.Toolsets, w.Toolsets) {
			t.Errorf("sets after update: %+v %+v", got.AccessGroups, got.Toolsets)
		}
	})
}
