package models

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DocumentVersion is the only policy document format version this build reads and writes.
const DocumentVersion = 1

// Document is the whole permission state in one value: what `warden import` reads, what
// `warden export` writes, and what the resolver turns into decisions. The store can load its
// state as a Document, so a file and the live database feed the resolver through the same type.
//
// Slices are kept in the order of the file on import and sorted by name on export, so an export
// is stable and diffs well in git.
type Document struct {
	Version       int               `yaml:"version" json:"version"`
	Servers       []ServerDoc       `yaml:"servers,omitempty" json:"servers,omitempty"`
	AccessGroups  []AccessGroupDoc  `yaml:"access_groups,omitempty" json:"access_groups,omitempty"`
	Toolsets      []ToolsetDoc      `yaml:"toolsets,omitempty" json:"toolsets,omitempty"`
	Organizations []OrganizationDoc `yaml:"organizations,omitempty" json:"organizations,omitempty"`
	Teams         []TeamDoc         `yaml:"teams,omitempty" json:"teams,omitempty"`
	Keys          []KeyDoc          `yaml:"keys,omitempty" json:"keys,omitempty"`
	EndUsers      []EndUserDoc      `yaml:"end_users,omitempty" json:"end_users,omitempty"`
	Agents        []AgentDoc        `yaml:"agents,omitempty" json:"agents,omitempty"`
}

// ServerDoc is an MCP server and its tool catalogue.
type ServerDoc struct {
	Name   string `yaml:"name" json:"name"`
	URL    string `yaml:"url,omitempty" json:"url,omitempty"`
	Public bool   `yaml:"public,omitempty" json:"public,omitempty"`
	// Tools is the catalogue. In a document each entry is either a bare tool name or a mapping
	// with name, description and input_schema.
	Tools         []ToolDoc `yaml:"tools,omitempty" json:"tools,omitempty"`
	DisabledTools []string  `yaml:"disabled_tools,omitempty" json:"disabled_tools,omitempty"`
}

// ToolDoc is one tool of a server's catalogue.
type ToolDoc struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// InputSchema is the tool's JSON Schema, kept as JSON text so it round-trips unchanged.
	InputSchema string `yaml:"input_schema,omitempty" json:"input_schema,omitempty"`
}

// UnmarshalYAML accepts a bare name (`create_issue`) or the long form mapping, whose
// input_schema may be a YAML mapping or a string of JSON; it is stored as canonical JSON text.
// It reads a tool the way ParseDocument does (see decodeTool in parse.go).
func (t *ToolDoc) UnmarshalYAML(n *yaml.Node) error {
	return decodeTool(n, t)
}

// MarshalYAML writes the bare name when the tool carries nothing else, keeping documents short,
// and an input_schema holding a JSON object as a YAML mapping.
func (t ToolDoc) MarshalYAML() (any, error) {
	return encodeTool(t), nil
}

// AccessGroupDoc is a named set of servers.
type AccessGroupDoc struct {
	Name    string   `yaml:"name" json:"name"`
	Servers []string `yaml:"servers,omitempty" json:"servers,omitempty"`
}

// ToolsetDoc is a named set of server/tool pairs, written "server/tool".
type ToolsetDoc struct {
	Name  string   `yaml:"name" json:"name"`
	Tools []string `yaml:"tools,omitempty" json:"tools,omitempty"`
}

// MCPPermission is one level's MCP selection. A nil *MCPPermission means the level does not
// restrict; a non-nil one restricts to exactly what it names, so an empty one means "no MCP
// access". Never collapse the two.
type MCPPermission struct {
	Servers      []string            `yaml:"servers,omitempty" json:"servers,omitempty"`
	AccessGroups []string            `yaml:"access_groups,omitempty" json:"access_groups,omitempty"`
	Toolsets     []string            `yaml:"toolsets,omitempty" json:"toolsets,omitempty"`
	Tools        map[string][]string `yaml:"tools,omitempty" json:"tools,omitempty"`
}

// IsEmpty reports whether a present permission grants nothing at all.
func (p *MCPPermission) IsEmpty() bool {
	return p != nil && len(p.Servers) == 0 && len(p.AccessGroups) == 0 && len(p.Toolsets) == 0 && len(p.Tools) == 0
}

// OrganizationDoc is an organization.
type OrganizationDoc struct {
	Name      string         `yaml:"name" json:"name"`
	Blocked   bool           `yaml:"blocked,omitempty" json:"blocked,omitempty"`
	MCP       *MCPPermission `yaml:"mcp,omitempty" json:"mcp,omitempty"`
	DenyTools []string       `yaml:"deny_tools,omitempty" json:"deny_tools,omitempty"`
}

// TeamDoc is a team, optionally inside an organization.
type TeamDoc struct {
	Name         string         `yaml:"name" json:"name"`
	Organization string         `yaml:"organization,omitempty" json:"organization,omitempty"`
	Blocked      bool           `yaml:"blocked,omitempty" json:"blocked,omitempty"`
	MCP          *MCPPermission `yaml:"mcp,omitempty" json:"mcp,omitempty"`
	DenyTools    []string       `yaml:"deny_tools,omitempty" json:"deny_tools,omitempty"`
}

