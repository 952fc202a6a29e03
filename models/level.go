package models

// ValidateLevel checks one level's MCP permission and deny list against d's servers, access
// groups and toolsets, reporting problems under path (e.g. "mcp.servers[1]"). The console uses it
// on a draft before the draft exists anywhere in a document. It returns nil when all is well.
func (d *Document) ValidateLevel(p *MCPPermission, deny []string) Problems {
	v := validator{d: d}
	v.indexCatalogue()
	v.mcp("mcp", p)
	v.toolRefs("deny_tools", deny)
	if len(v.probs) == 0 {
		return nil
	}
	return v.probs
}

// Server returns the server with that name, or nil.
func (d *Document) Server(name string) *ServerDoc {
	for i := range d.Servers {
		if d.Servers[i].Name == name {
			return &d.Servers[i]
		}
	}
	return nil
}
