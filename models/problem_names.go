package models

import (
	"strconv"
	"strings"
)

// nameProblems sets Entity on each problem whose path starts at an entry of one of the
// document's lists (`keys[4].team`) to that entry's name, so people need not count entries to
// find it. Paths stay as they are: they are what programs match on. A problem with the name
// itself (`keys[4].name`) already shows it, and a name that would not print as it is (empty,
// or holding invisible or control characters) is never repeated: it has a problem of its own.
func (d *Document) nameProblems(ps Problems) {
	for i := range ps {
		if ps[i].Entity != "" {
			continue
		}
		entry, rest, ok := strings.Cut(ps[i].Path, "]")
		if !ok || rest == ".name" {
			continue
		}
		if name := d.entryName(entry + "]"); name != "" && strconv.Quote(name) == `"`+name+`"` {
			ps[i].Entity = name
		}
	}
}

// entryName is the name of the list entry a path starts at ("" when it names none).
func (d *Document) entryName(path string) string {
	list, rest, ok := strings.Cut(path, "[")
	if !ok {
		return ""
	}
	num, _, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(num)
	if !ok || err != nil || i < 0 {
		return ""
	}
	name := func(n int, at func(int) string) string {
		if i < n {
			return at(i)
		}
		return ""
	}
	switch list {
	case "servers":
		return name(len(d.Servers), func(i int) string { return d.Servers[i].Name })
	case "access_groups":
		return name(len(d.AccessGroups), func(i int) string { return d.AccessGroups[i].Name })
	case "toolsets":
		return name(len(d.Toolsets), func(i int) string { return d.Toolsets[i].Name })
	case "organizations":
		return name(len(d.Organizations), func(i int) string { return d.Organizations[i].Name })
	case "teams":
		return name(len(d.Teams), func(i int) string { return d.Teams[i].Name })
	case "keys":
		return name(len(d.Keys), func(i int) string { return d.Keys[i].Name })
	case "end_users":
		return name(len(d.EndUsers), func(i int) string { return d.EndUsers[i].Name })
	case "agents":
		return name(len(d.Agents), func(i int) string { return d.Agents[i].Name })
	}
	return ""
}

// displayPath is the path with the entry's name after its index: `keys[4] "ci-bot".team`.
func (p Problem) displayPath() string {
	if p.Entity == "" {
		return p.Path
	}
	i := strings.IndexByte(p.Path, ']')
	if i < 0 {
		return p.Path
	}
	return p.Path[:i+1] + " " + strconv.Quote(p.Entity) + p.Path[i+1:]
}
