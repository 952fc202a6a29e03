package handlers

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/views"
)

// Access serves the access review: who can call a tool, and the access keys and teams hold
// without using it. Who holds what is the resolver's answer on the enforced view; when it was
// used is the decision log's.
type Access struct {
	Store *store.Store
	State PolicyState
}

// holdersPerPage bounds the keys shown of a tool's holders: 100,000 keys may hold one.
const holdersPerPage = 100

// holderJSON is one holder as JSON and CSV give it.
type holderJSON struct {
	resolver.ToolHolder
	PathText string  `json:"path_text"`
	LastCall *string `json:"last_call"`
	Calls    int64   `json:"calls"`
}

// Tools answers who can call ?server=S&tool=T: every organization, team and key with the
// path that grants it and its last call. Without a tool it shows the picker (and the chosen
// server's tools). ?q= filters the keys by key, team or organization name; ?page= pages them.
func (h *Access) Tools(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	if err := strictQuery(c, "server", "tool", "q", "page"); err != nil {
		fail(c, err)
		return
	}
	format := answerFormat(c)
	server, tool := c.Query("server"), c.Query("tool")
	p := views.WhoCanCallProps{Layout: reviewLayout(c, "Who can call", "access", v.Revision), Server: server, Tool: tool}
	for _, sc := range v.Snapshot.Servers() {
		p.Servers = append(p.Servers, sc.Name)
		if sc.Name == server {
			p.Tools = sc.Tools
		}
	}
	if server != "" && !slices.Contains(p.Servers, server) {
		fail(c, models.Errorf(models.EInvalid, "server: unknown MCP server %q", server))
		return
	}
	if tool == "" {
		if format != "html" {
			fail(c, models.Errorf(models.EInvalid, "tool: missing; name a server and one of its tools (?server=S&tool=T)"))
			return
		}
		render(c, http.StatusOK, views.WhoCanCallPage(p))
		return
	}
	if server == "" {
		fail(c, models.Errorf(models.EInvalid, "server: missing; name the server of tool %q", tool))
		return
	}
	holders, ok := v.Snapshot.WhoCanCall(server, tool)
	if !ok {
		why := "not in its catalogue"
		if sc, _ := v.Snapshot.Server(server); sc.IsDisabled(tool) {
			why = "disabled on the server: nobody may call it"
		}
		fail(c, models.Errorf(models.EInvalid, "tool: %q of server %q is %s", tool, server, why))
		return
	}
	last, err := h.Store.LastCalls(c.Request.Context(), server, tool, time.Time{})
	if err != nil {
		fail(c, err)
		return
	}
	// An organization's or team's last call is its keys' latest, by where the keys sit now.
	groupLast := map[resolver.PrincipalKind]map[string]store.LastCall{resolver.KindOrganization: {}, resolver.KindTeam: {}}
	for key, lc := range last {
		info, ok := v.Snapshot.KeyInfo(key)
		if !ok {
			continue
		}
		for kind, name := range map[resolver.PrincipalKind]string{resolver.KindOrganization: info.Organization, resolver.KindTeam: info.Team} {
			if name == "" {
				continue
			}
			g := groupLast[kind][name]
			g.Calls += lc.Calls
			if lc.Last.After(g.Last) {
				g.Last = lc.Last
			}
			groupLast[kind][name] = g
		}
	}
	lastOf := func(hd resolver.ToolHolder) store.LastCall {
		if hd.Kind == resolver.KindKey {
			return last[hd.Name]
		}
		return groupLast[hd.Kind][hd.Name]
	}

	switch format {
	case gin.MIMEJSON:
		conv := func(hs []resolver.ToolHolder) []holderJSON {
			out := make([]holderJSON, len(hs))
			for i, hd := range hs {
				lc := lastOf(hd)
				out[i] = holderJSON{ToolHolder: hd, PathText: pathText(hd), LastCall: jsonTime(lc.Last), Calls: lc.Calls}
			}
			return out
		}
		c.JSON(http.StatusOK, gin.H{"server": server, "tool": tool, "revision": v.Revision,
			"organizations": conv(holders.Organizations), "teams": conv(holders.Teams), "keys": conv(holders.Keys)})
		return
	case mimeCSV:
		var rows [][]string
		for _, hs := range [][]resolver.ToolHolder{holders.Organizations, holders.Teams, holders.Keys} {
			for _, hd := range hs {
				lc := lastOf(hd)
				rows = append(rows, []string{server, tool, string(hd.Kind), hd.Name, hd.Organization, hd.Team,
					pathText(hd), csvTime(lc.Last), strconv.FormatInt(lc.Calls, 10)})
			}
		}
		writeCSV(c, "who-can-call-"+server+"-"+tool+".csv",
			[]string{"server", "tool", "kind", "name", "organization", "team", "path", "last_call", "calls"}, rows)
		return
	}

	row := func(hd resolver.ToolHolder) views.HolderRow {
		lc := lastOf(hd)
		r := views.HolderRow{Name: hd.Name, Organization: hd.Organization, Team: hd.Team, Public: hd.Public,
			LastCall: lc.Last, Calls: lc.Calls}
		for _, st := range hd.Path {
			r.Path = append(r.Path, views.PathStep{Level: string(st.Level), Name: st.Name, From: strings.TrimPrefix(pathStepText(st), string(st.Level)+" "+st.Name+": ")})
		}
		if hd.Kind == resolver.KindKey {
			r.CallsURL = decisionsURL(hd.Name, server, tool)
		}
		return r
	}
	for _, hd := range holders.Organizations {
		p.Organizations = append(p.Organizations, row(hd))
	}
	for _, hd := range holders.Teams {
		p.Teams = append(p.Teams, row(hd))
	}
	q := strings.TrimSpace(c.Query("q"))
	match, page := matcher(q), pageParam(c)
	start, total := (page-1)*holdersPerPage, 0
	for _, hd := range holders.Keys {
		if !match(hd.Name, hd.Team, hd.Organization) {
			continue
		}
		if total >= start && len(p.Keys) < holdersPerPage {
			p.Keys = append(p.Keys, row(hd))
		}
		total++
	}
	p.Chosen, p.KeyTotal = true, len(holders.Keys)
	p.List = views.ListPage{
		Path: "/access/tools", Rows: "holder-rows", Status: "holder-status", One: "key", Many: "keys",
		Params: []views.Param{{Name: "server", Value: server}, {Name: "tool", Value: tool}, {Name: "q", Value: q}},
		Filter: quoted("matching", q),
		Page:   page, PerPage: holdersPerPage, Shown: len(p.Keys), Total: total, HasNext: start+len(p.Keys) < total,
	}
	renderPage(c, http.StatusOK, views.WhoCanCallPage(p), views.HolderKeysFragment(p))
}

