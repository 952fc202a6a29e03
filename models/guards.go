package models

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// GuardDoc is an invariant every state must keep, checked on every draft (see the resolver's
// CheckGuards). It has one of two forms:
//
//   - forbid: no key in scope may call a tool matching any of the patterns, written server/tool
//     where a star matches any run of characters within one part ("*/delete_*", "postgres/execute");
//   - tool with at_most: at most that many keys in scope may call the tool.
//
// For says which keys are in scope; nil means every key.
type GuardDoc struct {
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Forbid      []string `yaml:"forbid,omitempty" json:"forbid,omitempty"`
	Tool        string   `yaml:"tool,omitempty" json:"tool,omitempty"`
	// AtMost is a pointer because 0 (nobody may call the tool) differs from leaving it out.
	AtMost *int        `yaml:"at_most,omitempty" json:"at_most,omitempty"`
	For    *GuardScope `yaml:"for,omitempty" json:"for,omitempty"`
}

// GuardScope selects the keys a guard applies to. A key is in scope when it is in one of the
// named organizations (its effective one: its team's, or its own when teamless), teams or keys
// (any of them; no names at all means every key), and, with AgentBound, when it is bound to an
// agent.
type GuardScope struct {
	AgentBound    bool     `yaml:"agent_bound,omitempty" json:"agent_bound,omitempty"`
	Organizations []string `yaml:"organizations,omitempty" json:"organizations,omitempty"`
	Teams         []string `yaml:"teams,omitempty" json:"teams,omitempty"`
	Keys          []string `yaml:"keys,omitempty" json:"keys,omitempty"`
}

// IsForbid reports whether the guard is of the forbid form (otherwise tool with at_most).
func (g *GuardDoc) IsForbid() bool { return len(g.Forbid) > 0 }

// Named reports whether the scope names any organization, team or key.
func (sc *GuardScope) Named() bool {
	return sc != nil && len(sc.Organizations)+len(sc.Teams)+len(sc.Keys) > 0
}

// Guard returns the guard with that name, or nil.
func (d *Document) Guard(name string) *GuardDoc {
	for i := range d.Guards {
		if d.Guards[i].Name == name {
			return &d.Guards[i]
		}
	}
	return nil
}

// Clone deep-copies a guard.
func (g GuardDoc) Clone() GuardDoc {
	g.Forbid = cloneStrings(g.Forbid)
	if g.AtMost != nil {
		n := *g.AtMost
		g.AtMost = &n
	}
	if g.For != nil {
		sc := *g.For
		sc.Organizations, sc.Teams, sc.Keys = cloneStrings(sc.Organizations), cloneStrings(sc.Teams), cloneStrings(sc.Keys)
		g.For = &sc
	}
	return g
}

func cloneGuards(gs []GuardDoc) []GuardDoc {
	if gs == nil {
		return nil
	}
	out := make([]GuardDoc, len(gs))
	for i, g := range gs {
		out[i] = g.Clone()
	}
	return out
}

// normalizeGuards sorts guards by name and their lists as sets.
func normalizeGuards(gs []GuardDoc) []GuardDoc {
	gs = nilIfEmpty(gs)
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].Name < gs[j].Name })
	for i := range gs {
		g := &gs[i]
		g.Forbid = sortedSet(g.Forbid)
		if g.For != nil {
			g.For.Organizations = sortedSet(g.For.Organizations)
			g.For.Teams = sortedSet(g.For.Teams)
			g.For.Keys = sortedSet(g.For.Keys)
		}
	}
	return gs
}

// MatchToolPattern reports whether server/tool matches a guard pattern "S/T", where * in S or T
// matches any run of characters (none included) within that part. A pattern that is not of the
// form S/T matches nothing.
func MatchToolPattern(pattern, server, tool string) bool {
	ps, pt, ok := SplitTool(pattern)
	return ok && globMatch(ps, server) && globMatch(pt, tool)
}

// globMatch matches s against a pattern whose only special character is *.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// ---------------------------------------------------------------------------------------------
// Reading

var guardDocType = reflect.TypeOf(GuardDoc{})

