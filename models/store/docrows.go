package store

import (
	"github.com/warden-mcp/warden/models"
)

// docRows turns level rows (organizations, teams, keys, end users, agents) and their
// mcp_entries into document form. loadState feeds it the whole state, loadOrganization one
// organization and loadPrincipals (changes.go) the few principals that changed, so all three
// read the database the same way. Rows may come in batches; entries must come after every
// level row they belong to, in id order. The caller normalizes the document.
type docRows struct {
	doc *models.Document
	// name resolves the ids the rows refer to (nil id: "").
	name func(kind string, id *int64) string
	// ids is the row id of each document, by kind, in the order of doc's lists.
	ids map[string]*[]int64
	// levels is where each level's entries go; set when the first entries come, since
	// pointers into doc's lists are stable only once every row is in.
	levels map[string]map[int64]levelRef
}

func newDocRows(doc *models.Document, name func(kind string, id *int64) string) *docRows {
	return &docRows{doc: doc, name: name, ids: map[string]*[]int64{}}
}

// appendRows adds one document per row to docs and its id to ids.
func appendRows[R, D any](docs *[]D, ids *[]int64, rows []R, id func(*R) int64, doc func(*R) D) {
	for i := range rows {
		*docs = append(*docs, doc(&rows[i]))
		*ids = append(*ids, id(&rows[i]))
	}
}

func (d *docRows) organizations(rows []models.Organization) {
	appendRows(&d.doc.Organizations, d.idsOf(models.KindOrganization), rows,
		func(o *models.Organization) int64 { return o.ID }, orgDoc)
}

func (d *docRows) teams(rows []models.Team) {
	appendRows(&d.doc.Teams, d.idsOf(models.KindTeam), rows, func(t *models.Team) int64 { return t.ID },
		func(t *models.Team) models.TeamDoc {
			return teamDoc(t, d.name(models.KindOrganization, t.OrganizationID))
		})
}

func (d *docRows) keys(rows []models.Key) {
	appendRows(&d.doc.Keys, d.idsOf(models.KindKey), rows, func(k *models.Key) int64 { return k.ID },
		func(k *models.Key) models.KeyDoc {
			return keyDoc(k, d.name(models.KindTeam, k.TeamID), d.name(models.KindOrganization, k.OrganizationID),
				d.name(models.KindAgent, k.AgentID))
		})
}

func (d *docRows) endUsers(rows []models.EndUser) {
	appendRows(&d.doc.EndUsers, d.idsOf(models.KindEndUser), rows, func(u *models.EndUser) int64 { return u.ID }, endUserDoc)
}

func (d *docRows) agents(rows []models.Agent) {
	appendRows(&d.doc.Agents, d.idsOf(models.KindAgent), rows, func(a *models.Agent) int64 { return a.ID }, agentDoc)
}

func (d *docRows) idsOf(kind string) *[]int64 {
	p := d.ids[kind]
	if p == nil {
		p = new([]int64)
		d.ids[kind] = p
	}
	return p
}

// entries adds mcp_entries rows to their levels; rows of levels not loaded are skipped.
func (d *docRows) entries(rows []models.MCPEntry) {
	if d.levels == nil {
		d.levels = map[string]map[int64]levelRef{}
		refs(d.levels, models.KindOrganization, *d.idsOf(models.KindOrganization), d.doc.Organizations, func(o *models.OrganizationDoc) (**models.MCPPermission, *[]string) { return &o.MCP, &o.DenyTools })
		refs(d.levels, models.KindTeam, *d.idsOf(models.KindTeam), d.doc.Teams, func(t *models.TeamDoc) (**models.MCPPermission, *[]string) { return &t.MCP, &t.DenyTools })
		refs(d.levels, models.KindKey, *d.idsOf(models.KindKey), d.doc.Keys, func(k *models.KeyDoc) (**models.MCPPermission, *[]string) { return &k.MCP, &k.DenyTools })
		refs(d.levels, models.KindEndUser, *d.idsOf(models.KindEndUser), d.doc.EndUsers, func(u *models.EndUserDoc) (**models.MCPPermission, *[]string) { return &u.MCP, &u.DenyTools })
		refs(d.levels, models.KindAgent, *d.idsOf(models.KindAgent), d.doc.Agents, func(a *models.AgentDoc) (**models.MCPPermission, *[]string) { return &a.MCP, &a.DenyTools })
	}
	for i := range rows {
		if ref, ok := d.levels[rows[i].PrincipalKind][rows[i].PrincipalID]; ok {
			addEntry(ref, &rows[i], d.name)
		}
	}
}

// refs records where the entries of each of docs go, by row id.
func refs[D any](levels map[string]map[int64]levelRef, kind string, ids []int64, docs []D,
	level func(*D) (**models.MCPPermission, *[]string)) {
	m := make(map[int64]levelRef, len(docs))
	for i, id := range ids {
		mcp, deny := level(&docs[i])
		m[id] = levelRef{mcp: mcp, deny: deny}
	}
	levels[kind] = m
}