// unusedPerPage bounds the rows of the unused access list.
const unusedPerPage = 100

// unusedChips bounds the unused tools a row shows; the rest are counted.
const unusedChips = 12

// Unused answers ?days=N (1–366, default 30): the keys (?show=teams: the teams) holding tools
// they did not call in the last N days, most unused first, each with a link that drafts its
// settings without them. JSON and CSV give keys and teams together.
func (h *Access) Unused(c *gin.Context) {
	v, err := h.State.View()
	if err != nil {
		fail(c, err)
		return
	}
	if err := strictQuery(c, "days", "show", "page"); err != nil {
		fail(c, err)
		return
	}
	days := 30
	if s := c.Query("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 366 {
			fail(c, models.Errorf(models.EInvalid, "days: %q is not a whole number of days from 1 to 366", s))
			return
		}
		days = n
	}
	show := c.DefaultQuery("show", "keys")
	if show != "keys" && show != "teams" {
		fail(c, models.Errorf(models.EInvalid, "show: %q is neither keys nor teams", show))
		return
	}
	now := time.Now()
	since := now.Add(-time.Duration(days) * 24 * time.Hour)
	called, err := h.Store.CalledTools(c.Request.Context(), since)
	if err != nil {
		fail(c, err)
		return
	}
	used := resolver.Usage{}
	for _, lc := range called {
		a := used[lc.Key]
		if a == nil {
			a = resolver.Access{}
			used[lc.Key] = a
		}
		a[lc.Server] = append(a[lc.Server], lc.Tool)
	}
	keys, teams := v.Snapshot.UnusedAccess(used)

	switch answerFormat(c) {
	case gin.MIMEJSON:
		c.JSON(http.StatusOK, gin.H{"days": days, "since": since.UTC().Format(time.RFC3339), "revision": v.Revision,
			"keys": nonNil(keys), "teams": nonNil(teams)})
		return
	case mimeCSV:
		var rows [][]string
		for _, g := range slices.Concat(keys, teams) {
			rows = append(rows, []string{string(g.Kind), g.Name, g.Organization, g.Team, strconv.Itoa(g.Holds),
				strconv.Itoa(g.Count), strings.Join(toolPaths(g.Unused()), " ")})
		}
		writeCSV(c, "unused-access-"+strconv.Itoa(days)+"d.csv",
			[]string{"kind", "name", "organization", "team", "holds", "unused", "unused_tools"}, rows)
		return
	}
	list := keys
	if show == "teams" {
		list = teams
	}
	page := pageParam(c)
	start := min((page-1)*unusedPerPage, len(list))
	shown := list[start:min(start+unusedPerPage, len(list))]
	p := views.UnusedProps{
		Layout: reviewLayout(c, "Unused access", "access", v.Revision),
		Days:   days, Show: show, Keys: len(keys), Teams: len(teams),
		List: views.ListPage{
			Path: "/access/unused", Rows: "unused-rows", Status: "unused-status", One: show[:len(show)-1], Many: show,
			Params: []views.Param{{Name: "days", Value: c.Query("days")}, {Name: "show", Value: c.Query("show")}},
			Filter: "holding tools unused for " + strconv.Itoa(days) + " days",
			Page:   page, PerPage: unusedPerPage, Shown: len(shown), Total: len(list), HasNext: start+len(shown) < len(list),
		},
	}
	for _, g := range shown {
		tools := toolPaths(g.Unused())
		r := views.UnusedRow{Kind: string(g.Kind), Name: g.Name, Organization: g.Organization, Team: g.Team,
			Holds: g.Holds, Count: g.Count, Tools: tools[:min(len(tools), unusedChips)], More: max(len(tools)-unusedChips, 0),
			DraftURL: draftURL(g.Kind, g.Name, tools)}
		if g.Kind == resolver.KindKey {
			r.CallsURL = decisionsURL(g.Name, "", "")
		}
		p.Rows = append(p.Rows, r)
	}
	renderPage(c, http.StatusOK, views.UnusedPage(p), views.UnusedFragment(p))
}

// draftURL opens a key's or team's settings with the unused tools removed from the draft
// (remove=SERVER/TOOL, one each); the settings page previews it and saves only on Save.
func draftURL(kind resolver.PrincipalKind, name string, tools []string) string {
	base := "/keys/"
	if kind == resolver.KindTeam {
		base = "/teams/"
	}
	var b strings.Builder
	b.WriteString(base + url.PathEscape(name) + "/settings")
	for i, t := range tools {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString("remove=" + url.QueryEscape(t))
	}
	return b.String()
}

// toolPaths lists an access as "server/tool" strings, by server then tool.
func toolPaths(a resolver.Access) []string {
	var out []string
	for _, s := range a.Servers() {
		for _, t := range a[s] {
			out = append(out, s+"/"+t)
		}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
