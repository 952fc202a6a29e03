package models

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Removing a catalogue entity (a server, some of its tools, an access group, a toolset) must
// leave no reference to it behind: a dangling name makes the document invalid. These edits
// remove the entity with every reference to it and say, one line each, what they removed, so
// the console can show it before the change is saved.

// levelRef is one permission level of a document, for edits that touch every level alike.
type levelRef struct {
	kind, name string
	mcp        *MCPPermission
	deny       *[]string
}

func (d *Document) levels() []levelRef {
	var out []levelRef
	for i := range d.Organizations {
		o := &d.Organizations[i]
		out = append(out, levelRef{KindOrganization, o.Name, o.MCP, &o.DenyTools})
	}
	for i := range d.Teams {
		t := &d.Teams[i]
		out = append(out, levelRef{KindTeam, t.Name, t.MCP, &t.DenyTools})
	}
	for i := range d.Keys {
		k := &d.Keys[i]
		out = append(out, levelRef{KindKey, k.Name, k.MCP, &k.DenyTools})
	}
	for i := range d.EndUsers {
		u := &d.EndUsers[i]
		out = append(out, levelRef{KindEndUser, u.Name, u.MCP, &u.DenyTools})
	}
	for i := range d.Agents {
		a := &d.Agents[i]
		out = append(out, levelRef{KindAgent, a.Name, a.MCP, &a.DenyTools})
	}
	return out
}

// AccessGroup returns the access group with that name, or nil.
func (d *Document) AccessGroup(name string) *AccessGroupDoc {
	for i := range d.AccessGroups {
		if d.AccessGroups[i].Name == name {
			return &d.AccessGroups[i]
		}
	}
	return nil
}

// Toolset returns the toolset with that name, or nil.
func (d *Document) Toolset(name string) *ToolsetDoc {
	for i := range d.Toolsets {
		if d.Toolsets[i].Name == name {
			return &d.Toolsets[i]
		}
	}
	return nil
}

// removeRefs drops the entries of list that drop says to, returning how many it dropped.
func removeRefs(list *[]string, drop func(string) bool) int {
	n := len(*list)
	*list = slices.DeleteFunc(*list, drop)
	return n - len(*list)
}

// dropToolRefs removes the references to the tools of server for which gone is true (every
// tool when gone is nil), outside the server itself, and says what it removed.
func (d *Document) dropToolRefs(server string, gone func(tool string) bool) []string {
	var out []string
	ref := func(st string) bool {
		s, t, ok := SplitTool(st)
		return ok && s == server && (gone == nil || gone(t))
	}
	for i := range d.Toolsets {
		ts := &d.Toolsets[i]
		if n := removeRefs(&ts.Tools, ref); n > 0 {
			out = append(out, fmt.Sprintf("toolset %s: %s removed", ts.Name, countOf(n, "tool")))
		}
	}
	for _, l := range d.levels() {
		if n := removeRefs(l.deny, ref); n > 0 {
			out = append(out, fmt.Sprintf("%s %s: %s removed from deny_tools", l.kind, l.name, countOf(n, "tool")))
		}
		if l.mcp == nil || l.mcp.Tools == nil {
			continue
		}
		tools, ok := l.mcp.Tools[server]
		if !ok {
			continue
		}
		if gone == nil {
			delete(l.mcp.Tools, server)
			out = append(out, fmt.Sprintf("%s %s: its tool limit on %s removed", l.kind, l.name, server))
			continue
		}
		if n := removeRefs(&tools, gone); n > 0 {
			l.mcp.Tools[server] = tools
			out = append(out, fmt.Sprintf("%s %s: %s removed from its tool limit on %s", l.kind, l.name, countOf(n, "tool"), server))
		}
	}
	return out
}

// RemoveServer deletes the server and every reference to it: from access groups, toolsets, and
// every level's servers, tool limits and deny_tools. It returns what it removed besides the
// server, or NotFound.
func (d *Document) RemoveServer(name string) ([]string, error) {
	i := slices.IndexFunc(d.Servers, func(s ServerDoc) bool { return s.Name == name })
	if i < 0 {
		return nil, Errorf(ENotFound, "unknown server %q", name)
	}
	d.Servers = slices.Delete(d.Servers, i, i+1)
	var out []string
	for j := range d.AccessGroups {
		g := &d.AccessGroups[j]
		if removeRefs(&g.Servers, func(s string) bool { return s == name }) > 0 {
			out = append(out, fmt.Sprintf("access group %s: server removed", g.Name))
		}
	}
	out = append(out, d.dropToolRefs(name, nil)...)
	for _, l := range d.levels() {
		if l.mcp != nil && removeRefs(&l.mcp.Servers, func(s string) bool { return s == name }) > 0 {
			out = append(out, fmt.Sprintf("%s %s: server removed from its MCP access", l.kind, l.name))
		}
	}
	return out, nil
}

