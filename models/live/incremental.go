package live

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
)

// An incremental refresh moves the view from its revision to the database's by reading only
// what changed in between (store.Changes: the audit events of the range and the current rows of
// the principals they name) and patching the view:
//   - Doc: the document's lists are copied shallowly and the changed principals replaced,
//     inserted or removed by name, keeping the lists in name order as LoadDocument returns them;
//   - Snapshot: derived from the previous one with the resolver's With*/Update, which recompute
//     only the principals under the changed ones and share everything else (Update rebuilds when
//     a principal was removed; that is still far cheaper than reading the policy back);
//   - KeysByHash: the changed keys' entries are replaced by their current secrets;
//   - Upstreams: shared, since no server changed.
//
// The result is what a full build at the new revision produces. Whenever the store cannot
// vouch for that (a server, access group or toolset changed, upstream headers were set, too
// much changed, a revision has no audit events) or the changes disagree with the view (an
// entity created that already existed, a missing one updated, ...), refresh falls back to the
// full build.

// incremental returns the view at the database's current revision patched from old, and the
// time its reads started. It returns a nil view and the reason when a full build is needed.
func (s *State) incremental(ctx context.Context, old *View) (*View, time.Time, string, error) {
	start, t0 := s.clock(), time.Now()
	ch, err := s.st.Changes(ctx, old.Revision)
	if err != nil {
		return nil, time.Time{}, "", fmt.Errorf("read changes since revision %d: %w", old.Revision, err)
	}
	if ch.Reload {
		return nil, time.Time{}, ch.Reason, nil
	}
	v, reason := patchView(old, ch)
	if v == nil {
		// The store vouched for the changes but they do not fit the view: a bug, or a writer
		// that does not keep the audit trail. The full build is still right.
		s.log.Warn("incremental policy refresh refused the changes; rebuilding", "revision", old.Revision, "reason", reason)
		return nil, time.Time{}, reason, nil
	}
	if v != old {
		v.BuiltAt = s.clock()
	}
	if s.m != nil {
		s.m.SnapshotRebuild.Observe(time.Since(t0).Seconds())
	}
	return v, start, "", nil
}

// patchView applies ch to old, or returns nil and why it cannot.
func patchView(old *View, ch *store.Changes) (v *View, reason string) {
	if ch.Reload || ch.Since != old.Revision || ch.Revision < old.Revision {
		return nil, fmt.Sprintf("changes from revision %d to %d do not apply to the view at %d", ch.Since, ch.Revision, old.Revision)
	}
	if ch.Revision == old.Revision {
		return old, ""
	}
	doc := old.Doc
	if reason := checkChanges(doc, ch); reason != "" {
		return nil, reason
	}

	// The principals whose document differs from the view's: only those touch the snapshot.
	var p patch
	p.orgs = changedDocs(doc.Organizations, ch.Organizations, func(d *models.OrganizationDoc) string { return d.Name })
	p.teams = changedDocs(doc.Teams, ch.Teams, func(d *models.TeamDoc) string { return d.Name })
	p.keys = changedDocs(doc.Keys, ch.Keys, func(d *models.KeyDoc) string { return d.Name })
	p.users = changedDocs(doc.EndUsers, ch.EndUsers, func(d *models.EndUserDoc) string { return d.Name })
	p.agents = changedDocs(doc.Agents, ch.Agents, func(d *models.AgentDoc) string { return d.Name })

	v = &View{Revision: ch.Revision, Doc: old.Doc, Snapshot: old.Snapshot, KeysByHash: old.KeysByHash, Upstreams: old.Upstreams}
	if p.count() > 0 {
		nd := *doc
		nd.Organizations = patchList(doc.Organizations, p.orgs, func(d *models.OrganizationDoc) string { return d.Name })
		nd.Teams = patchList(doc.Teams, p.teams, func(d *models.TeamDoc) string { return d.Name })
		nd.Keys = patchList(doc.Keys, p.keys, func(d *models.KeyDoc) string { return d.Name })
		nd.EndUsers = patchList(doc.EndUsers, p.users, func(d *models.EndUserDoc) string { return d.Name })
		nd.Agents = patchList(doc.Agents, p.agents, func(d *models.AgentDoc) string { return d.Name })
		snap, err := deriveSnapshot(old.Snapshot, &nd, &p)
		if err != nil {
			return nil, err.Error()
		}
		v.Doc, v.Snapshot = &nd, snap
	}
	if len(ch.Keys) > 0 {
		keys, reason := patchSecrets(old.KeysByHash, ch)
		if reason != "" {
			return nil, reason
		}
		v.KeysByHash = keys
	}
	return v, ""
}

