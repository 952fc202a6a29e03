package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func TestReviewReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		at := func(h int, ns int) time.Time { return base.Add(time.Duration(h)*time.Hour + time.Duration(ns)) }
		call := func(t time.Time, key, server, tool string, allowed bool, by string) models.Decision {
			return models.Decision{At: t, Kind: models.DecisionCall, KeyName: key, Server: server, Tool: tool, Allowed: allowed, DecidedBy: by, Revision: 3}
		}
		rows := []models.Decision{
			call(at(0, 0), "ci-bot", "github", "list_issues", true, ""),
			call(at(5, 250_000_000), "ci-bot", "github", "list_issues", true, ""), // fraction: text order must hold
			call(at(5, 0), "ci-bot", "github", "list_issues", true, ""),
			call(at(6, 0), "ci-bot", "github", "delete_repo", false, "organization"),
			call(at(2, 0), "deploy", "github", "list_issues", true, ""),
			call(at(-48, 0), "old", "github", "list_issues", true, ""),
			{At: at(7, 0), Kind: models.DecisionList, KeyName: "lister", Server: "github", Allowed: true, Revision: 3},
		}
		// Recorded as the decision log's writer records them: raw rows and the hourly rollup.
		storetest.RecordDecisions(t, st, rows...)
		last, err := st.LastCalls(ctx, "github", "list_issues", base.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(last) != 2 || !last["ci-bot"].Last.Equal(at(5, 250_000_000)) || last["ci-bot"].Calls != 3 ||
			!last["deploy"].Last.Equal(at(2, 0)) || last["deploy"].Calls != 1 {
			t.Errorf("last calls %+v", last)
		}
		used, err := st.CalledTools(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range used {
			got = append(got, u.Key+" "+u.Server+"/"+u.Tool)
		}
		slices.Sort(got)
		// Calls are what the rollup counts: every tools/call, the refused one too (a key that
		// holds a tool is not refused it by the policy), and no tools/list.
		if want := []string{"ci-bot github/delete_repo", "ci-bot github/list_issues", "deploy github/list_issues", "old github/list_issues"}; !slices.Equal(got, want) {
			t.Errorf("called tools %q, want %q", got, want)
		}

		page := func(q store.DecisionQuery) []string {
			t.Helper()
			ds, err := st.QueryDecisions(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, d := range ds {
				out = append(out, d.KeyName+"@"+d.At.UTC().Format("15:04:05.00"))
			}
			return out
		}
		denied := false
		for _, tc := range []struct {
			q    store.DecisionQuery
			want []string
		}{
			{store.DecisionQuery{DecidedBy: "organization"}, []string{"ci-bot@16:00:00.00"}},
			{store.DecisionQuery{DecisionFilter: store.DecisionFilter{Allowed: &denied}}, []string{"ci-bot@16:00:00.00"}},
			{store.DecisionQuery{DecidedBy: "allowed", DecisionFilter: store.DecisionFilter{Key: "ci-bot"}},
				[]string{"ci-bot@15:00:00.00", "ci-bot@15:00:00.25", "ci-bot@10:00:00.00"}},
			{store.DecisionQuery{DecisionFilter: store.DecisionFilter{Since: at(1, 0), Until: at(6, 0), Tool: "list_issues"}},
				[]string{"deploy@12:00:00.00", "ci-bot@15:00:00.00", "ci-bot@15:00:00.25"}},
		} {
			if got := page(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("%+v: %q, want %q", tc.q, got, tc.want)
			}
		}
		// Keyset paging: two rows a page, the next page starts below the last id seen.
		first, _ := st.QueryDecisions(ctx, store.DecisionQuery{DecisionFilter: store.DecisionFilter{Limit: 2}})
		second, _ := st.QueryDecisions(ctx, store.DecisionQuery{DecisionFilter: store.DecisionFilter{Limit: 2, BeforeID: first[1].ID}})
		if len(first) != 2 || len(second) != 2 || first[0].ID <= first[1].ID || second[0].ID >= first[1].ID || second[0].ID <= second[1].ID {
			t.Errorf("pages %+v then %+v", first, second)
		}
	})
}
