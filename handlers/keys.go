package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Keys serves the read-only keys list and each key's explain page, read from the enforced view.
type Keys struct {
	State PolicyState
	// Store tells whether a key has a secret; PublicURL is the console's origin, for the
	// connection snippets.
	Store     *store.Store
	PublicURL string
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

	// One pass over the keys (sorted by name) counts the matches and keeps this page's.
	start := (page - 1) * keysPerPage
	type pick struct {
		doc  *models.KeyDoc
		info resolver.KeyInfo
	}
	var picked []pick
	total := 0
	for i := range v.Doc.Keys {
		k := &v.Doc.Keys[i]
		info, _ := v.Snapshot.KeyInfo(k.Name)
		if (team != "" && k.Team != team) || (org != "" && info.Organization != org) || !match(k.Name, k.Team, info.Organization) {
			continue
		}
		if total >= start && len(picked) < keysPerPage {
			picked = append(picked, pick{k, info})
		}
		total++
	}
	now := time.Now()
	rows := make([]views.KeyRow, 0, len(picked))
	for _, p := range picked {
		k, info := p.doc, p.info
		a, _ := v.Snapshot.KeyAccess(k.Name)
		rows = append(rows, views.KeyRow{
			Name: k.Name, Team: info.Team, Organization: info.Organization, Agent: k.Agent, MCP: k.MCP,
			Access: accessSummary(a), Status: keyStatus(k, info, now),
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
	k := findKey(v.Doc, name)
	if !ok || k == nil {
		notFound(c, "key", name)
		return
	}
	a, _ := v.Snapshot.KeyAccess(name)
	ex, _ := v.Snapshot.ExplainPrincipal(resolver.KindKey, name)
	now := time.Now()
	p := views.KeyDetailProps{
		Layout: views.LayoutProps{Title: "Key " + name, Nav: "keys", Revision: v.Revision, Flash: popFlash(c)},
		Name:   name, Team: info.Team, Organization: info.Organization, Agent: k.Agent,
		AgentMissing: info.AgentMissing,
		Status:       keyStatus(k, info, now),
		ExpiresAt:    k.ExpiresAt,
		MCP:          k.MCP, DenyTools: k.DenyTools,
		Summary: accessSummary(a), Access: accessRows(a), Explanation: ex.Lines(),
		CallsURL: decisionsURL(name, "", ""),
	}
	if t, ok := expiry(k); ok && !t.After(now) {
		p.Expired = true
	}
	if h.Store != nil {
		if p.SecretPrefix, err = h.Store.KeySecretPrefix(c.Request.Context(), name); err != nil {
			fail(c, err)
			return
		}
	}
	p.Snippets = connectionSnippets(h.PublicURL, v, name, "")
	render(c, http.StatusOK, views.KeyDetailPage(p))
}

// findKey returns the key with that name, or nil; keys are sorted by name in a loaded document.
func findKey(d *models.Document, name string) *models.KeyDoc {
	keys := d.Keys
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

// keyStatus is a key's state: blocked (by itself, its team or its organization, as the
// resolver places it; the innermost level is named, being the one this key's page can change),
// expired, expiring, or active.
func keyStatus(k *models.KeyDoc, info resolver.KeyInfo, now time.Time) views.Status {
	if n := len(info.BlockedBy); n > 0 {
		by, name := info.BlockedBy[n-1], info.Organization
		if by == resolver.LevelTeam {
			name = info.Team
		}
		return blockedStatus(resolver.LevelKey, by, name)
	}
	t, ok := expiry(k)
	switch {
	case !ok:
		return activeStatus
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
