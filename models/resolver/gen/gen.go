// Package gen generates large synthetic permission documents for benchmarks and tests. The
// output is a deterministic function of the Config (including its Seed).
package gen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/warden-mcp/warden/models"
)

// Config sizes a synthetic state. Fractions are probabilities in [0, 1].
type Config struct {
	Seed uint64

	Servers           int
	ToolsPerServer    int
	DisabledPerServer int     // up to this many tools of each server are disabled
	PublicServers     float64 // fraction of servers that are public
	AccessGroups      int
	ServersPerGroup   int
	Toolsets          int
	ToolsPerToolset   int

	Organizations int
	Teams         int
	Keys          int
	Agents        int
	EndUsers      int
	// BigOrgKeys keys (and a proportional share of the teams) belong to the first
	// organization, "org-000"; the rest spread over the others. 0 spreads everything evenly.
	BigOrgKeys int

	OrgRestrict, TeamRestrict, KeyRestrict, AgentRestrict, EndUserRestrict float64
	OrgDeny, TeamDeny, KeyDeny, AgentDeny                                  float64
	KeyAgent                                                               float64 // keys bound to an agent
	TeamlessKeys                                                           float64
	Blocked                                                                float64 // orgs, teams and keys blocked
}

// Large is the benchmark size: 50 organizations, 2,000 teams, 100,000 keys (20,000 of them in
// org-000), 200 servers of 30 tools.
func Large() Config {
	return Config{Seed: 1, Servers: 200, ToolsPerServer: 30, DisabledPerServer: 2, PublicServers: 0.1,
		AccessGroups: 20, ServersPerGroup: 10, Toolsets: 40, ToolsPerToolset: 12,
		Organizations: 50, Teams: 2000, Keys: 100000, Agents: 200, EndUsers: 1000, BigOrgKeys: 20000,
		OrgRestrict: 0.5, TeamRestrict: 0.3, KeyRestrict: 0.1, AgentRestrict: 0.5, EndUserRestrict: 0.5,
		OrgDeny: 0.3, TeamDeny: 0.2, KeyDeny: 0.05, AgentDeny: 0.2, KeyAgent: 0.2, TeamlessKeys: 0.05, Blocked: 0.01}
}

// Small is Large scaled down for quick tests: 5 organizations, 40 teams, 2,000 keys.
func Small() Config {
	c := Large()
	c.Servers, c.AccessGroups, c.Toolsets = 20, 5, 8
	c.Organizations, c.Teams, c.Keys, c.Agents, c.EndUsers, c.BigOrgKeys = 5, 40, 2000, 10, 20, 400
	return c
}

type gen struct {
	cfg Config
	r   *rand.Rand
	doc *models.Document
}

// ServerName, OrgName, TeamName, KeyName, AgentName and EndUserName are the generated names.
func ServerName(i int) string  { return fmt.Sprintf("srv-%03d", i) }
func ToolName(i int) string    { return fmt.Sprintf("tool-%02d", i) }
func OrgName(i int) string     { return fmt.Sprintf("org-%03d", i) }
func TeamName(i int) string    { return fmt.Sprintf("team-%05d", i) }
func KeyName(i int) string     { return fmt.Sprintf("key-%06d", i) }
func AgentName(i int) string   { return fmt.Sprintf("agent-%03d", i) }
func EndUserName(i int) string { return fmt.Sprintf("user-%04d", i) }