// KeyDoc is an API key. Its secret never appears in a document.
type KeyDoc struct {
	Name string `yaml:"name" json:"name"`
	Team string `yaml:"team,omitempty" json:"team,omitempty"`
	// Organization is for teamless keys; on a key with a team it must name the team's organization.
	Organization string `yaml:"organization,omitempty" json:"organization,omitempty"`
	Agent        string `yaml:"agent,omitempty" json:"agent,omitempty"`
	Blocked      bool   `yaml:"blocked,omitempty" json:"blocked,omitempty"`
	// ExpiresAt is an RFC 3339 time, or empty for a key that does not expire.
	ExpiresAt string         `yaml:"expires_at,omitempty" json:"expires_at,omitempty"`
	MCP       *MCPPermission `yaml:"mcp,omitempty" json:"mcp,omitempty"`
	DenyTools []string       `yaml:"deny_tools,omitempty" json:"deny_tools,omitempty"`
}

// EndUserDoc is an end user named by requests.
type EndUserDoc struct {
	Name      string         `yaml:"name" json:"name"`
	MCP       *MCPPermission `yaml:"mcp,omitempty" json:"mcp,omitempty"`
	DenyTools []string       `yaml:"deny_tools,omitempty" json:"deny_tools,omitempty"`
}

// AgentDoc is an agent, bound to keys or named by requests.
type AgentDoc struct {
	Name      string         `yaml:"name" json:"name"`
	MCP       *MCPPermission `yaml:"mcp,omitempty" json:"mcp,omitempty"`
	DenyTools []string       `yaml:"deny_tools,omitempty" json:"deny_tools,omitempty"`
}

// SplitTool splits "server/tool" into its parts; ok is false when either part is missing.
func SplitTool(s string) (server, tool string, ok bool) {
	server, tool, ok = strings.Cut(s, "/")
	return server, tool, ok && server != "" && tool != ""
}

// ToolCatalogue returns the catalogue's tool names in file order.
func (s ServerDoc) ToolNames() []string {
	out := make([]string, len(s.Tools))
	for i, t := range s.Tools {
		out[i] = t.Name
	}
	return out
}

