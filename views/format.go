package views

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warden-mcp/warden/models"
)

// MCPSummary describes a level's MCP permission in a few words for tables: absent and
// present-but-empty read differently, as they mean different things.
func MCPSummary(p *models.MCPPermission) string {
	switch {
	case p == nil:
		return "no limit"
	case p.IsEmpty():
		return "no MCP access"
	}
	var parts []string
	if len(p.Servers) > 0 {
		parts = append(parts, "servers: "+strings.Join(p.Servers, ", "))
	}
	if len(p.AccessGroups) > 0 {
		parts = append(parts, "groups: "+strings.Join(p.AccessGroups, ", "))
	}
	if len(p.Toolsets) > 0 {
		parts = append(parts, "toolsets: "+strings.Join(p.Toolsets, ", "))
	}
	if len(p.Tools) > 0 {
		servers := make([]string, 0, len(p.Tools))
		for s, tools := range p.Tools {
			servers = append(servers, s+" ("+itoa(len(tools))+" tools)")
		}
		sort.Strings(servers)
		parts = append(parts, "tool lists: "+strings.Join(servers, ", "))
	}
	return strings.Join(parts, "; ")
}

func mcpClass(p *models.MCPPermission) string {
	switch {
	case p == nil:
		return "pill open"
	case p.IsEmpty():
		return "pill none"
	}
	return "pill"
}

func itoa(n int) string {
	return strconv.Itoa(n)
}

func i64toa(n int64) string { return strconv.FormatInt(n, 10) }

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func hasKey(m map[string][]string, k string) bool {
	_, ok := m[k]
	return ok
}

// joinShort lists up to n items and says how many more there are.
func joinShort(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + " +" + itoa(len(items)-n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

// ImpactWords renders "the organization, 2 teams and 14 keys".
func ImpactWords(c ImpactCount) string {
	var parts []string
	switch {
	case c.Orgs > 1:
		parts = append(parts, plural(c.Orgs, "organization", "organizations"))
	case c.Org:
		parts = append(parts, "the organization")
	}
	if c.Teams > 0 {
		parts = append(parts, plural(c.Teams, "team", "teams"))
	}
	if c.Keys > 0 {
		parts = append(parts, plural(c.Keys, "key", "keys"))
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// countWords renders a tool row's cell: "−14 keys  −2 teams".
func countWords(c ImpactCount, sign string) string {
	var parts []string
	if c.Keys > 0 {
		parts = append(parts, sign+plural(c.Keys, "key", "keys"))
	}
	if c.Teams > 0 {
		parts = append(parts, sign+plural(c.Teams, "team", "teams"))
	}
	if c.Org {
		parts = append(parts, sign+"organization")
	}
	return strings.Join(parts, "  ")
}

// whyVals is the hx-vals JSON naming the principal a "Why?" request explains.
func whyVals(kind, name string) string {
	b, _ := json.Marshal(map[string]string{"kind": kind, "name": name})
	return string(b)
}

// FormatTime shows an audit time in UTC, to the second.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// DeltaLines describes a change of an organization's settings, one line a field that changed:
// "denied tools: + slack/post_message", "MCP access: limited to the selection → no limit".
func DeltaLines(d models.OrganizationDelta) []string {
	var out []string
	yesNo := map[bool]string{true: "yes", false: "no"}
	if d.Blocked != nil {
		out = append(out, "blocked: "+yesNo[!*d.Blocked]+" → "+yesNo[*d.Blocked])
	}
	if d.Limit != nil {
		if *d.Limit {
			out = append(out, "MCP access: no limit → limited to the selection")
		} else {
			out = append(out, "MCP access: limited to the selection → no limit")
		}
	}
	set := func(label string, s models.SetDelta) {
		if s.Empty() {
			return
		}
		var parts []string
		for _, a := range s.Added {
			parts = append(parts, "+ "+a)
		}
		for _, r := range s.Removed {
			parts = append(parts, "− "+r)
		}
		out = append(out, label+": "+strings.Join(parts, ", "))
	}
	set("servers", d.Servers)
	set("access groups", d.AccessGroups)
	set("toolsets", d.Toolsets)
	set("tool limits", d.LimitedServers)
	servers := make([]string, 0, len(d.Tools))
	for s := range d.Tools {
		servers = append(servers, s)
	}
	sort.Strings(servers)
	for _, s := range servers {
		set(s+" limited to", d.Tools[s])
	}
	set("denied tools", d.DenyTools)
	if len(out) == 0 {
		out = append(out, "no change to the settings")
	}
	return out
}

// explainClass is the class of an explanation line: the result first, then levels and the
// lines indented under them.
func explainClass(i int, line string) string {
	switch {
	case i == 0:
		return "line result"
	case strings.HasPrefix(line, "  "):
		return "line sub"
	}
	return "line level"
}

func queryEscape(s string) string { return url.QueryEscape(s) }
