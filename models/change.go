package models

// ValidateChange checks the principals of put (its organizations, teams, keys, end users and
// agents; its catalogue lists are ignored) as Validate would check them inside cur with
// put's principals created or replaced and the principals named in removed (kind -> names)
// gone: their names, their references (a team's organization; a key's team, organization and
// agent) and their MCP selections and deny lists against cur's catalogue. Only put is checked:
// cur needs to hold only the catalogue and the principals put refers to, so a change to one key
// costs the same in a policy of ten keys or of 100,000. Paths are put's (`keys[0].team`). Names
// already taken are the caller's to check (it knows whether the change creates).
func (cur *Document) ValidateChange(put *Document, removed map[string][]string) Problems {
	gone := func(kind string) map[string]bool {
		m := map[string]bool{}
		for _, n := range removed[kind] {
			m[n] = true
		}
		return m
	}
	// put's entities come first, so put's indices are the merged lists' too.
	merged := &Document{Servers: cur.Servers, AccessGroups: cur.AccessGroups, Toolsets: cur.Toolsets,
		Organizations: overlay(put.Organizations, cur.Organizations, gone(KindOrganization), func(o *OrganizationDoc) string { return o.Name }),
		Teams:         overlay(put.Teams, cur.Teams, gone(KindTeam), func(t *TeamDoc) string { return t.Name }),
		Agents:        overlay(put.Agents, cur.Agents, gone(KindAgent), func(a *AgentDoc) string { return a.Name }),
		Keys:          put.Keys, EndUsers: put.EndUsers,
	}
	v := validator{d: merged}
	v.index()
	v.principals(len(put.Organizations), len(put.Teams), len(put.Keys), len(put.EndUsers), len(put.Agents))
	if len(v.probs) == 0 {
		return nil
	}
	return v.probs
}

// overlay is put's entities followed by base's that put does not replace and that are not gone.
func overlay[D any](put, base []D, gone map[string]bool, name func(*D) string) []D {
	out := append(make([]D, 0, len(put)+len(base)), put...)
	in := make(map[string]bool, len(put))
	for i := range put {
		in[name(&put[i])] = true
	}
	for i := range base {
		if n := name(&base[i]); !in[n] && !gone[n] {
			out = append(out, base[i])
		}
	}
	return out
}