// Generate builds the document.
func Generate(cfg Config) *models.Document {
	g := &gen{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)), doc: &models.Document{Version: models.DocumentVersion}}
	d := g.doc
	for i := 0; i < cfg.Servers; i++ {
		s := models.ServerDoc{Name: ServerName(i), URL: "https://mcp.example/" + ServerName(i), Public: g.p(cfg.PublicServers)}
		for t := 0; t < cfg.ToolsPerServer; t++ {
			s.Tools = append(s.Tools, models.ToolDoc{Name: ToolName(t)})
		}
		for n := g.r.IntN(cfg.DisabledPerServer + 1); n > 0 && cfg.ToolsPerServer > 0; n-- {
			s.DisabledTools = append(s.DisabledTools, ToolName(g.r.IntN(cfg.ToolsPerServer)))
		}
		d.Servers = append(d.Servers, s)
	}
	for i := 0; i < cfg.AccessGroups; i++ {
		a := models.AccessGroupDoc{Name: fmt.Sprintf("group-%02d", i)}
		for n := 1 + g.r.IntN(max(cfg.ServersPerGroup, 1)); n > 0 && cfg.Servers > 0; n-- {
			a.Servers = append(a.Servers, ServerName(g.r.IntN(cfg.Servers)))
		}
		d.AccessGroups = append(d.AccessGroups, a)
	}
	for i := 0; i < cfg.Toolsets; i++ {
		t := models.ToolsetDoc{Name: fmt.Sprintf("toolset-%02d", i)}
		for n := 1 + g.r.IntN(max(cfg.ToolsPerToolset, 1)); n > 0; n-- {
			t.Tools = append(t.Tools, g.tool())
		}
		d.Toolsets = append(d.Toolsets, t)
	}
	for i := 0; i < cfg.Organizations; i++ {
		o := models.OrganizationDoc{Name: OrgName(i), Blocked: i != 0 && g.p(cfg.Blocked)}
		if g.p(cfg.OrgRestrict) {
			o.MCP = g.mcp(true)
		}
		if g.p(cfg.OrgDeny) {
			o.DenyTools = g.deny()
		}
		d.Organizations = append(d.Organizations, o)
	}
	// Teams: a share proportional to BigOrgKeys goes to org-000, the rest round-robin.
	bigTeams := 0
	if cfg.BigOrgKeys > 0 && cfg.Keys > 0 && cfg.Organizations > 1 {
		bigTeams = max(1, cfg.Teams*cfg.BigOrgKeys/cfg.Keys)
	}
	teamsOf := make([][]int, cfg.Organizations)
	for i := 0; i < cfg.Teams; i++ {
		t := models.TeamDoc{Name: TeamName(i), Blocked: g.p(cfg.Blocked / 2)}
		if cfg.Organizations > 0 {
			oi := 0
			if i >= bigTeams {
				if bigTeams > 0 {
					oi = 1 + (i-bigTeams)%(cfg.Organizations-1)
				} else {
					oi = i % cfg.Organizations
				}
			}
			t.Organization = OrgName(oi)
			teamsOf[oi] = append(teamsOf[oi], i)
		}
		if g.p(cfg.TeamRestrict) {
			t.MCP = g.mcp(false)
		}
		if g.p(cfg.TeamDeny) {
			t.DenyTools = g.deny()
		}
		d.Teams = append(d.Teams, t)
	}
	for i := 0; i < cfg.Agents; i++ {
		a := models.AgentDoc{Name: AgentName(i)}
		if g.p(cfg.AgentRestrict) {
			a.MCP = g.mcp(false)
		}
		if g.p(cfg.AgentDeny) {
			a.DenyTools = g.deny()
		}
		d.Agents = append(d.Agents, a)
	}
	for i := 0; i < cfg.EndUsers; i++ {
		u := models.EndUserDoc{Name: EndUserName(i)}
		if g.p(cfg.EndUserRestrict) {
			u.MCP = g.mcp(false)
		}
		d.EndUsers = append(d.EndUsers, u)
	}
	for i := 0; i < cfg.Keys; i++ {
		k := models.KeyDoc{Name: KeyName(i), Blocked: g.p(cfg.Blocked)}
		if cfg.Organizations > 0 {
			oi := 0
			if i >= cfg.BigOrgKeys || bigTeams == 0 {
				if bigTeams > 0 {
					oi = 1 + g.r.IntN(cfg.Organizations-1)
				} else {
					oi = g.r.IntN(cfg.Organizations)
				}
			}
			if g.p(cfg.TeamlessKeys) || len(teamsOf[oi]) == 0 {
				k.Organization = OrgName(oi)
			} else {
				k.Team = TeamName(teamsOf[oi][g.r.IntN(len(teamsOf[oi]))])
				k.Organization = OrgName(oi)
			}
		}
		if cfg.Agents > 0 && g.p(cfg.KeyAgent) {
			k.Agent = AgentName(g.r.IntN(cfg.Agents))
		}
		if g.p(cfg.KeyRestrict) {
			k.MCP = g.mcp(false)
		}
		if g.p(cfg.KeyDeny) {
			k.DenyTools = g.deny()
		}
		d.Keys = append(d.Keys, k)
	}
	return d
}

func (g *gen) p(f float64) bool { return f > 0 && g.r.Float64() < f }

func (g *gen) server() string { return ServerName(g.r.IntN(max(g.cfg.Servers, 1))) }

func (g *gen) tool() string {
	return g.server() + "/" + ToolName(g.r.IntN(max(g.cfg.ToolsPerServer, 1)))
}

// mcp draws a selection; broad ones (organizations) name more access groups.
func (g *gen) mcp(broad bool) *models.MCPPermission {
	p := &models.MCPPermission{}
	if g.r.IntN(50) == 0 {
		return p // explicit empty: no MCP access
	}
	n := 1
	if broad {
		n = 3
	}
	if g.cfg.AccessGroups > 0 {
		for k := g.r.IntN(n + 1); k > 0; k-- {
			p.AccessGroups = append(p.AccessGroups, fmt.Sprintf("group-%02d", g.r.IntN(g.cfg.AccessGroups)))
		}
	}
	for k := g.r.IntN(2 * n); k > 0; k-- {
		p.Servers = append(p.Servers, g.server())
	}
	if g.cfg.Toolsets > 0 {
		for k := g.r.IntN(3); k > 0; k-- {
			p.Toolsets = append(p.Toolsets, fmt.Sprintf("toolset-%02d", g.r.IntN(g.cfg.Toolsets)))
		}
	}
	if g.r.IntN(3) == 0 {
		p.Tools = map[string][]string{}
		for k := 1 + g.r.IntN(2); k > 0; k-- {
			s := g.server()
			for t := 1 + g.r.IntN(6); t > 0; t-- {
				p.Tools[s] = append(p.Tools[s], ToolName(g.r.IntN(max(g.cfg.ToolsPerServer, 1))))
			}
		}
	}
	return p
}

func (g *gen) deny() []string {
	var out []string
	for k := 1 + g.r.IntN(3); k > 0; k-- {
		out = append(out, g.tool())
	}
	return out
}

// ChangeOrganization changes the organization named org in place and nothing else: it flips
// its blocked flag and denies one more tool of the first server. It is the "one organization
// changed" of the re-import and diff measurements.
func ChangeOrganization(d *models.Document, org string) error {
	o := d.Organization(org)
	if o == nil {
		return fmt.Errorf("no organization %q", org)
	}
	if len(d.Servers) == 0 || len(d.Servers[0].Tools) == 0 {
		return fmt.Errorf("no tool to deny")
	}
	o.Blocked = !o.Blocked
	o.DenyTools = append(o.DenyTools, d.Servers[0].Name+"/"+d.Servers[0].Tools[len(d.Servers[0].Tools)-1].Name)
	return nil
}

// WriteJSON writes d as an indented JSON policy document (JSON is YAML, so `warden` reads it),
// the form of the large documents measured in README "Speed".
func WriteJSON(w io.Writer, d *models.Document) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return err
	}
	return bw.Flush()
}
