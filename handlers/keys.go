package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/views"
)

// Keys serves the read-only keys list and each key's explain page, read from the enforced view.
type Keys struct {
	State PolicyState
}

// keysPerPage bounds the keys list: a policy can hold 100,000 keys.
const keysPerPage = 100

// List shows a page of the keys matching the filter: ?q= (a part of the key's, its team's or
// its organization's name), ?team= and ?org= (exact names). An htmx request gets the table body
// and status line alone.
func (h *Keys) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	q := strings.TrimSpace(c.Query("q"))
	team, org := c.Query("team"), c.Query("org")
	page := pageParam(c)
	match := matcher(q)
	pl := newPlacement(v.Doc)

	// One pass over the keys (sorted by name) counts the matches and keeps this page's.
	start := (page - 1) * keysPerPage
	var picked []*models.KeyDoc
	total := 0
	for i := range v.Doc.Keys {
		k := &v.Doc.Keys[i]
		keyOrg := pl.org(k)
		if (team != "" && k.Team != team) || (org != "" && keyOrg != org) || !match(k.Name, k.Team, keyOrg) {
			continue
		}
		if total >= start && len(picked) < keysPerPage {
			picked = append(picked, k)
		}
		total++
	}
	now := time.Now()
	rows := make([]views.KeyRow, 0, len(picked))
	for _, k := range picked {
		info, _ := v.Snapshot.KeyInfo(k.Name)
		a, _ := v.Snapshot.KeyAccess(k.Name)
		rows = append(rows, views.KeyRow{
			Name: k.Name, Team: info.Team, Organization: info.Organization, Agent: k.Agent, MCP: k.MCP,
			Access: accessSummary(a), Status: pl.status(k, info, now),
		})
	}

	var filter []string
	if team != "" {
		filter = append(filter, quoted("in team", team))
	}
	if org != "" {
		filter = append(filter, quoted("in organization", org))
	}
	if q != "" {
		filter = append(filter, quoted("matching", q))
	}
	p := views.KeyListProps{
		Layout: views.LayoutProps{Title: "Keys", Nav: "keys", Revision: v.Revision, Flash: popFlash(c)},
		List: views.ListPage{
			Path: "/keys", Rows: "key-rows", Status: "key-status", One: "key", Many: "keys",
			Params: []views.Param{{Name: "q", Value: q}, {Name: "team", Value: team}, {Name: "org", Value: org}},
			Filter: strings.Join(filter, ", "),
			Page:   page, PerPage: keysPerPage, Shown: len(rows), Total: total, HasNext: start+len(rows) < total,
		},
		Rows: rows,
	}
	renderPage(c, http.StatusOK, views.KeyListPage(p), views.KeyListFragment(p))
}

// Show is one key's explain page: where it sits, its effective access server by server, and the
// resolver's explanation of it.
func (h *Keys) Show(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	name := c.Param("key")
	info, ok := v.Snapshot.KeyInfo(name)
	k := findKey(v, name)
	if !ok || k == nil {
		notFound(c, "key", name)
		return
	}
	a, _ := v.Snapshot.KeyAccess(name)
	ex, _ := v.Snapshot.ExplainPrincipal(resolver.KindKey, name)
	now := time.Now()
	pl := newPlacement(v.Doc)
	p := views.KeyDetailProps{
		Layout: views.LayoutProps{Title: "Key " + name, Nav: "keys", Revision: v.Revision, Flash: popFlash(c)},
		Name:   name, Team: info.Team, Organization: info.Organization, Agent: k.Agent,
		AgentMissing: k.Agent != "" && !pl.agents[k.Agent],
		Status:       pl.status(k, info, now),
		ExpiresAt:    k.ExpiresAt,
		MCP:          k.MCP, DenyTools: k.DenyTools,
		Summary: accessSummary(a), Access: accessRows(a), Explanation: ex.Lines(),
	}
	if t, ok := expiry(k); ok && !t.After(now) {
		p.Expired = true
	}
	render(c, http.StatusOK, views.KeyDetailPage(p))
}

// findKey returns the key with that name, or nil; keys are sorted by name in a loaded document.
func findKey(v *live.View, name string) *models.KeyDoc {
	keys := v.Doc.Keys
	lo, hi := 0, len(keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keys[m].Name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(keys) && keys[lo].Name == name {
		return &keys[lo]
	}
	// Not sorted after all (a document that was never normalized): look at every key.
	for i := range keys {
		if keys[i].Name == name {
			return &keys[i]
		}
	}
	return nil
}

// placement knows, from the document, each team's organization and which teams and
// organizations are blocked, so a key's row needs no lookup in the snapshot to be filtered.
type placement struct {
	teamOrg     map[string]string
	teamBlocked map[string]bool
	orgBlocked  map[string]bool
	agents      map[string]bool
}

func newPlacement(d *models.Document) placement {
	p := placement{teamOrg: map[string]string{}, teamBlocked: map[string]bool{}, orgBlocked: map[string]bool{},
		agents: map[string]bool{}}
	for _, t := range d.Teams {
		p.teamOrg[t.Name], p.teamBlocked[t.Name] = t.Organization, t.Blocked
	}
	for _, o := range d.Organizations {
		p.orgBlocked[o.Name] = o.Blocked
	}
	for _, a := range d.Agents {
		p.agents[a.Name] = true
	}
	return p
}

// org is a key's effective organization: its team's, or its own when it has no team.
func (p placement) org(k *models.KeyDoc) string {
	if k.Team != "" {
		if o, ok := p.teamOrg[k.Team]; ok {
			return o
		}
	}
	return k.Organization
}

// status is a key's state: blocked (by itself, its team or its organization), expired,
// expiring, or active.
func (p placement) status(k *models.KeyDoc, info resolver.KeyInfo, now time.Time) views.Status {
	switch {
	case k.Blocked:
		return views.Status{Label: "blocked", Tone: "bad", Title: "The key is blocked: it gets no MCP access"}
	case info.Blocked && p.teamBlocked[info.Team]:
		return views.Status{Label: "blocked by team", Tone: "bad", Title: "Team " + info.Team + " is blocked"}
	case info.Blocked:
		return views.Status{Label: "blocked by organization", Tone: "bad", Title: "Organization " + info.Organization + " is blocked"}
	}
	t, ok := expiry(k)
	switch {
	case !ok:
		return views.Status{Label: "active"}
	case t.IsZero():
		return views.Status{Label: "expiry unreadable", Tone: "bad",
			Title: "expires_at " + k.ExpiresAt + " is not an RFC 3339 time: the gateway refuses every call with it"}
	case !t.After(now):
		return views.Status{Label: "expired " + t.UTC().Format(time.DateOnly), Tone: "bad",
			Title: "Expired at " + k.ExpiresAt + ": the gateway refuses every call with it"}
	case t.Sub(now) < 7*24*time.Hour:
		return views.Status{Label: "expires " + t.UTC().Format(time.DateOnly), Tone: "warn", Title: "Expires at " + k.ExpiresAt}
	}
	return views.Status{Label: "expires " + t.UTC().Format(time.DateOnly), Title: "Expires at " + k.ExpiresAt}
}

// expiry is when a key expires; false for a key that does not. An unreadable time counts as
// long past, as the gateway treats it.
func expiry(k *models.KeyDoc) (time.Time, bool) {
	if k.ExpiresAt == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, k.ExpiresAt)
	if err != nil {
		return time.Time{}, true
	}
	return t, true
}