// SetServerTools replaces the server's catalogue with tools, removing the references to tools
// no longer in it (disabled_tools, toolsets, tool limits, deny_tools). It returns what it
// removed besides the tools, or NotFound.
func (d *Document) SetServerTools(name string, tools []ToolDoc) ([]string, error) {
	s := d.Server(name)
	if s == nil {
		return nil, Errorf(ENotFound, "unknown server %q", name)
	}
	keep := map[string]bool{}
	for _, t := range tools {
		keep[t.Name] = true
	}
	gone := func(t string) bool { return !keep[t] }
	s.Tools = append([]ToolDoc(nil), tools...)
	var out []string
	if n := removeRefs(&s.DisabledTools, gone); n > 0 {
		out = append(out, fmt.Sprintf("server %s: %s removed from disabled_tools", name, countOf(n, "tool")))
	}
	return append(out, d.dropToolRefs(name, gone)...), nil
}

// RemoveAccessGroup deletes the access group and every level's reference to it.
func (d *Document) RemoveAccessGroup(name string) ([]string, error) {
	i := slices.IndexFunc(d.AccessGroups, func(g AccessGroupDoc) bool { return g.Name == name })
	if i < 0 {
		return nil, Errorf(ENotFound, "unknown access group %q", name)
	}
	d.AccessGroups = slices.Delete(d.AccessGroups, i, i+1)
	var out []string
	for _, l := range d.levels() {
		if l.mcp != nil && removeRefs(&l.mcp.AccessGroups, func(g string) bool { return g == name }) > 0 {
			out = append(out, fmt.Sprintf("%s %s: access group removed from its MCP access", l.kind, l.name))
		}
	}
	return out, nil
}

// RemoveToolset deletes the toolset and every level's reference to it.
func (d *Document) RemoveToolset(name string) ([]string, error) {
	i := slices.IndexFunc(d.Toolsets, func(t ToolsetDoc) bool { return t.Name == name })
	if i < 0 {
		return nil, Errorf(ENotFound, "unknown toolset %q", name)
	}
	d.Toolsets = slices.Delete(d.Toolsets, i, i+1)
	var out []string
	for _, l := range d.levels() {
		if l.mcp != nil && removeRefs(&l.mcp.Toolsets, func(t string) bool { return t == name }) > 0 {
			out = append(out, fmt.Sprintf("%s %s: toolset removed from its MCP access", l.kind, l.name))
		}
	}
	return out, nil
}

func countOf(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// SetEntityJSON puts one entity, as an audit event records it (its document entry as JSON),
// into the document in place of the one of that kind and name: js "" removes it. It is how the
// console reconstructs the policy before an audit event and drafts a revert.
func (d *Document) SetEntityJSON(kind, name, js string) error {
	switch kind {
	case KindServer:
		return setEntity(&d.Servers, name, js, func(s *ServerDoc) string { return s.Name })
	case KindAccessGroup:
		return setEntity(&d.AccessGroups, name, js, func(g *AccessGroupDoc) string { return g.Name })
	case KindToolset:
		return setEntity(&d.Toolsets, name, js, func(t *ToolsetDoc) string { return t.Name })
	case KindOrganization:
		return setEntity(&d.Organizations, name, js, func(o *OrganizationDoc) string { return o.Name })
	case KindTeam:
		return setEntity(&d.Teams, name, js, func(t *TeamDoc) string { return t.Name })
	case KindKey:
		return setEntity(&d.Keys, name, js, func(k *KeyDoc) string { return k.Name })
	case KindEndUser:
		return setEntity(&d.EndUsers, name, js, func(u *EndUserDoc) string { return u.Name })
	case KindAgent:
		return setEntity(&d.Agents, name, js, func(a *AgentDoc) string { return a.Name })
	case KindGuard:
		return setEntity(&d.Guards, name, js, func(g *GuardDoc) string { return g.Name })
	}
	return Errorf(EInvalid, "unknown entity kind %q", kind)
}

func setEntity[D any](list *[]D, name, js string, nameOf func(*D) string) error {
	i := slices.IndexFunc(*list, func(d D) bool { return nameOf(&d) == name })
	if js == "" {
		if i >= 0 {
			*list = slices.Delete(*list, i, i+1)
		}
		return nil
	}
	var d D
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		return Errorf(EInvalid, "recorded %s %q is not readable: %v", "entity", name, err)
	}
	if i >= 0 {
		(*list)[i] = d
	} else {
		*list = append(*list, d)
	}
	return nil
}