// Normalize sorts every list by name and every set-like field, so two documents describing the
// same state compare equal and an export is stable. It does not change meaning: a nil MCP stays
// nil and an empty one stays empty.
func (d *Document) Normalize() {
	d.Servers = nilIfEmpty(d.Servers)
	d.AccessGroups = nilIfEmpty(d.AccessGroups)
	d.Toolsets = nilIfEmpty(d.Toolsets)
	d.Organizations = nilIfEmpty(d.Organizations)
	d.Teams = nilIfEmpty(d.Teams)
	d.Keys = nilIfEmpty(d.Keys)
	d.EndUsers = nilIfEmpty(d.EndUsers)
	d.Agents = nilIfEmpty(d.Agents)
	sort.Slice(d.Servers, func(i, j int) bool { return d.Servers[i].Name < d.Servers[j].Name })
	for i := range d.Servers {
		s := &d.Servers[i]
		s.Tools = nilIfEmpty(s.Tools)
		sort.Slice(s.Tools, func(a, b int) bool { return s.Tools[a].Name < s.Tools[b].Name })
		for j := range s.Tools {
			// Compact, canonical JSON (see CanonicalJSON); invalid JSON is left as it is.
			s.Tools[j].InputSchema = normalizeSchema(s.Tools[j].InputSchema)
		}
		s.DisabledTools = sortedSet(s.DisabledTools)
	}
	sort.Slice(d.AccessGroups, func(i, j int) bool { return d.AccessGroups[i].Name < d.AccessGroups[j].Name })
	for i := range d.AccessGroups {
		d.AccessGroups[i].Servers = sortedSet(d.AccessGroups[i].Servers)
	}
	sort.Slice(d.Toolsets, func(i, j int) bool { return d.Toolsets[i].Name < d.Toolsets[j].Name })
	for i := range d.Toolsets {
		d.Toolsets[i].Tools = sortedSet(d.Toolsets[i].Tools)
	}
	sort.Slice(d.Organizations, func(i, j int) bool { return d.Organizations[i].Name < d.Organizations[j].Name })
	for i := range d.Organizations {
		normalizeLevel(d.Organizations[i].MCP, &d.Organizations[i].DenyTools)
	}
	sort.Slice(d.Teams, func(i, j int) bool { return d.Teams[i].Name < d.Teams[j].Name })
	for i := range d.Teams {
		normalizeLevel(d.Teams[i].MCP, &d.Teams[i].DenyTools)
	}
	sort.Slice(d.Keys, func(i, j int) bool { return d.Keys[i].Name < d.Keys[j].Name })
	for i := range d.Keys {
		normalizeLevel(d.Keys[i].MCP, &d.Keys[i].DenyTools)
	}
	sort.Slice(d.EndUsers, func(i, j int) bool { return d.EndUsers[i].Name < d.EndUsers[j].Name })
	for i := range d.EndUsers {
		normalizeLevel(d.EndUsers[i].MCP, &d.EndUsers[i].DenyTools)
	}
	sort.Slice(d.Agents, func(i, j int) bool { return d.Agents[i].Name < d.Agents[j].Name })
	for i := range d.Agents {
		normalizeLevel(d.Agents[i].MCP, &d.Agents[i].DenyTools)
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func normalizeLevel(p *MCPPermission, deny *[]string) {
	*deny = sortedSet(*deny)
	if p == nil {
		return
	}
	p.Servers = sortedSet(p.Servers)
	p.AccessGroups = sortedSet(p.AccessGroups)
	p.Toolsets = sortedSet(p.Toolsets)
	if len(p.Tools) == 0 {
		p.Tools = nil
	}
	for k, v := range p.Tools {
		p.Tools[k] = sortedSet(v)
	}
}

// sortedSet sorts and de-duplicates; nil and empty both come back nil.
func sortedSet(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := append([]string(nil), in...)
	sort.Strings(out)
	w := 1
	for i := 1; i < len(out); i++ {
		if out[i] != out[w-1] {
			out[w] = out[i]
			w++
		}
	}
	return out[:w]
}

// Clone returns a deep copy, so a draft can be edited without touching the state it came from.
func (d *Document) Clone() *Document {
	c := *d
	c.Servers = make([]ServerDoc, len(d.Servers))
	for i, s := range d.Servers {
		s.Tools = append([]ToolDoc(nil), s.Tools...)
		s.DisabledTools = cloneStrings(s.DisabledTools)
		c.Servers[i] = s
	}
	c.AccessGroups = make([]AccessGroupDoc, len(d.AccessGroups))
	for i, g := range d.AccessGroups {
		g.Servers = cloneStrings(g.Servers)
		c.AccessGroups[i] = g
	}
	c.Toolsets = make([]ToolsetDoc, len(d.Toolsets))
	for i, t := range d.Toolsets {
		t.Tools = cloneStrings(t.Tools)
		c.Toolsets[i] = t
	}
	c.Organizations = make([]OrganizationDoc, len(d.Organizations))
	for i, o := range d.Organizations {
		o.MCP, o.DenyTools = o.MCP.Clone(), cloneStrings(o.DenyTools)
		c.Organizations[i] = o
	}
	c.Teams = make([]TeamDoc, len(d.Teams))
	for i, t := range d.Teams {
		t.MCP, t.DenyTools = t.MCP.Clone(), cloneStrings(t.DenyTools)
		c.Teams[i] = t
	}
	c.Keys = make([]KeyDoc, len(d.Keys))
	for i, k := range d.Keys {
		k.MCP, k.DenyTools = k.MCP.Clone(), cloneStrings(k.DenyTools)
		c.Keys[i] = k
	}
	c.EndUsers = make([]EndUserDoc, len(d.EndUsers))
	for i, u := range d.EndUsers {
		u.MCP, u.DenyTools = u.MCP.Clone(), cloneStrings(u.DenyTools)
		c.EndUsers[i] = u
	}
	c.Agents = make([]AgentDoc, len(d.Agents))
	for i, a := range d.Agents {
		a.MCP, a.DenyTools = a.MCP.Clone(), cloneStrings(a.DenyTools)
		c.Agents[i] = a
	}
	return &c
}

// Clone deep-copies a permission; nil stays nil.
func (p *MCPPermission) Clone() *MCPPermission {
	if p == nil {
		return nil
	}
	c := &MCPPermission{
		Servers:      cloneStrings(p.Servers),
		AccessGroups: cloneStrings(p.AccessGroups),
		Toolsets:     cloneStrings(p.Toolsets),
	}
	if p.Tools != nil {
		c.Tools = make(map[string][]string, len(p.Tools))
		for k, v := range p.Tools {
			c.Tools[k] = cloneStrings(v)
		}
	}
	return c
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}

// Organization returns the organization with that name, or nil.
func (d *Document) Organization(name string) *OrganizationDoc {
	for i := range d.Organizations {
		if d.Organizations[i].Name == name {
			return &d.Organizations[i]
		}
	}
	return nil
}

// Problem is one thing wrong with a document, at a path such as `keys[2].team`.
type Problem struct {
	Path string `json:"path"`
	// Entity is the name of the list entry Path starts at (`ci-bot` for `keys[2].team`), when
	// the document gives it one; String shows it next to the index.
	Entity  string `json:"entity,omitempty"`
	Message string `json:"message"`
}

// String is `keys[2] "ci-bot".team: unknown team "plat"`.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.displayPath() + ": " + p.Message
}

// Problems is every problem found in a document; it is an error so callers can return it whole.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}
