package store_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

// base imports the small document into st and returns that state as a plan records it.
func base(t *testing.T, st *store.Store) (store.Base, *models.Document) {
	t.Helper()
	storetest.MustApply(t, st, storetest.MustLoad(t, small))
	doc, rev, err := st.LoadDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, sum, err := models.CanonicalDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	return store.Base{Revision: rev, SHA256: sum}, doc
}

func TestApplyPlanned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, cur := base(t, st)
		next := cur.Clone()
		next.Keys[0].Blocked = true

		sum, err := st.ApplyPlanned(ctx, next, "planner", b)
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Changed || sum.Revision != b.Revision+1 {
			t.Fatalf("summary %+v, want a change at revision %d", sum, b.Revision+1)
		}
		got, _, _ := st.LoadDocument(ctx)
		if !reflect.DeepEqual(got, normalized(next)) {
			t.Errorf("stored state is not the planned document")
		}
	})
}

// TestApplyPlannedStale: a write between plan and apply makes the plan stale; applying it
// writes nothing and says who changed what since.
func TestApplyPlannedStale(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, cur := base(t, st)
		planned := cur.Clone()
		planned.Keys[0].Blocked = true

		// Someone else saves meanwhile.
		other := cur.Clone()
		other.Teams[0].Blocked = true
		if _, err := st.ApplyDocument(ctx, other, "bob"); err != nil {
			t.Fatal(err)
		}
		before, rev, _ := st.LoadDocument(ctx)

		_, err := st.ApplyPlanned(ctx, planned, "planner", b)
		var ce *models.ConflictError
		if !errors.As(err, &ce) || ce.Reason != models.ConflictRevision {
			t.Fatalf("err = %v, want a revision conflict", err)
		}
		if models.ErrorCode(err) != models.EConflict {
			t.Errorf("code %q, want conflict", models.ErrorCode(err))
		}
		if ce.Since != b.Revision || ce.Revision != rev || len(ce.Changes) != 1 || ce.Omitted != 0 {
			t.Fatalf("conflict %+v, want since %d, now %d, one change", ce, b.Revision, rev)
		}
		if c := ce.Changes[0]; c.Actor != "bob" || c.Action != "update" || c.EntityKind != models.KindTeam || c.At.IsZero() || c.Revision != rev {
			t.Errorf("change %+v, want bob's update of a team at revision %d", c, rev)
		}
		if !strings.Contains(err.Error(), "bob") {
			t.Errorf("message %q does not name who changed the policy", err)
		}
		after, rev2, _ := st.LoadDocument(ctx)
		if rev2 != rev || !reflect.DeepEqual(after, before) {
			t.Errorf("a stale plan wrote: revision %d -> %d", rev, rev2)
		}
	})
}

// TestApplyPlannedOtherState: a plan is refused when the revision matches but the document
// does not (another database), and when the database is behind the plan.
func TestApplyPlannedOtherState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, cur := base(t, st)
		for name, bad := range map[string]store.Base{
			"other document": {Revision: b.Revision, SHA256: strings.Repeat("0", 64)},
			"future":         {Revision: b.Revision + 5, SHA256: b.SHA256},
		} {
			_, err := st.ApplyPlanned(ctx, cur, "planner", bad)
			var ce *models.ConflictError
			if !errors.As(err, &ce) || ce.Reason != models.ConflictRevision || ce.Cause == "" || len(ce.Changes) != 0 {
				t.Errorf("%s: err = %v, want a revision conflict with a cause", name, err)
			}
		}
		if _, err := st.ApplyPlanned(ctx, cur, "planner", store.Base{Revision: -1}); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("negative revision: %v", err)
		}
		// An invalid document is refused before any check, as import refuses it.
		bad := cur.Clone()
		bad.Keys[0].Team = "nope"
		if _, err := st.ApplyPlanned(ctx, bad, "planner", b); !errors.As(err, new(models.Problems)) {
			t.Errorf("invalid document: %v", err)
		}
	})
}

// TestApplyPlannedManyChanges: the conflict lists the latest events and counts the rest.
func TestApplyPlannedManyChanges(t *testing.T) {
	st := storetest.Open(t, store.KindSQLite)
	ctx := context.Background()
	b, cur := base(t, st)
	next := cur.Clone()
	for i := range 250 {
		next.Keys = append(next.Keys, models.KeyDoc{Name: "bulk-" + strconv.Itoa(i)})
	}
	if _, err := st.ApplyDocument(ctx, next, "bulk"); err != nil {
		t.Fatal(err)
	}
	_, err := st.ApplyPlanned(ctx, cur, "planner", b)
	var ce *models.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	if len(ce.Changes) != 200 || ce.Omitted != 50 || !strings.Contains(err.Error(), "250 change(s)") {
		t.Errorf("%d changes listed, %d omitted (%v); want 200 and 50", len(ce.Changes), ce.Omitted, err)
	}
}

// TestApplyPlannedRace: plans made at one revision and applied at once: exactly one wins,
// because the revision is checked under the lock the write holds.
func TestApplyPlannedRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, cur := base(t, st)
		const n = 4
		errs := make(chan error, n)
		for i := range n {
			next := cur.Clone()
			next.Keys[0].DenyTools = []string{"jira/search"}
			next.Keys[0].Blocked = i%2 == 0
			next.Teams[0].Blocked = i%2 == 1
			go func() {
				_, err := st.ApplyPlanned(ctx, next, "planner-"+strconv.Itoa(i), b)
				errs <- err
			}()
		}
		won := 0
		for range n {
			err := <-errs
			var ce *models.ConflictError
			switch {
			case err == nil:
				won++
			case !errors.As(err, &ce) || ce.Reason != models.ConflictRevision:
				t.Errorf("unexpected error: %v", err)
			}
		}
		_, rev, _ := st.LoadDocument(ctx)
		if won != 1 || rev != b.Revision+1 {
			t.Errorf("%d plans applied, revision %d -> %d; want exactly one", won, b.Revision, rev)
		}
	})
}
