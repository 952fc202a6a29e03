package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// state is the database's permission state as a normalized Document plus the row ids behind
// every name, so an import can update rows in place.
type state struct {
	doc *models.Document
	rev int64
	ids map[string]map[string]int64 // kind -> name -> id
}

func (st *state) id(kind, name string) int64 { return st.ids[kind][name] }

// LoadDocument returns the whole permission state as a normalized policy document, and the
// revision it was read at (both from one transaction, so they agree).
func (s *Store) LoadDocument(ctx context.Context) (*models.Document, int64, error) {
	var st *state
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		st, err = loadState(tx)
		return err
	}, readOnlyTx(s.kind))
	if err != nil {
		return nil, 0, err
	}
	return st.doc, st.rev, nil
}

func loadState(tx *gorm.DB) (*state, error) {
	l, err := newLoader(tx)
	if err != nil {
		return nil, err
	}
	if err := l.catalogue(tx); err != nil {
		return nil, err
	}
	d := newDocRows(l.st.doc, l.name)
	// In this order, so that every id a row refers to is remembered before the row is read.
	if err := findAll(tx, l, models.KindOrganization, d.organizations); err != nil {
		return nil, err
	}
	if err := findAll(tx, l, models.KindAgent, d.agents); err != nil {
		return nil, err
	}
	if err := findAll(tx, l, models.KindEndUser, d.endUsers); err != nil {
		return nil, err
	}
	if err := findAll(tx, l, models.KindTeam, d.teams); err != nil {
		return nil, err
	}
	if err := findAll(tx, l, models.KindKey, d.keys); err != nil {
		return nil, err
	}
	var entries []models.MCPEntry
	if err := tx.FindInBatches(&entries, 2*loadBatch, func(*gorm.DB, int) error {
		d.entries(entries)
		return nil
	}).Error; err != nil {
		return nil, err
	}
	if err := loadGuards(tx, l.st); err != nil {
		return nil, err
	}
	l.st.doc.Normalize()
	return l.st, nil
}

// loadBatch is how many rows of one table loadState reads at a time (there may be 100,000 keys).
var loadBatch = 5000

// findAll reads a whole level table in batches, remembering each row's id and giving the rows
// to add. The batches are in id order, the order FindInBatches pages by (it asks for ids above
// the last batch's last one); ordering them by anything else would skip and repeat rows. The
// caller sorts the document.
func findAll[R any, PR levelRow[R]](tx *gorm.DB, l *loader, kind string, add func([]R)) error {
	var rows []R
	return tx.FindInBatches(&rows, loadBatch, func(*gorm.DB, int) error {
		for i := range rows {
			lv := PR(&rows[i]).Base()
			l.remember(kind, lv.ID, lv.Name)
		}
		add(rows)
		return nil
	}).Error
}

// The functions below turn level rows and their mcp_entries into document form. loadState uses
// them for the whole state and loadChanges (changes.go) for the few principals that changed, so
// both read the database the same way. Their results are normalized by the caller.

// levelRef is where one level's MCP permission and deny list are collected.
type levelRef struct {
	mcp  **models.MCPPermission
	deny *[]string
}

// levelMCP is a level's MCP permission before its entries are added: nil when the level has no
// mcp block, empty (no MCP access) until entries fill it when it has one.
func levelMCP(l *models.Level) *models.MCPPermission {
	if l.MCPRestricted {
		return &models.MCPPermission{}
	}
	return nil
}

func orgDoc(o *models.Organization) models.OrganizationDoc {
	return models.OrganizationDoc{Name: o.Name, Blocked: o.Blocked, MCP: levelMCP(&o.Level)}
}

func agentDoc(a *models.Agent) models.AgentDoc {
	return models.AgentDoc{Name: a.Name, MCP: levelMCP(&a.Level)}
}

func endUserDoc(u *models.EndUser) models.EndUserDoc {
	return models.EndUserDoc{Name: u.Name, MCP: levelMCP(&u.Level)}
}

// teamDoc is a team's document form; org is the name of its organization ("" for none).
func teamDoc(t *models.Team, org string) models.TeamDoc {
	return models.TeamDoc{Name: t.Name, Blocked: t.Blocked, Organization: org, MCP: levelMCP(&t.Level)}
}

