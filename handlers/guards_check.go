package handlers

// Guards on drafts: the piece every settings page's preview and save share. A page computes
// its draft's snapshot from the current one (as its preview does) and hands both here; the
// preview shows what checkGuards found, and the save goes through guardedSave so that the
// check is made again against the state the save's transaction actually sees.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// guardCheck is a draft measured against the guards: each guard's violations with the draft
// saved, and the ones of those the current state does not have (which refuse the save).
type guardCheck struct {
	guards []models.GuardDoc
	draft  []resolver.GuardReport
	added  []resolver.GuardReport
}

// checkGuards evaluates the current guards on the current snapshot and on the draft's.
func checkGuards(guards []models.GuardDoc, current, draft *resolver.Snapshot) guardCheck {
	if len(guards) == 0 {
		return guardCheck{}
	}
	_, after, added := resolver.CheckGuardChange(current, draft, guards)
	return guardCheck{guards: guards, draft: after, added: added}
}

// Blocked reports whether the draft adds a violation, so saving it is refused.
func (g guardCheck) Blocked() bool { return len(g.added) > 0 }

// guardJSON is one guard in a preview's JSON: every violation with the draft saved, and those
// it adds to the current state (empty when saving is allowed).
type guardJSON struct {
	Name       string                    `json:"name"`
	Violations []resolver.GuardViolation `json:"violations"`
	Added      []resolver.GuardViolation `json:"added"`
}

// JSON is the preview's "guards" member: every guard, in the guards' order.
func (g guardCheck) JSON() []guardJSON {
	out := make([]guardJSON, len(g.draft))
	added := map[string][]resolver.GuardViolation{}
	for _, r := range g.added {
		added[r.Name] = r.Violations
	}
	for i, r := range g.draft {
		a := added[r.Name]
		if a == nil {
			a = []resolver.GuardViolation{}
		}
		out[i] = guardJSON{Name: r.Name, Violations: r.Violations, Added: a}
	}
	return out
}

// guardRowsPerGuard bounds the principals a preview lists per guard; the rest are counted.
const guardRowsPerGuard = 10

// Props is the panel's guard section: violations the draft adds first (they refuse the save),
// then those that exist already (warnings).
func (g guardCheck) Props() views.GuardsProps {
	p := views.GuardsProps{Evaluated: len(g.guards)}
	added := map[string]map[string]bool{} // guard -> principal names with something added
	for _, r := range g.added {
		m := map[string]bool{}
		for _, v := range r.Violations {
			m[string(v.Kind)+"/"+v.Name] = true
		}
		added[r.Name] = m
	}
	for i, r := range g.draft {
		if len(r.Violations) == 0 {
			continue
		}
		gd := &g.guards[i]
		var fresh, old []resolver.GuardViolation
		for _, v := range r.Violations {
			if added[r.Name][string(v.Kind)+"/"+v.Name] {
				fresh = append(fresh, v)
			} else {
				old = append(old, v)
			}
		}
		if len(fresh) > 0 {
			p.Added = append(p.Added, guardViolations(gd, fresh))
		}
		if len(old) > 0 {
			p.Existing = append(p.Existing, guardViolations(gd, old))
		}
	}
	return p
}

// guardViolations is one guard's rows in the panel.
func guardViolations(g *models.GuardDoc, vs []resolver.GuardViolation) views.GuardViolations {
	out := views.GuardViolations{Guard: g.Name, Description: g.Description, Rule: GuardRule(g), Total: len(vs)}
	for i, v := range vs {
		if i == guardRowsPerGuard {
			out.More = len(vs) - i
			break
		}
		out.Rows = append(out.Rows, views.GuardViolationRow{Kind: string(v.Kind), Name: v.Name, Tools: v.Tools})
	}
	return out
}

// GuardRule says what a guard demands in a few words: "forbids */delete_*, postgres/execute
// for keys bound to an agent", "at most 5 keys may call postgres/execute".
func GuardRule(g *models.GuardDoc) string {
	var s string
	if g.IsForbid() {
		s = "forbids " + strings.Join(g.Forbid, ", ")
	} else {
		n := 0
		if g.AtMost != nil {
			n = *g.AtMost
		}
		s = fmt.Sprintf("at most %d %s may call %s", n, plural(n, "key", "keys"), g.Tool)
	}
	return s + " " + scopeWords(g.For)
}

func scopeWords(sc *models.GuardScope) string {
	if sc == nil {
		return "for every key"
	}
	var names []string
	for _, part := range []struct {
		word  string
		names []string
	}{{"organization", sc.Organizations}, {"team", sc.Teams}, {"key", sc.Keys}} {
		if len(part.names) > 0 {
			names = append(names, part.word+" "+strings.Join(part.names, ", "))
		}
	}
	s := "for keys"
	if sc.AgentBound {
		s += " bound to an agent"
	}
	if len(names) > 0 {
		s += " of " + strings.Join(names, "; ")
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// GuardRefusal is a save refused because its draft adds guard violations.
type GuardRefusal struct{ Check guardCheck }

func (e *GuardRefusal) Error() string {
	names := make([]string, len(e.Check.added))
	for i, r := range e.Check.added {
		names[i] = r.Name
	}
	return "the draft breaks " + plural(len(names), "guard ", "guards ") + strings.Join(names, ", ")
}

// errViewBehind: the store is at a newer revision than the view the check was made on.
var errViewBehind = errors.New("the enforced view is behind the database")

// guardedSaveAttempts bounds how often a save is retried because the state moved between the
// check and the save's transaction; each retry refreshes the view first.
const guardedSaveAttempts = 4

// guardedSave runs write, which must pass verify to its store transaction (which calls it under
// the policy lock with the revision it is at, before writing). verify checks the draft against
// the guards on the view at exactly that revision: draft builds the draft's snapshot from a
// view. When the store is ahead of the view, the transaction is abandoned, the view refreshed
// and the save tried again, so the check is always made against the state the save changes. A
// draft adding a violation fails with *GuardRefusal and writes nothing.
func guardedSave(ctx context.Context, state PolicyState, draft func(*live.View) *resolver.Snapshot, write func(verify func(int64) error) error) error {
	for attempt := 1; ; attempt++ {
		v, err := state.View()
		if err != nil {
			return err
		}
		verify := func(rev int64) error {
			if rev != v.Revision {
				return errViewBehind
			}
			if check := checkGuards(v.Doc.Guards, v.Snapshot, draft(v)); check.Blocked() {
				return &GuardRefusal{Check: check}
			}
			return nil
		}
		err = write(verify)
		if !errors.Is(err, errViewBehind) {
			return err
		}
		if attempt == guardedSaveAttempts {
			return models.Errorf(models.EConflict, "the policy kept changing while saving; nothing was saved, try again")
		}
		if err := state.Refresh(ctx); err != nil {
			return err
		}
	}
}

// verifyGuards is a whole-document save's guard check (store.DocumentUpdate.Verify): the
// draft may keep the violations the current state has, and add none.
func verifyGuards(cur, next *models.Document) error {
	if len(next.Guards) == 0 && len(cur.Guards) == 0 {
		return nil
	}
	if check := checkGuards(next.Guards, resolver.Build(cur), resolver.Build(next)); check.Blocked() {
		return &GuardRefusal{Check: check}
	}
	return nil
}