// guard decodes one entry of `guards`. It is the struct decoder with one difference: at_most is
// an integer kept behind a pointer (0 is a limit; left out is no limit), and `for: null` is
// reported rather than read as "every key".
func (dc *decoder) guard(n *yaml.Node, g *GuardDoc, path string) {
	if n.Kind != yaml.MappingNode {
		dc.typeError(path, "a mapping (name, forbid or tool with at_most, for)", n)
		return
	}
	for _, p := range dc.pairs(n, path) {
		fp := fieldPath(path, p.key)
		switch p.key {
		case "name":
			dc.decode(p.val, reflect.ValueOf(&g.Name).Elem(), fp)
		case "description":
			dc.decode(p.val, reflect.ValueOf(&g.Description).Elem(), fp)
		case "forbid":
			dc.decode(p.val, reflect.ValueOf(&g.Forbid).Elem(), fp)
		case "tool":
			dc.decode(p.val, reflect.ValueOf(&g.Tool).Elem(), fp)
		case "at_most":
			before := len(dc.probs)
			var limit int
			dc.decode(p.val, reflect.ValueOf(&limit).Elem(), fp)
			if len(dc.probs) == before {
				g.AtMost = &limit
			}
		case "for":
			v := deref(p.val)
			if isNull(v) {
				dc.probs.add(fp, "null is ambiguous here: leave the key out to guard every key, or name agent_bound, organizations, teams or keys")
				continue
			}
			if v.Kind != yaml.MappingNode {
				dc.typeError(fp, "a mapping (agent_bound, organizations, teams, keys)", v)
				continue
			}
			var sc GuardScope
			dc.decode(v, reflect.ValueOf(&sc).Elem(), fp)
			g.For = &sc
		default:
			dc.probs.add(fp, "unknown field %q", p.key)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Validating

// guardServerPart is the form of a pattern's server part: a server name in which * may stand for any
// run of characters.
var guardServerPart = regexp.MustCompile(`^[a-z0-9_*-]+$`)

// guards checks the guards section: names, the form, patterns, the tool and the scope's names.
func (v *validator) guards() {
	first := firstIndex(len(v.d.Guards), func(i int) string { return v.d.Guards[i].Name })
	for i := range v.d.Guards {
		g := &v.d.Guards[i]
		p := indexPath("guards", i)
		v.catalogueName(p, "guard", g.Name, first)
		switch {
		case len(g.Forbid) > 0 && (g.Tool != "" || g.AtMost != nil):
			v.probs.add(p, "give either forbid (patterns no key may call) or tool with at_most (how many keys may call it), not both")
		case len(g.Forbid) == 0 && g.Tool == "" && g.AtMost == nil:
			v.probs.add(p, "missing forbid (server/tool patterns no key may call) or tool with at_most (how many keys may call it)")
		case len(g.Forbid) > 0:
			for j, pat := range g.Forbid {
				v.guardPattern(indexPath(fieldPath(p, "forbid"), j), pat)
			}
		default:
			if g.Tool == "" {
				v.probs.add(fieldPath(p, "tool"), "missing; at_most limits how many keys may call one tool, named server/tool")
			} else if strings.Contains(g.Tool, "*") {
				v.probs.add(fieldPath(p, "tool"), "%q: at_most counts the keys of one tool; patterns belong in forbid", g.Tool)
			} else {
				v.toolRef(fieldPath(p, "tool"), g.Tool)
			}
			switch {
			case g.AtMost == nil:
				v.probs.add(fieldPath(p, "at_most"), "missing; say how many keys at most may call %s", quote(g.Tool))
			case *g.AtMost < 0:
				v.probs.add(fieldPath(p, "at_most"), "must be ≥ 0, got %d", *g.AtMost)
			}
		}
		v.guardScope(fieldPath(p, "for"), g.For)
	}
}

// guardPattern checks one forbid pattern. A part without * must name what exists, so a typo
// cannot leave a guard guarding nothing; a part with * may match nothing yet (a guard can
// forbid tools before any server offers them).
func (v *validator) guardPattern(path, pat string) {
	server, tool, ok := SplitTool(pat)
	switch {
	case !ok || strings.Count(pat, "/") != 1:
		v.probs.add(path, "%s is not a pattern of the form server/tool (* matches within one part, e.g. */delete_*)", quote(pat))
	case !guardServerPart.MatchString(server):
		v.probs.add(path, "invalid server part %s in %s: use lowercase letters, digits, -, _ and *", quote(server), quote(pat))
	case invisibleProblem(tool) != "":
		v.probs.add(path, "%s", invisibleProblem(tool))
	case strings.Contains(server, "*"):
	case v.catalogue[server] == nil:
		v.probs.add(path, "unknown server %q in %s", server, quote(pat))
	case !strings.Contains(tool, "*") && !v.catalogue[server][tool]:
		v.probs.add(path, "unknown tool %s: not in the catalogue of server %q", quote(pat), server)
	}
}

func (v *validator) guardScope(path string, sc *GuardScope) {
	if sc == nil {
		return
	}
	if !sc.AgentBound && !sc.Named() {
		v.probs.add(path, "selects no keys: set agent_bound: true or list organizations, teams or keys; leave for out to guard every key")
	}
	refs := []struct {
		field, kind string
		names       []string
		known       map[string]int
	}{
		{"organizations", "organization", sc.Organizations, v.orgs},
		{"teams", "team", sc.Teams, v.teams},
		{"keys", "key", sc.Keys, v.keys},
	}
	for _, r := range refs {
		for i, n := range r.names {
			if _, ok := r.known[n]; !ok {
				v.probs.add(indexPath(fieldPath(path, r.field), i), "unknown %s %q", r.kind, n)
			}
		}
	}
}

// ValidateGuard checks one guard on its own against d: its name's form (not whether another
// guard has it), its form, its patterns and tool against d's catalogue and its scope's names
// against d's organizations, teams and keys. Paths are relative to the guard (`at_most`,
// `forbid[1]`, `for.teams[0]`; "" for the guard as a whole), as a form editing one guard shows
// them. d may hold only the catalogue and the principals the guard names.
func (d *Document) ValidateGuard(g GuardDoc) Problems {
	c := *d
	c.Guards = []GuardDoc{g}
	v := validator{d: &c}
	v.index()
	v.guards()
	if len(v.probs) == 0 {
		return nil
	}
	for i := range v.probs {
		p := strings.TrimPrefix(v.probs[i].Path, "guards[0]")
		v.probs[i].Path = strings.TrimPrefix(p, ".")
	}
	return v.probs
}

// KindGuard is the entity kind of guards in audit events.
const KindGuard = "guard"

// Guard is a guard's row (table guards). Lists are JSON text: a guard is read and written whole,
// never queried by its patterns or names.
type Guard struct {
	ID          int64  `gorm:"column:id;primaryKey"`
	Name        string `gorm:"column:name"`
	Description string `gorm:"column:description"`
	// Forbid is a JSON array of patterns; "" for a tool guard.
	Forbid string `gorm:"column:forbid"`
	Tool   string `gorm:"column:tool"`
	AtMost *int64 `gorm:"column:at_most"`
	// Scope is the JSON of the `for` mapping (GuardScope); "" for every key.
	Scope     string    `gorm:"column:scope"`
	CreatedAt time.Time `gorm:"column:created_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}
