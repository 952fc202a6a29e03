package views

import (
	"sort"
	"strconv"
	"strings"

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
