package resolver

import (
	"maps"
	"slices"

	"github.com/warden-mcp/warden/models"
)

// docKind tells the generic record keeping of Build and derive where a kind of document keeps
// its name and its level (the parts a snapshot must copy, since the caller may change them).
type docKind[D any] func(*D) (name *string, mcp **models.MCPPermission, deny *[]string)

var (
	orgKind docKind[models.OrganizationDoc] = func(d *models.OrganizationDoc) (*string, **models.MCPPermission, *[]string) {
		return &d.Name, &d.MCP, &d.DenyTools
	}
	teamKind docKind[models.TeamDoc] = func(d *models.TeamDoc) (*string, **models.MCPPermission, *[]string) {
		return &d.Name, &d.MCP, &d.DenyTools
	}
	keyKind docKind[models.KeyDoc] = func(d *models.KeyDoc) (*string, **models.MCPPermission, *[]string) {
		return &d.Name, &d.MCP, &d.DenyTools
	}
	agentKind docKind[models.AgentDoc] = func(d *models.AgentDoc) (*string, **models.MCPPermission, *[]string) {
		return &d.Name, &d.MCP, &d.DenyTools
	}
	userKind docKind[models.EndUserDoc] = func(d *models.EndUserDoc) (*string, **models.MCPPermission, *[]string) {
		return &d.Name, &d.MCP, &d.DenyTools
	}
)

// private makes d the snapshot's own copy: its level no longer shares memory with the caller's.
// It returns d's name.
func (k docKind[D]) private(d *D) string {
	name, p, deny := k(d)
	*p, *deny = (*p).Clone(), slices.Clone(*deny)
	return *name
}

// records keeps the first document of each name as private copies, in one allocation, with
// their index by name and one record each (rec gets a pointer into the kept copies).
func records[D, R any](k docKind[D], docs []D, rec func(*D) R) ([]R, map[string]int32) {
	idx := make(map[string]int32, len(docs))
	kept := make([]D, 0, len(docs))
	// By index, so that no document escapes to the heap on its own.
	for i := range docs {
		name, _, _ := k(&docs[i])
		if _, dup := idx[*name]; dup {
			continue
		}
		kept = append(kept, docs[i])
		idx[k.private(&kept[len(kept)-1])] = int32(len(kept) - 1)
	}
	out := make([]R, len(kept))
	for i := range kept {
		out[i] = rec(&kept[i])
	}
	return out, idx
}

// putRecords inserts or replaces (by name) a record per document in a derived snapshot, copy on
// write: recs is already the derived snapshot's own list, *idx is shared with the parent's
// (parent) until the first insert clones it. moved (nil: never) tells whether a replacement
// changes what the record refers to. It returns the records' indices and whether the
// snapshot's structure changed: a record was inserted or moved.
func putRecords[D, R any](k docKind[D], recs *[]R, idx *map[string]int32, parent map[string]int32, docs []D,
	rec func(*D) R, moved func(old *R, d *D) bool) (ids []int32, structural bool) {
	for _, d := range docs { // d is this iteration's own copy: the record points at it
		name := k.private(&d)
		r := rec(&d)
		i, ok := (*idx)[name]
		if ok {
			if moved != nil && moved(&(*recs)[i], &d) {
				structural = true
			}
			(*recs)[i] = r
		} else {
			if len(*idx) == len(parent) {
				*idx = maps.Clone(parent)
			}
			i = int32(len(*recs))
			(*idx)[name] = i
			*recs = append(*recs, r)
			structural = true
		}
		ids = append(ids, i)
	}
	return ids, structural
}

func (b *builder) orgRec(d *models.OrganizationDoc) orgRec {
	return orgRec{name: d.Name, doc: d, blocked: d.Blocked, level: b.level(d.MCP, d.DenyTools)}
}

// teamRec leaves org to resolveRefs (or the caller).
func (b *builder) teamRec(d *models.TeamDoc) teamRec {
	return teamRec{name: d.Name, doc: d, blocked: d.Blocked, level: b.level(d.MCP, d.DenyTools)}
}

// keyRec leaves the references to resolveKey.
func (b *builder) keyRec(d *models.KeyDoc) keyRec {
	return keyRec{doc: d, blocked: d.Blocked, level: b.level(d.MCP, d.DenyTools)}
}

func (b *builder) agentRec(d *models.AgentDoc) agentRec {
	return agentRec{name: d.Name, doc: d, level: b.level(d.MCP, d.DenyTools)}
}

func (b *builder) userRec(d *models.EndUserDoc) userRec {
	return userRec{name: d.Name, doc: d, level: b.level(d.MCP, d.DenyTools)}
}
