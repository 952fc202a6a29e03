package resolver

import "slices"

// ServerCatalogue is one MCP server's catalogue as the resolver applies it.
type ServerCatalogue struct {
	Name   string `json:"name"`
	Public bool   `json:"public,omitempty"`
	// Tools is the effective catalogue: the server's tools minus its disabled_tools, sorted.
	// Only these can be granted, by any rule.
	Tools []string `json:"tools"`
	// Disabled are the disabled_tools that name a tool of the server, sorted.
	Disabled []string `json:"disabled,omitempty"`
	// UnknownDisabled are the disabled_tools that name no tool of the server (they disable
	// nothing), sorted.
	UnknownDisabled []string `json:"unknown_disabled,omitempty"`
}

// Enabled reports whether tool is in the effective catalogue.
func (c ServerCatalogue) Enabled(tool string) bool {
	_, ok := slices.BinarySearch(c.Tools, tool)
	return ok
}

// IsDisabled reports whether tool is a tool of the server that disabled_tools turns off.
func (c ServerCatalogue) IsDisabled(tool string) bool {
	_, ok := slices.BinarySearch(c.Disabled, tool)
	return ok
}

// AllTools is every tool of the server, enabled or disabled, sorted.
func (c ServerCatalogue) AllTools() []string {
	out := slices.Concat(c.Tools, c.Disabled)
	slices.Sort(out)
	return out
}

// Server returns a server's catalogue; false if there is no such server.
func (s *Snapshot) Server(name string) (ServerCatalogue, bool) {
	i, ok := s.w.cat.idx[name]
	if !ok {
		return ServerCatalogue{}, false
	}
	return s.w.cat.server(i), true
}

// Servers returns every server's catalogue, by name.
func (s *Snapshot) Servers() []ServerCatalogue {
	cat := s.w.cat
	out := make([]ServerCatalogue, len(cat.names))
	for i := range cat.names {
		out[i] = cat.server(int32(i))
	}
	return out
}

func (c *catalogue) server(i int32) ServerCatalogue {
	d := &c.docs[i]
	sc := ServerCatalogue{Name: d.Name, Public: d.Public, Tools: append([]string{}, c.tools[i]...)}
	has := make(map[string]bool, len(d.Tools))
	for _, t := range d.Tools {
		has[t.Name] = true
	}
	for _, t := range d.DisabledTools {
		if has[t] {
			sc.Disabled = append(sc.Disabled, t)
		} else {
			sc.UnknownDisabled = append(sc.UnknownDisabled, t)
		}
	}
	slices.Sort(sc.Disabled)
	sc.Disabled = slices.Compact(sc.Disabled)
	slices.Sort(sc.UnknownDisabled)
	sc.UnknownDisabled = slices.Compact(sc.UnknownDisabled)
	return sc
}
