package models

// ValidateLevel checks one level's MCP permission and deny list against d's servers, access
// groups and toolsets, reporting problems under path (e.g. "mcp.servers[1]"). The console uses it
// on a draft before the draft exists anywhere in a document. It returns nil when all is well.
func (d *Document) ValidateLevel(p *MCPPermission, deny []string) Problems {
	v := validator{d: d}
	v.srv = firstIndex(len(d.Servers), func(i int) string { return d.Servers[i].Name })
	v.groups = firstIndex(len(d.AccessGroups), func(i int) string { return d.AccessGroups[i].Name })
	v.sets = firstIndex(len(d.Toolsets), func(i int) string { return d.Toolsets[i].Name })
	v.catalogue = make(map[string]map[string]bool, len(v.srv))
	for name, i := range v.srv {
		tools := make(map[string]bool, len(d.Servers[i].Tools))
		for _, t := range d.Servers[i].Tools {
			tools[t.Name] = true
		}
		v.catalogue[name] = tools
	}
	v.mcp("mcp", p)
	v.toolRefs("deny_tools", deny)
	if len(v.probs) == 0 {
		return nil
	}
	return v.probs
}

// Catalogue returns the server with that name, or nil.
func (d *Document) Server(name string) *ServerDoc {
	for i := range d.Servers {
		if d.Servers[i].Name == name {
			return &d.Servers[i]
		}
	}
	return nil
}
