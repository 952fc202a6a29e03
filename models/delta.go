package models

import "sort"

// SetDelta is how one set of names differs from another: what was added and what removed,
// each sorted.
type SetDelta struct {
	Added, Removed []string
}

// Empty reports whether nothing was added or removed.
func (d SetDelta) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 }

// DiffSet returns what turns set from into set to. Duplicates and order do not matter.
func DiffSet(from, to []string) SetDelta {
	in := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, s := range list {
			m[s] = true
		}
		return m
	}
	f, t := in(from), in(to)
	var d SetDelta
	for s := range t {
		if !f[s] {
			d.Added = append(d.Added, s)
		}
	}
	for s := range f {
		if !t[s] {
			d.Removed = append(d.Removed, s)
		}
	}
	sort.Strings(d.Added)
	sort.Strings(d.Removed)
	return d
}

// Apply returns set with d's removals taken out and its additions put in, sorted; nil when
// nothing is left.
func (d SetDelta) Apply(set []string) []string {
	gone := make(map[string]bool, len(d.Removed))
	for _, s := range d.Removed {
		gone[s] = true
	}
	var out []string
	for _, s := range set {
		if !gone[s] {
			out = append(out, s)
		}
	}
	return sortedSet(append(out, d.Added...))
}

// OrganizationDelta is how an organization's settings differ between two versions, field by
// field: the sets by what was added and removed, the switches by their new value (nil when
// unchanged). It is what a person edited relative to the settings they loaded, or what
// another change did, and it can be re-applied to other settings (see Rebase).
type OrganizationDelta struct {
	Blocked *bool
	// Limit is the change of mode: true when the organization starts limiting MCP access to
	// its selection, false when it stops (no mcp block).
	Limit        *bool
	Servers      SetDelta
	AccessGroups SetDelta
	Toolsets     SetDelta
	DenyTools    SetDelta
	// LimitedServers are the servers limited to some of their tools (the keys of mcp.tools);
	// Tools is, per server, how the tools it is limited to changed (a server not limited
	// counts as limited to none).
	LimitedServers SetDelta
	Tools          map[string]SetDelta
}

// DiffOrganization returns what turns from's settings into to's. Names are not compared.
func DiffOrganization(from, to OrganizationDoc) OrganizationDelta {
	var d OrganizationDelta
	if from.Blocked != to.Blocked {
		d.Blocked = &to.Blocked
	}
	if fl, tl := from.MCP != nil, to.MCP != nil; fl != tl {
		d.Limit = &tl
	}
	fm, tm := mcpOrEmpty(from.MCP), mcpOrEmpty(to.MCP)
	d.Servers = DiffSet(fm.Servers, tm.Servers)
	d.AccessGroups = DiffSet(fm.AccessGroups, tm.AccessGroups)
	d.Toolsets = DiffSet(fm.Toolsets, tm.Toolsets)
	d.DenyTools = DiffSet(from.DenyTools, to.DenyTools)
	d.LimitedServers = DiffSet(mapKeys(fm.Tools), mapKeys(tm.Tools))
	for _, s := range sortedSet(append(mapKeys(fm.Tools), mapKeys(tm.Tools)...)) {
		if td := DiffSet(fm.Tools[s], tm.Tools[s]); !td.Empty() {
			if d.Tools == nil {
				d.Tools = map[string]SetDelta{}
			}
			d.Tools[s] = td
		}
	}
	return d
}

// Empty reports whether the two versions had the same settings.
func (d OrganizationDelta) Empty() bool {
	if d.Blocked != nil || d.Limit != nil {
		return false
	}
	for _, s := range []SetDelta{d.Servers, d.AccessGroups, d.Toolsets, d.DenyTools, d.LimitedServers} {
		if !s.Empty() {
			return false
		}
	}
	return len(d.Tools) == 0
}

// Apply returns org with the delta applied: each set loses what the delta removed and gains
// what it added, whatever else it holds, and each switch the delta changed takes the delta's
// value. With the limit off the result has no mcp block; with it on, the selection is org's
// (empty when org had none) with the delta applied.
func (d OrganizationDelta) Apply(org OrganizationDoc) OrganizationDoc {
	out := OrganizationDoc{Name: org.Name, Blocked: org.Blocked}
	if d.Blocked != nil {
		out.Blocked = *d.Blocked
	}
	limit := org.MCP != nil
	if d.Limit != nil {
		limit = *d.Limit
	}
	out.DenyTools = d.DenyTools.Apply(org.DenyTools)
	if !limit {
		return out
	}
	cur := mcpOrEmpty(org.MCP)
	p := &MCPPermission{
		Servers:      d.Servers.Apply(cur.Servers),
		AccessGroups: d.AccessGroups.Apply(cur.AccessGroups),
		Toolsets:     d.Toolsets.Apply(cur.Toolsets),
	}
	for _, s := range d.LimitedServers.Apply(mapKeys(cur.Tools)) {
		if p.Tools == nil {
			p.Tools = map[string][]string{}
		}
		// A server limited to no tool stays in the map: that is a limit to nothing.
		p.Tools[s] = d.Tools[s].Apply(cur.Tools[s])
		if p.Tools[s] == nil {
			p.Tools[s] = []string{}
		}
	}
	out.MCP = p
	return out
}

// Rebase re-applies the edits a person made, from the settings they loaded (base) to their
// draft (mine), on top of the settings as they are now (current): a three-way merge, set-wise.
// What the person added is added and what they removed is removed; what anyone else changed
// and the person did not touch stays as it is now. A switch (blocked, the limit) takes the
// draft's value only if the person changed it.
func Rebase(base, mine, current OrganizationDoc) OrganizationDoc {
	return DiffOrganization(base, mine).Apply(current)
}

func mcpOrEmpty(p *MCPPermission) MCPPermission {
	if p == nil {
		return MCPPermission{}
	}
	return *p
}

func mapKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
