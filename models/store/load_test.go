package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// A full load reads each table in batches. Rows created later under names that sort first
// (so id order and name order disagree) must be read once each, whatever the batch size.
func TestLoadInBatchesReadsEveryRowOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		defer store.SetLoadBatch(3)()
		var b strings.Builder
		b.WriteString("version: 1\nservers:\n  - {name: github, tools: [list_issues]}\norganizations:\n")
		orgs := []string{"m1", "m2", "m3", "m4", "m5"}
		for _, o := range orgs {
			fmt.Fprintf(&b, "  - {name: %s, mcp: {servers: [github]}}\n", o)
		}
		b.WriteString("keys:\n")
		var keys []string
		for i := 1; i <= 8; i++ {
			keys = append(keys, fmt.Sprintf("m%d-key", i))
			fmt.Fprintf(&b, "  - {name: m%d-key, organization: m1, deny_tools: [github/list_issues]}\n", i)
		}
		first := b.String()
		storetest.MustApply(t, st, storetest.MustLoad(t, first))
		// Created second: higher ids, names sorting before every earlier row.
		second := strings.Replace(first, "organizations:\n", "organizations:\n  - {name: a1}\n  - {name: a2, blocked: true}\n", 1) +
			"  - {name: a-key, organization: a2}\n  - {name: b-key, organization: a1, mcp: {servers: [github]}}\n"
		storetest.MustApply(t, st, storetest.MustLoad(t, second))

		doc, _, err := st.LoadDocument(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		names := func(n int, name func(int) string) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = name(i)
			}
			return out
		}
		wantOrgs := append([]string{"a1", "a2"}, orgs...)
		if got := names(len(doc.Organizations), func(i int) string { return doc.Organizations[i].Name }); !slices.Equal(got, wantOrgs) {
			t.Errorf("organizations = %v, want %v", got, wantOrgs)
		}
		wantKeys := append([]string{"a-key", "b-key"}, keys...)
		if got := names(len(doc.Keys), func(i int) string { return doc.Keys[i].Name }); !slices.Equal(got, wantKeys) {
			t.Errorf("keys = %v, want %v", got, wantKeys)
		}
		// Each level's entries reach it, and only it.
		if k := doc.Keys[1]; k.Name != "b-key" || k.MCP == nil || !slices.Equal(k.MCP.Servers, []string{"github"}) || len(k.DenyTools) != 0 {
			t.Errorf("b-key = %+v, want mcp servers [github] and no deny_tools", k)
		}
		for _, k := range doc.Keys[2:] {
			if !slices.Equal(k.DenyTools, []string{"github/list_issues"}) || k.MCP != nil {
				t.Errorf("%s = %+v, want deny_tools [github/list_issues] and no mcp block", k.Name, k)
			}
		}
		if o := doc.Organizations[1]; !o.Blocked || o.MCP != nil {
			t.Errorf("a2 = %+v, want blocked without mcp block", o)
		}
	})
}
