package handlers

// A key's secret (shown once: rotated, revoked) and the snippets that connect clients with it.

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/views"
)

// showSecret answers with the page showing a key's new secret. It is the one time the secret
// is shown: the page must not be stored by the browser or any cache.
func (h *Principals) showSecret(c *gin.Context, name, secret, flash string) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	render(c, http.StatusOK, views.KeySecretPage(views.KeySecretProps{
		Layout: views.LayoutProps{Title: "Key " + name + " — its secret", Nav: "keys", Revision: v.Revision, Flash: flash},
		Name:   name, Secret: secret, Snippets: connectionSnippets(h.PublicURL, v, name, secret),
	}))
}

// Rotate gives the key a new secret, shown once; the old one stops working at once (the save
// is enforced before the answer).
func (h *Principals) Rotate(c *gin.Context) {
	v, p, ok := h.load(c)
	if !ok || !h.allow(c, v, p) {
		return
	}
	secret, err := h.Store.IssueKeySecret(c.Request.Context(), p.Name, actorOf(c))
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	h.showSecret(c, p.Name, secret, "Rotated the secret of "+p.Name+": the old one no longer works.")
}

// Revoke removes the key's secret: every call with it is refused from now on; the key keeps its
// settings and can be given a new secret (Rotate).
func (h *Principals) Revoke(c *gin.Context) {
	v, p, ok := h.load(c)
	if !ok || !h.allow(c, v, p) {
		return
	}
	if err := h.Store.RevokeKeySecret(c.Request.Context(), p.Name, actorOf(c)); err != nil {
		fail(c, err)
		return
	}
	if err := h.State.Refresh(c.Request.Context()); err != nil {
		fail(c, err)
		return
	}
	setFlash(c, "Revoked the secret of "+p.Name+": calls with it are refused. Rotate to issue a new one.")
	redirect(c, "/keys/"+p.Name)
}

// connectionSnippets are ready-to-paste client configurations for the key: Claude Code, Cursor
// and VS Code, and the MCP Inspector, for the aggregate endpoint /mcp and each /mcp/:server the
// key may use (as the resolver says). secret "" puts a placeholder where the secret goes.
func connectionSnippets(public string, v *live.View, key, secret string) []views.Snippet {
	if secret == "" {
		secret = "$WARDEN_KEY"
	}
	base := strings.TrimSuffix(public, "/")
	type endpoint struct{ name, url string }
	eps := []endpoint{{"warden", base + "/mcp"}}
	if a, ok := v.Snapshot.KeyAccess(key); ok {
		for _, s := range a.Servers() {
			eps = append(eps, endpoint{"warden-" + s, base + "/mcp/" + s})
		}
	}
	auth := "Bearer " + secret
	var claude []string
	servers := map[string]any{}
	vscode := map[string]any{}
	for _, e := range eps {
		claude = append(claude, "claude mcp add --transport http "+e.name+" "+e.url+` --header "Authorization: `+auth+`"`)
		servers[e.name] = map[string]any{"url": e.url, "headers": map[string]string{"Authorization": auth}}
		vscode[e.name] = map[string]any{"type": "http", "url": e.url, "headers": map[string]string{"Authorization": auth}}
	}
	cursor, _ := json.MarshalIndent(map[string]any{"mcpServers": servers}, "", "  ")
	code, _ := json.MarshalIndent(map[string]any{"servers": vscode}, "", "  ")
	inspector := "npx @modelcontextprotocol/inspector --cli " + eps[0].url + ` --transport http --header "Authorization: ` + auth + `" --method tools/list`
	return []views.Snippet{
		{ID: "claude", Title: "Claude Code (one command per endpoint: /mcp has every tool the key may use, /mcp/SERVER one server's)", Text: strings.Join(claude, "\n")},
		{ID: "cursor", Title: "Cursor — .cursor/mcp.json", Text: string(cursor)},
		{ID: "vscode", Title: "VS Code — .vscode/mcp.json", Text: string(code)},
		{ID: "inspector", Title: "MCP Inspector (lists the tools the key may call)", Text: inspector},
	}
}

// List shows the end users or agents matching ?q=, a page at a time; an htmx request gets the
// rows and status line alone.
func (h *Principals) List(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	q := strings.TrimSpace(c.Query("q"))
	match := matcher(q)
	page := pageParam(c)
	var all []principal
	switch h.kind.kind {
	case models.KindEndUser:
		for i := range v.Doc.EndUsers {
			all = append(all, userPrincipal(&v.Doc.EndUsers[i]))
		}
	case models.KindAgent:
		for i := range v.Doc.Agents {
			all = append(all, agentPrincipal(&v.Doc.Agents[i]))
		}
	}
	bound := map[string]int{}
	if h.kind.kind == models.KindAgent {
		for i := range v.Doc.Keys {
			if a := v.Doc.Keys[i].Agent; a != "" {
				bound[a]++
			}
		}
	}
	start, total := (page-1)*keysPerPage, 0
	var rows []views.PrincipalRow
	for _, p := range all {
		if !match(p.Name) {
			continue
		}
		if total >= start && len(rows) < keysPerPage {
			rows = append(rows, views.PrincipalRow{Name: p.Name, Settings: h.kind.settingsURL(p.Name), MCP: p.MCP,
				DenyTools: len(p.DenyTools), BoundKeys: bound[p.Name]})
		}
		total++
	}
	title := strings.ToUpper(h.kind.many[:1]) + h.kind.many[1:]
	props := views.PrincipalListProps{
		Layout: views.LayoutProps{Title: title, Nav: h.kind.nav, Revision: v.Revision, Flash: popFlash(c)},
		List: views.ListPage{Path: h.kind.path, Rows: "principal-rows", Status: "principal-status", One: h.kind.one, Many: h.kind.many,
			Params: []views.Param{{Name: "q", Value: q}}, Filter: quoted("matching", q),
			Page: page, PerPage: keysPerPage, Shown: len(rows), Total: total, HasNext: start+len(rows) < total},
		Kind: h.kind.one, New: h.kind.path + "/new", Rows: rows, Bound: h.kind.kind == models.KindAgent,
	}
	renderPage(c, http.StatusOK, views.PrincipalListPage(props), views.PrincipalListFragment(props))
}