// keyDoc is a key's document form; team, org and agent are the names its ids refer to.
func keyDoc(k *models.Key, team, org, agent string) models.KeyDoc {
	d := models.KeyDoc{Name: k.Name, Blocked: k.Blocked, Team: team, Organization: org, Agent: agent, MCP: levelMCP(&k.Level)}
	if k.ExpiresAt != nil {
		d.ExpiresAt = k.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return d
}

// addEntry adds one mcp_entries row to its level. name resolves the row's server, access group
// and toolset ids (nil id: ""). Entries must be added in id order.
func addEntry(ref levelRef, e *models.MCPEntry, name func(kind string, id *int64) string) {
	server := name(models.KindServer, e.ServerID)
	if e.Entry == "deny" {
		*ref.deny = append(*ref.deny, server+"/"+e.Tool)
		return
	}
	p := *ref.mcp
	if p == nil {
		// An entry under a level that does not restrict cannot be written by this store;
		// ignoring it keeps the loaded state equal to what the level means.
		return
	}
	switch e.Entry {
	case "server":
		p.Servers = append(p.Servers, server)
	case "access_group":
		p.AccessGroups = append(p.AccessGroups, name(models.KindAccessGroup, e.AccessGroupID))
	case "toolset":
		p.Toolsets = append(p.Toolsets, name(models.KindToolset, e.ToolsetID))
	case "tool":
		if p.Tools == nil {
			p.Tools = map[string][]string{}
		}
		if e.Tool == "" {
			p.Tools[server] = p.Tools[server][:0:0]
		} else {
			p.Tools[server] = append(p.Tools[server], e.Tool)
		}
	}
}

// loader reads rows into a state, remembering the id behind every name in both directions.
type loader struct {
	st    *state
	names map[string]map[int64]string
}

func newLoader(tx *gorm.DB) (*loader, error) {
	l := &loader{
		st:    &state{doc: &models.Document{Version: models.DocumentVersion}, ids: map[string]map[string]int64{}},
		names: map[string]map[int64]string{},
	}
	var err error
	l.st.rev, err = revision(tx)
	return l, err
}

func (l *loader) remember(kind string, id int64, name string) {
	if l.st.ids[kind] == nil {
		l.st.ids[kind] = map[string]int64{}
		l.names[kind] = map[int64]string{}
	}
	l.st.ids[kind][name] = id
	l.names[kind][id] = name
}

// name is the name behind an id ("" for a nil id).
func (l *loader) name(kind string, id *int64) string {
	if id == nil {
		return ""
	}
	return l.names[kind][*id]
}

// catalogue loads what permissions name: servers with their tools, access groups, toolsets.
func (l *loader) catalogue(tx *gorm.DB) error {
	st := l.st
	var servers []models.Server
	if err := tx.Order("name").Find(&servers).Error; err != nil {
		return err
	}
	serverIdx := map[int64]int{}
	for i, s := range servers {
		l.remember(models.KindServer, s.ID, s.Name)
		serverIdx[s.ID] = i
		st.doc.Servers = append(st.doc.Servers, models.ServerDoc{Name: s.Name, URL: s.URL, Public: s.Public})
	}
	var tools []models.ServerTool
	if err := tx.Order("server_id, name").Find(&tools).Error; err != nil {
		return err
	}
	for _, t := range tools {
		sd := &st.doc.Servers[serverIdx[t.ServerID]]
		sd.Tools = append(sd.Tools, models.ToolDoc{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema})
		if t.Disabled {
			sd.DisabledTools = append(sd.DisabledTools, t.Name)
		}
	}

	serverName := func(id int64) string { return l.names[models.KindServer][id] }
	groups, groupServers, err := namedSets(tx, l, models.KindAccessGroup,
		func(g *models.AccessGroup) (int64, string) { return g.ID, g.Name },
		func(r *models.AccessGroupServer) (int64, string) { return r.AccessGroupID, serverName(r.ServerID) })
	if err != nil {
		return err
	}
	for i, g := range groups {
		st.doc.AccessGroups = append(st.doc.AccessGroups, models.AccessGroupDoc{Name: g, Servers: groupServers[i]})
	}
	toolsets, toolsetTools, err := namedSets(tx, l, models.KindToolset,
		func(t *models.Toolset) (int64, string) { return t.ID, t.Name },
		func(r *models.ToolsetTool) (int64, string) { return r.ToolsetID, serverName(r.ServerID) + "/" + r.Tool })
	if err != nil {
		return err
	}
	for i, t := range toolsets {
		st.doc.Toolsets = append(st.doc.Toolsets, models.ToolsetDoc{Name: t, Tools: toolsetTools[i]})
	}
	return nil
}

// namedSets reads a table of named sets (access groups, toolsets) by name, remembering each
// set's id, and the table of their members: set gives a set row's id and name, member a member
// row's set id and entry. It returns the names and each set's entries, in row order.
func namedSets[S, M any](tx *gorm.DB, l *loader, kind string, set func(*S) (int64, string), member func(*M) (int64, string)) ([]string, [][]string, error) {
	var sets []S
	if err := tx.Order("name").Find(&sets).Error; err != nil {
		return nil, nil, err
	}
	names := make([]string, len(sets))
	at := make(map[int64]int, len(sets))
	for i := range sets {
		id, name := set(&sets[i])
		l.remember(kind, id, name)
		names[i], at[id] = name, i
	}
	var members []M
	if err := tx.Find(&members).Error; err != nil {
		return nil, nil, err
	}
	entries := make([][]string, len(sets))
	for i := range members {
		id, entry := member(&members[i])
		entries[at[id]] = append(entries[at[id]], entry)
	}
	return names, entries, nil
}

// loadLevels loads the catalogue, the principals named in names (kind -> names; those that do
// not exist are absent from the document) and every principal they refer to (a team's
// organization; a key's team, organization and agent, and its team's organization): enough
// state to change those principals alone, whatever the size of the rest.
func loadLevels(tx *gorm.DB, names map[string][]string) (*state, error) {
	l, err := newLoader(tx)
	if err != nil {
		return nil, err
	}
	if err := l.catalogue(tx); err != nil {
		return nil, err
	}
	var (
		keys   []models.Key
		teams  []models.Team
		orgs   []models.Organization
		agents []models.Agent
		users  []models.EndUser
	)
	// Referrers first, so the ids they refer to are known before their kinds are read.
	if err := findLevels(tx, &keys, names[models.KindKey], nil); err != nil {
		return nil, err
	}
	var teamIDs, orgIDs, agentIDs []int64
	for i := range keys {
		teamIDs, orgIDs, agentIDs = appendID(teamIDs, keys[i].TeamID), appendID(orgIDs, keys[i].OrganizationID), appendID(agentIDs, keys[i].AgentID)
	}
	if err := findLevels(tx, &teams, names[models.KindTeam], teamIDs); err != nil {
		return nil, err
	}
	for i := range teams {
		orgIDs = appendID(orgIDs, teams[i].OrganizationID)
	}
	if err := findLevels(tx, &orgs, names[models.KindOrganization], orgIDs); err != nil {
		return nil, err
	}
	if err := findLevels(tx, &agents, names[models.KindAgent], agentIDs); err != nil {
		return nil, err
	}
	if err := findLevels(tx, &users, names[models.KindEndUser], nil); err != nil {
		return nil, err
	}
	remember := func(kind string, ids []int64, name func(int) string) {
		for i, id := range ids {
			l.remember(kind, id, name(i))
		}
	}
	remember(models.KindOrganization, rowIDs(orgs), func(i int) string { return orgs[i].Name })
	remember(models.KindAgent, rowIDs(agents), func(i int) string { return agents[i].Name })
	remember(models.KindEndUser, rowIDs(users), func(i int) string { return users[i].Name })
	remember(models.KindTeam, rowIDs(teams), func(i int) string { return teams[i].Name })
	remember(models.KindKey, rowIDs(keys), func(i int) string { return keys[i].Name })
	d := newDocRows(l.st.doc, l.name)
	d.organizations(orgs)
	d.agents(agents)
	d.endUsers(users)
	d.teams(teams)
	d.keys(keys)
	for kind, ids := range map[string][]int64{models.KindOrganization: rowIDs(orgs), models.KindAgent: rowIDs(agents),
		models.KindEndUser: rowIDs(users), models.KindTeam: rowIDs(teams), models.KindKey: rowIDs(keys)} {
		for _, chunk := range chunks(ids) {
			var entries []models.MCPEntry
			if err := tx.Where("principal_kind = ? AND principal_id IN ?", kind, chunk).Order("id").Find(&entries).Error; err != nil {
				return nil, err
			}
			d.entries(entries)
		}
	}
	l.st.doc.Normalize()
	return l.st, nil
}

// findLevels reads the rows of one level table that have one of the names or ids, each once.
func findLevels[R any, PR levelRow[R]](tx *gorm.DB, out *[]R, names []string, ids []int64) error {
	var rows []R
	if err := findByName(tx, &rows, names); err != nil {
		return err
	}
	seen := map[int64]bool{}
	for i := range rows {
		seen[PR(&rows[i]).Base().ID] = true
	}
	var want []int64
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			want = append(want, id)
		}
	}
	for _, chunk := range chunks(want) {
		var more []R
		if err := tx.Where("id IN ?", chunk).Find(&more).Error; err != nil {
			return err
		}
		rows = append(rows, more...)
	}
	*out = rows
	return nil
}

func appendID(ids []int64, id *int64) []int64 {
	if id == nil {
		return ids
	}
	return append(ids, *id)
}
