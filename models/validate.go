package models

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AggregateSeparator joins a server and a tool name on the aggregate endpoint /mcp
// (github__create_issue), which splits a name at its first occurrence. A server name cannot
// contain it: with servers a and a__b, a's tool b__c and a__b's tool c would share one name.
const AggregateSeparator = "__"

var (
	// catalogueName is the form of server, access group and toolset names.
	catalogueName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	// principalName is the form of organization, team, key, end user and agent names.
	principalName = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,200}$`)
)

const maxToolName = 128

// Validate checks the document's meaning: names, references between entities, URLs and times.
// It reports every problem, in document order (the order of Document's fields, then of the
// entries in each list, then of each entry's fields), each with a path such as `keys[2].team`.
// It returns nil for a valid document.
//
// Tools listed in a server's disabled_tools still count as in its catalogue for references; the
// resolver is what removes them.
func (d *Document) Validate() Problems {
	v := validator{d: d}
	v.index()
	v.version()
	v.servers()
	v.accessGroups()
	v.toolsets()
	for i := range d.Organizations {
		o := &d.Organizations[i]
		p := indexPath("organizations", i)
		v.principal(p, "organization", o.Name, v.orgs)
		v.mcp(fieldPath(p, "mcp"), o.MCP)
		v.toolRefs(fieldPath(p, "deny_tools"), o.DenyTools)
	}
	for i := range d.Teams {
		t := &d.Teams[i]
		p := indexPath("teams", i)
		v.principal(p, "team", t.Name, v.teams)
		if t.Organization != "" {
			if _, ok := v.orgs[t.Organization]; !ok {
				v.probs.add(fieldPath(p, "organization"), "unknown organization %q", t.Organization)
			}
		}
		v.mcp(fieldPath(p, "mcp"), t.MCP)
		v.toolRefs(fieldPath(p, "deny_tools"), t.DenyTools)
	}
	for i := range d.Keys {
		v.key(i)
	}
	for i := range d.EndUsers {
		u := &d.EndUsers[i]
		p := indexPath("end_users", i)
		v.principal(p, "end user", u.Name, v.users)
		v.mcp(fieldPath(p, "mcp"), u.MCP)
		v.toolRefs(fieldPath(p, "deny_tools"), u.DenyTools)
	}
	for i := range d.Agents {
		a := &d.Agents[i]
		p := indexPath("agents", i)
		v.principal(p, "agent", a.Name, v.agents)
		v.mcp(fieldPath(p, "mcp"), a.MCP)
		v.toolRefs(fieldPath(p, "deny_tools"), a.DenyTools)
	}
	if len(v.probs) == 0 {
		return nil
	}
	d.nameProblems(v.probs)
	return v.probs
}

type validator struct {
	d     *Document
	probs Problems
	// Each index maps a name to the position of its first entry.
	srv, groups, sets, orgs, teams, keys, users, agents map[string]int
	// catalogue maps a server name to its tool names (of its first entry).
	catalogue map[string]map[string]bool
}

func firstIndex(n int, name func(int) string) map[string]int {
	m := make(map[string]int, n)
	for i := 0; i < n; i++ {
		if _, ok := m[name(i)]; !ok {
			m[name(i)] = i
		}
	}
	return m
}

func (v *validator) index() {
	d := v.d
	v.indexCatalogue()
	v.orgs = firstIndex(len(d.Organizations), func(i int) string { return d.Organizations[i].Name })
	v.teams = firstIndex(len(d.Teams), func(i int) string { return d.Teams[i].Name })
	v.keys = firstIndex(len(d.Keys), func(i int) string { return d.Keys[i].Name })
	v.users = firstIndex(len(d.EndUsers), func(i int) string { return d.EndUsers[i].Name })
	v.agents = firstIndex(len(d.Agents), func(i int) string { return d.Agents[i].Name })
}

// indexCatalogue indexes what references can name: servers with their tools, access groups and
// toolsets.
func (v *validator) indexCatalogue() {
	d := v.d
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
}

func (v *validator) version() {
	switch v.d.Version {
	case DocumentVersion:
	case 0:
		v.probs.add("version", "missing version; add `version: %d` (this build reads version %d)", DocumentVersion, DocumentVersion)
	default:
		v.probs.add("version", "unsupported version %d (this build reads version %d)", v.d.Version, DocumentVersion)
	}
}

// name checks a name that must match the catalogue form (servers, access groups, toolsets).
func (v *validator) catalogueName(path, kind, name string, first map[string]int) {
	np := fieldPath(path, "name")
	switch msg := invisibleProblem(name); {
	case name == "":
		v.probs.add(np, "missing %s name", kind)
		return
	case msg != "":
		v.probs.add(np, "%s", msg)
	case !catalogueName.MatchString(name):
		v.probs.add(np, "invalid %s name %q: use lowercase letters, digits, - and _, starting with a letter or digit", kind, name)
	}
	v.duplicate(path, kind, name, first)
}

// principal checks the name of an organization, team, key, end user or agent.
func (v *validator) principal(path, kind, name string, first map[string]int) {
	np := fieldPath(path, "name")
	switch msg := invisibleProblem(name); {
	case name == "":
		v.probs.add(np, "missing %s name", kind)
		return
	case msg != "":
		v.probs.add(np, "%s", msg)
	case !principalName.MatchString(name):
		v.probs.add(np, "invalid %s name %q: use 1 to 200 letters, digits, -, _, . and @", kind, name)
	}
	v.duplicate(path, kind, name, first)
}

// duplicate reports the entry at path when an earlier entry of the same list has its name.
func (v *validator) duplicate(path, kind, name string, first map[string]int) {
	list, _, _ := strings.Cut(path, "[")
	if i := first[name]; indexPath(list, i) != path {
		v.probs.add(fieldPath(path, "name"), "duplicate %s %q (first at %s)", kind, name, indexPath(list, i))
	}
}

func (v *validator) servers() {
	for i := range v.d.Servers {
		s := &v.d.Servers[i]
		p := indexPath("servers", i)
		v.catalogueName(p, "server", s.Name, v.srv)
		if strings.Contains(s.Name, AggregateSeparator) {
			v.probs.add(fieldPath(p, "name"), "invalid server name %q: it cannot contain %q, which /mcp puts between a server and a tool name",
				s.Name, AggregateSeparator)
		}
		if s.URL != "" {
			u, err := url.Parse(s.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.probs.add(fieldPath(p, "url"), "invalid URL %q: use an absolute http:// or https:// URL", s.URL)
			}
		}
		seen := make(map[string]int, len(s.Tools))
		tp := fieldPath(p, "tools")
		for j, t := range s.Tools {
			jp := indexPath(tp, j)
			if msg := toolNameProblem(t.Name); msg != "" {
				v.probs.add(jp, "%s", msg)
			} else if first, dup := seen[t.Name]; dup {
				v.probs.add(jp, "duplicate tool %q (first at %s)", t.Name, indexPath(tp, first))
			} else {
				seen[t.Name] = j
			}
			if t.InputSchema != "" {
				if msg := schemaProblem(t.InputSchema); msg != "" {
					v.probs.add(fieldPath(jp, "input_schema"), "%s", msg)
				}
			}
		}
		tools := make(map[string]bool, len(s.Tools))
		for _, t := range s.Tools {
			tools[t.Name] = true
		}
		for j, t := range s.DisabledTools {
			if !tools[t] {
				v.probs.add(indexPath(fieldPath(p, "disabled_tools"), j), "unknown tool %q: not in the catalogue of server %q", t, s.Name)
			}
		}
	}
}

func toolNameProblem(name string) string {
	if name == "" {
		return "missing tool name"
	}
	if msg := invisibleProblem(name); msg != "" {
		return msg
	}
	bad := utf8.RuneCountInString(name) > maxToolName || !utf8.ValidString(name)
	for _, r := range name {
		if r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) {
			bad = true
		}
	}
	if bad {
		return "invalid tool name " + quote(name) + ": use 1 to 128 characters without /, spaces or control characters"
	}
	return ""
}

// invisibleNames name the invisible characters a problem most likely reports.
var invisibleNames = map[rune]string{
	0x00AD: "SOFT HYPHEN",
	0x034F: "COMBINING GRAPHEME JOINER",
	0x061C: "ARABIC LETTER MARK",
	0x180E: "MONGOLIAN VOWEL SEPARATOR",
	0x200B: "ZERO WIDTH SPACE",
	0x200C: "ZERO WIDTH NON-JOINER",
	0x200D: "ZERO WIDTH JOINER",
	0x200E: "LEFT-TO-RIGHT MARK",
	0x200F: "RIGHT-TO-LEFT MARK",
	0x202A: "LEFT-TO-RIGHT EMBEDDING",
	0x202B: "RIGHT-TO-LEFT EMBEDDING",
	0x202C: "POP DIRECTIONAL FORMATTING",
	0x202D: "LEFT-TO-RIGHT OVERRIDE",
	0x202E: "RIGHT-TO-LEFT OVERRIDE",
	0x2060: "WORD JOINER",
	0x2066: "LEFT-TO-RIGHT ISOLATE",
	0x2067: "RIGHT-TO-LEFT ISOLATE",
	0x2068: "FIRST STRONG ISOLATE",
	0x2069: "POP DIRECTIONAL ISOLATE",
	0x3164: "HANGUL FILLER",
	0xFE0F: "VARIATION SELECTOR-16",
	0xFEFF: "ZERO WIDTH NO-BREAK SPACE",
}

// invisible reports whether r is a character that shows nothing itself but changes how the
// text around it displays or compares: the bidirectional controls (U+202A–U+202E,
// U+2066–U+2069, U+200E, U+200F, U+061C), which can make "ci-bot\u202etset" display as
// "ci-bottest" or reverse a name, and the other format characters (zero-width spaces and
// joiners, the byte order mark, tag characters: Unicode category Cf), variation selectors and
// the rest of Unicode's default-ignorable characters (Hangul fillers, the combining grapheme
// joiner), with which two names that differ display alike. No name needs one: names are
// identifiers people read in the console, the audit log and policy files.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// invisibleProblem names the first invisible character of a name (see invisible), or is "".
func invisibleProblem(name string) string {
	for _, r := range name {
		if !invisible(r) {
			continue
		}
		what, ok := invisibleNames[r]
		if !ok {
			what = "an invisible format character"
		}
		// Quoted in ASCII, so the message does not itself display deceptively.
		return fmt.Sprintf("contains U+%04X (%s), which does not show but changes how the name displays: %s", r, what, quoteASCII(name))
	}
	return ""
}

func schemaProblem(s string) string {
	c, err := CanonicalJSON(s)
	if err != nil {
		return "input_schema is not valid JSON: " + err.Error()
	}
	if c[0] != '{' {
		return "input_schema must be a JSON object (a JSON Schema such as {\"type\": \"object\"})"
	}
	return ""
}

func quote(s string) string {
	return strconv.Quote(shorten(s))
}

// quoteASCII is quote with every character beyond ASCII escaped.
func quoteASCII(s string) string {
	return strconv.QuoteToASCII(shorten(s))
}

func shorten(s string) string {
	if r := []rune(s); len(r) > 60 {
		s = string(r[:60]) + "..."
	}
	return s
}

func (v *validator) accessGroups() {
	for i := range v.d.AccessGroups {
		g := &v.d.AccessGroups[i]
		p := indexPath("access_groups", i)
		v.catalogueName(p, "access group", g.Name, v.groups)
		v.serverRefs(fieldPath(p, "servers"), g.Servers)
	}
}

func (v *validator) toolsets() {
	for i := range v.d.Toolsets {
		t := &v.d.Toolsets[i]
		p := indexPath("toolsets", i)
		v.catalogueName(p, "toolset", t.Name, v.sets)
		v.toolRefs(fieldPath(p, "tools"), t.Tools)
	}
}

func (v *validator) serverRefs(path string, names []string) {
	for i, s := range names {
		if _, ok := v.srv[s]; !ok {
			v.probs.add(indexPath(path, i), "unknown server %q", s)
		}
	}
}

// toolRefs checks a list of "server/tool" references.
func (v *validator) toolRefs(path string, refs []string) {
	for i, ref := range refs {
		ip := indexPath(path, i)
		server, tool, ok := SplitTool(ref)
		switch {
		case !ok:
			v.probs.add(ip, "%q is not of the form server/tool", ref)
		case v.catalogue[server] == nil:
			v.probs.add(ip, "unknown server %q in %q", server, ref)
		case !v.catalogue[server][tool]:
			v.probs.add(ip, "unknown tool %q: not in the catalogue of server %q", ref, server)
		}
	}
}

func (v *validator) mcp(path string, p *MCPPermission) {
	if p == nil {
		return
	}
	v.serverRefs(fieldPath(path, "servers"), p.Servers)
	for i, g := range p.AccessGroups {
		if _, ok := v.groups[g]; !ok {
			v.probs.add(indexPath(fieldPath(path, "access_groups"), i), "unknown access group %q", g)
		}
	}
	for i, t := range p.Toolsets {
		if _, ok := v.sets[t]; !ok {
			v.probs.add(indexPath(fieldPath(path, "toolsets"), i), "unknown toolset %q", t)
		}
	}
	tp := fieldPath(path, "tools")
	for _, server := range sortedKeys(p.Tools) {
		sp := keyPath(tp, server)
		tools := v.catalogue[server]
		if tools == nil {
			v.probs.add(sp, "unknown server %q", server)
			continue
		}
		for i, t := range p.Tools[server] {
			if !tools[t] {
				v.probs.add(indexPath(sp, i), "unknown tool %q: not in the catalogue of server %q", t, server)
			}
		}
	}
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return sortedSet(keys)
}

func (v *validator) key(i int) {
	k := &v.d.Keys[i]
	p := indexPath("keys", i)
	v.principal(p, "key", k.Name, v.keys)
	var team *TeamDoc
	if k.Team != "" {
		if j, ok := v.teams[k.Team]; ok {
			team = &v.d.Teams[j]
		} else {
			v.probs.add(fieldPath(p, "team"), "unknown team %q", k.Team)
		}
	}
	if k.Organization != "" {
		op := fieldPath(p, "organization")
		_, known := v.orgs[k.Organization]
		switch {
		case !known:
			v.probs.add(op, "unknown organization %q", k.Organization)
		case team != nil && team.Organization == "":
			v.probs.add(op, "%q disagrees with team %q, which has no organization", k.Organization, team.Name)
		case team != nil && team.Organization != k.Organization:
			v.probs.add(op, "%q disagrees with team %q of organization %q", k.Organization, team.Name, team.Organization)
		}
	}
	if k.Agent != "" {
		if _, ok := v.agents[k.Agent]; !ok {
			v.probs.add(fieldPath(p, "agent"), "unknown agent %q", k.Agent)
		}
	}
	if k.ExpiresAt != "" {
		if _, err := time.Parse(time.RFC3339, k.ExpiresAt); err != nil {
			v.probs.add(fieldPath(p, "expires_at"), "invalid time %q: use RFC 3339, such as 2026-01-31T00:00:00Z", k.ExpiresAt)
		}
	}
	v.mcp(fieldPath(p, "mcp"), k.MCP)
	v.toolRefs(fieldPath(p, "deny_tools"), k.DenyTools)
}