// checkChanges verifies that ch's events agree with the view's document and with ch's own
// documents: an entity first created in the range did not exist, any other did; an entity last
// deleted is gone, any other exists.
func checkChanges(doc *models.Document, ch *store.Changes) string {
	for _, e := range ch.Entities {
		var existed, found, exists bool
		switch e.Kind {
		case models.KindOrganization:
			existed = has(doc.Organizations, e.Name, func(d *models.OrganizationDoc) string { return d.Name })
			exists, found = present(ch.Organizations, e.Name)
		case models.KindTeam:
			existed = has(doc.Teams, e.Name, func(d *models.TeamDoc) string { return d.Name })
			exists, found = present(ch.Teams, e.Name)
		case models.KindKey:
			existed = has(doc.Keys, e.Name, func(d *models.KeyDoc) string { return d.Name })
			exists, found = present(ch.Keys, e.Name)
		case models.KindEndUser:
			existed = has(doc.EndUsers, e.Name, func(d *models.EndUserDoc) string { return d.Name })
			exists, found = present(ch.EndUsers, e.Name)
		case models.KindAgent:
			existed = has(doc.Agents, e.Name, func(d *models.AgentDoc) string { return d.Name })
			exists, found = present(ch.Agents, e.Name)
		default:
			return fmt.Sprintf("unexpected change of %s %q", e.Kind, e.Name)
		}
		switch {
		case !found || len(e.Actions) == 0:
			return fmt.Sprintf("the changes do not describe %s %q", e.Kind, e.Name)
		case (e.Actions[0] == "create") == existed:
			return fmt.Sprintf("%s %q was %sd first but existed=%t at revision %d", e.Kind, e.Name, e.Actions[0], existed, ch.Since)
		case (e.Actions[len(e.Actions)-1] == "delete") == exists:
			return fmt.Sprintf("%s %q was %sd last but exists=%t at revision %d", e.Kind, e.Name, e.Actions[len(e.Actions)-1], exists, ch.Revision)
		}
	}
	n := len(ch.Organizations) + len(ch.Teams) + len(ch.Keys) + len(ch.EndUsers) + len(ch.Agents)
	if n != len(ch.Entities) {
		return fmt.Sprintf("the changes name %d entities but describe %d", len(ch.Entities), n)
	}
	return ""
}

func has[D any](list []D, name string, nameOf func(*D) string) bool {
	_, ok := slices.BinarySearchFunc(list, name, func(d D, n string) int { return strings.Compare(nameOf(&d), n) })
	return ok
}

func present[D any](m map[string]*D, name string) (exists, found bool) {
	d, found := m[name]
	return d != nil, found
}

// patch holds the principals whose document changed, by name (nil: removed).
type patch struct {
	orgs   map[string]*models.OrganizationDoc
	teams  map[string]*models.TeamDoc
	keys   map[string]*models.KeyDoc
	users  map[string]*models.EndUserDoc
	agents map[string]*models.AgentDoc
}

func (p *patch) count() int {
	return len(p.orgs) + len(p.teams) + len(p.keys) + len(p.users) + len(p.agents)
}

func (p *patch) removals() bool {
	return hasNil(p.orgs) || hasNil(p.teams) || hasNil(p.keys) || hasNil(p.users) || hasNil(p.agents)
}

func hasNil[D any](m map[string]*D) bool {
	for _, d := range m {
		if d == nil {
			return true
		}
	}
	return false
}

// changedDocs keeps the entries of changed whose document differs from the one in list (a
// name-sorted list): new, removed or different. Both sides are normalized, so equal content is
// deeply equal.
func changedDocs[D any](list []D, changed map[string]*D, nameOf func(*D) string) map[string]*D {
	var out map[string]*D
	for name, d := range changed {
		i, ok := slices.BinarySearchFunc(list, name, func(x D, n string) int { return strings.Compare(nameOf(&x), n) })
		if ok == (d != nil) && (d == nil || reflect.DeepEqual(list[i], *d)) {
			continue // still absent, or unchanged
		}
		if out == nil {
			out = map[string]*D{}
		}
		out[name] = d
	}
	return out
}

// patchList returns list (sorted by name) with the named entries replaced, inserted or (nil)
// removed, still sorted; list itself is not modified. An empty result is nil, as Normalize
// leaves it.
func patchList[D any](list []D, changed map[string]*D, nameOf func(*D) string) []D {
	if len(changed) == 0 {
		return list
	}
	names := slices.Sorted(maps.Keys(changed))
	out := make([]D, 0, len(list)+len(names))
	i := 0
	for _, n := range names {
		j, found := slices.BinarySearchFunc(list[i:], n, func(x D, n string) int { return strings.Compare(nameOf(&x), n) })
		out = append(out, list[i:i+j]...)
		i += j
		if found {
			i++ // replaced or removed
		}
		if d := changed[n]; d != nil {
			out = append(out, *d)
		}
	}
	out = append(out, list[i:]...)
	if len(out) == 0 {
		return nil
	}
	return out
}

// deriveSnapshot is the snapshot of doc derived from prev, which is the snapshot of the
// document before p. A panic (a bug meeting unexpected data) becomes an error.
func deriveSnapshot(prev *resolver.Snapshot, doc *models.Document, p *patch) (snap *resolver.Snapshot, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("derive snapshot: panic: %v", r)
		}
	}()
	if p.count() == 1 && !p.removals() {
		// One principal inserted or replaced: recompute only what is under it.
		for _, d := range p.orgs {
			return prev.WithOrganization(*d), nil
		}
		for _, d := range p.teams {
			return prev.WithTeam(*d), nil
		}
		for _, d := range p.keys {
			return prev.WithKey(*d), nil
		}
		for _, d := range p.agents {
			return prev.WithAgent(*d), nil
		}
		for _, d := range p.users {
			return prev.WithEndUser(*d), nil
		}
	}
	// Several, or a removal: Update finds the changed principals itself (and rebuilds when one
	// was removed).
	return prev.Update(doc), nil
}

// patchSecrets returns keys with the entries of every key in ch.Keys replaced by ch.KeySecrets.
func patchSecrets(keys map[string]string, ch *store.Changes) (map[string]string, string) {
	out := maps.Clone(keys)
	if out == nil {
		out = map[string]string{}
	}
	for hash, name := range keys {
		if _, changed := ch.Keys[name]; changed {
			delete(out, hash)
		}
	}
	for hash, name := range ch.KeySecrets {
		if _, changed := ch.Keys[name]; !changed {
			return nil, fmt.Sprintf("the changes hold a secret of key %q, which did not change", name)
		}
		if other, taken := out[hash]; taken {
			return nil, fmt.Sprintf("keys %q and %q share a secret", other, name)
		}
		out[hash] = name
	}
	return out, ""
}
