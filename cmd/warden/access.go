package main

import (
	"bufio"
	"encoding/json"
	"io"
	"maps"
	"slices"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
)

// accessSelection is which principals `policy access` prints: everything when empty, else
// the organizations named (with their teams and keys), the teams named (with their keys) and
// the keys named. Where a team or key sits is the resolver's answer (TeamInfo, KeyInfo).
type accessSelection struct {
	orgs, teams, keys []string
}

func (sel accessSelection) all() bool {
	return len(sel.orgs) == 0 && len(sel.teams) == 0 && len(sel.keys) == 0
}

// principals returns the sorted names to print of each kind, or an error naming a principal
// that does not exist.
func (sel accessSelection) principals(snap *resolver.Snapshot) (orgs, teams, keys []string, err error) {
	if sel.all() {
		return snap.Organizations(), snap.Teams(), snap.Keys(), nil
	}
	org, team, key := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, o := range sel.orgs {
		if _, ok := snap.OrganizationAccess(o); !ok {
			return nil, nil, nil, models.Errorf(models.EInvalid, "--org: unknown organization %q", o)
		}
		org[o] = true
	}
	for _, t := range sel.teams {
		if _, ok := snap.TeamInfo(t); !ok {
			return nil, nil, nil, models.Errorf(models.EInvalid, "--team: unknown team %q", t)
		}
	}
	for _, k := range sel.keys {
		if _, ok := snap.KeyInfo(k); !ok {
			return nil, nil, nil, models.Errorf(models.EInvalid, "--key: unknown key %q", k)
		}
		key[k] = true
	}
	for _, t := range snap.Teams() {
		if info, _ := snap.TeamInfo(t); org[info.Organization] || slices.Contains(sel.teams, t) {
			team[t] = true
		}
	}
	for _, k := range snap.Keys() {
		if info, _ := snap.KeyInfo(k); org[info.Organization] || team[info.Team] {
			key[k] = true
		}
	}
	return slices.Sorted(maps.Keys(org)), slices.Sorted(maps.Keys(team)), slices.Sorted(maps.Keys(key)), nil
}

// writeAccess writes the access of the selected principals as `policy access` always has,
// byte for byte what encoding/json writes for resolver.AllAccess indented by two spaces, but
// one principal at a time: the output of 100,000 keys runs to hundreds of megabytes, and
// holding it (or every principal's access) in memory is what made the command need gigabytes.
func writeAccess(w io.Writer, snap *resolver.Snapshot, sel accessSelection) error {
	orgs, teams, keys, err := sel.principals(snap)
	if err != nil {
		return err
	}
	aw := &accessWriter{w: bufio.NewWriterSize(w, 1<<16), quoted: map[string][]byte{}}
	aw.WriteString("{\n")
	aw.section("organizations", orgs, snap.OrganizationAccess, false)
	aw.section("teams", teams, snap.TeamAccess, false)
	aw.section("keys", keys, snap.KeyAccess, true)
	aw.WriteString("}\n")
	if aw.err != nil {
		return aw.err
	}
	return aw.w.Flush()
}

type accessWriter struct {
	w   *bufio.Writer
	err error
	// quoted holds the JSON form of server and tool names, which repeat in every principal.
	quoted map[string][]byte
}

func (aw *accessWriter) WriteString(s string) {
	if aw.err == nil {
		_, aw.err = aw.w.WriteString(s)
	}
}

func (aw *accessWriter) Write(b []byte) {
	if aw.err == nil {
		_, aw.err = aw.w.Write(b)
	}
}

// quote is the string as encoding/json writes it (HTML characters escaped, as its Encoder does
// by default); cache keeps it for names that repeat.
func (aw *accessWriter) quote(s string, cache bool) []byte {
	if q, ok := aw.quoted[s]; ok {
		return q
	}
	q, _ := json.Marshal(s) // a string always encodes
	if cache {
		aw.quoted[s] = q
	}
	return q
}

// section writes `  "name": {...}` with one entry a principal; last leaves out the comma.
func (aw *accessWriter) section(name string, names []string, access func(string) (resolver.Access, bool), last bool) {
	aw.WriteString(`  "` + name + `": {`)
	for i, n := range names {
		if i > 0 {
			aw.WriteString(",")
		}
		aw.WriteString("\n    ")
		aw.Write(aw.quote(n, false))
		aw.WriteString(": ")
		a, _ := access(n)
		aw.access(a)
	}
	if len(names) > 0 {
		aw.WriteString("\n  ")
	}
	aw.WriteString("}")
	if !last {
		aw.WriteString(",")
	}
	aw.WriteString("\n")
}

// access writes one ACCESS object at the depth of a principal's value.
func (aw *accessWriter) access(a resolver.Access) {
	if len(a) == 0 {
		aw.WriteString("{}")
		return
	}
	aw.WriteString("{")
	for i, s := range a.Servers() {
		if i > 0 {
			aw.WriteString(",")
		}
		aw.WriteString("\n      ")
		aw.Write(aw.quote(s, true))
		tools := a[s]
		if tools == nil {
			aw.WriteString(": null")
			continue
		}
		aw.WriteString(": [")
		for j, t := range tools {
			if j > 0 {
				aw.WriteString(",")
			}
			aw.WriteString("\n        ")
			aw.Write(aw.quote(t, true))
		}
		if len(tools) > 0 {
			aw.WriteString("\n      ")
		}
		aw.WriteString("]")
	}
	aw.WriteString("\n    }")
}
