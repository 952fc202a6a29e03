package web

import (
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/handlers/mcpgw"
	"github.com/warden-mcp/warden/static"
)

// routes is the one place that lists every URL Warden serves.
func routes(r *gin.Engine, d Deps) {
	health := &handlers.Health{Store: d.Store, State: d.State}
	var console handlers.PolicyState = d.State
	if d.console != nil {
		console = d.console
	}
	orgs := &handlers.Orgs{Store: d.Store, State: console}

	r.StaticFS("/static", filesOnly{http.FS(static.FS)})
	// Pages link their icon; this answers what browsers ask for unprompted (a JSON answer open
	// in a tab, say).
	r.GET("/favicon.ico", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/static/favicon.svg") })
	r.GET("/healthz", health.Show)
	if d.Metrics != nil {
		r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{})))
	}
	// The console opens on the organizations, where MCP access is decided.
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/orgs") })

	r.GET("/orgs", orgs.List)
	r.GET("/orgs/:org/settings", orgs.Settings)
	r.POST("/orgs/:org/settings/preview", orgs.Preview)
	r.POST("/orgs/:org/settings", orgs.Save)
	r.POST("/orgs/:org/settings/rebase", orgs.Rebase)
	r.POST("/orgs/:org/settings/why", orgs.Why)
	r.GET("/orgs/:org/settings/tool-limit/:server", orgs.ToolLimit)

	// Read-only pages of the enforced policy, and the audit log.
	keyPages, serverPages := &handlers.Keys{State: console}, &handlers.Servers{State: console}
	r.GET("/teams", (&handlers.Teams{State: console}).List)
	r.GET("/keys", keyPages.List)
	r.GET("/keys/:key", keyPages.Show)
	r.GET("/servers", serverPages.List)
	r.GET("/servers/:server", serverPages.Show)
	r.GET("/toolsets", (&handlers.Toolsets{State: console}).List)
	r.GET("/access-groups", (&handlers.Groups{State: console}).List)
	r.GET("/audit", (&handlers.Audit{Store: d.Store, State: console}).List) // filters: kind, name, actor, from, to

	// Editing the catalogue (MCP servers with Sync tools, access groups, toolsets), each through
	// a previewed, revision-checked save as an organization's settings; the audit log's event
	// pages and Revert; importing and exporting the whole policy document. Writes are admin-only.
	serverEdit := handlers.NewServerSettings(d.Store, console)
	r.GET("/servers/new", serverEdit.New)
	r.POST("/servers", serverEdit.Create)
	r.GET("/servers/:server/settings", serverEdit.Settings)
	r.POST("/servers/:server/settings/preview", serverEdit.Preview)
	r.POST("/servers/:server/settings", serverEdit.Save)
	r.POST("/servers/:server/settings/why", serverEdit.Why)
	r.POST("/servers/:server/delete", serverEdit.Delete)
	r.POST("/servers/:server/headers", serverEdit.SetHeaders)
	r.POST("/servers/:server/sync", serverEdit.Sync)
	r.POST("/servers/:server/sync/apply", serverEdit.SyncApply)
	groupEdit, toolsetEdit := handlers.NewGroupSettings(d.Store, console), handlers.NewToolsetSettings(d.Store, console)
	for path, edit := range map[string]*handlers.Catalogue{"/access-groups": groupEdit, "/toolsets": toolsetEdit} {
		r.GET(path+"/new", edit.New)
		r.POST(path, edit.Create)
		r.GET(path+"/:name/settings", edit.Settings)
		r.POST(path+"/:name/settings/preview", edit.Preview)
		r.POST(path+"/:name/settings", edit.Save)
		r.POST(path+"/:name/settings/why", edit.Why)
		r.POST(path+"/:name/delete", edit.Delete)
	}
	audit := handlers.NewAudit(d.Store, console, orgs, serverEdit, groupEdit, toolsetEdit)
	r.GET("/audit/:id", audit.Show)
	r.GET("/audit/:id/revert", audit.Revert)
	policy := &handlers.Policy{Store: d.Store, State: console}
	r.GET("/import", policy.ImportPage)
	r.POST("/import", policy.ImportPreview)
	r.POST("/import/apply", policy.ImportApply)
	r.GET("/export", policy.Export)

	// MCP gateway and decision API (enforcement), served once there is a live policy state.
	if d.State != nil {
		gw := mcpgw.New(mcpgw.Config{Views: d.State, Recorder: d.Decisions, Metrics: d.Metrics,
			MaxBodyBytes: d.Limits.maxBody(), MaxSessionsPerKey: d.Limits.MaxSessionsPerKey,
			MaxBodyInflightPerKey: d.Limits.MaxBodyInflightPerKey, MaxBodyInflight: d.Limits.MaxBodyInflight,
			SessionTimeout: d.Limits.SessionTimeout, StreamWriteTimeout: d.Limits.StreamWriteTimeout})
		// A check request is read before anything authenticates it (its key is in the body): it
		// is bounded by its own 64 KiB (as documented; --max-body only lowers it) and reserved in
		// the gateway's body budget, so unauthenticated callers hold at most one key's share.
		api := &handlers.API{Enforcer: gw.Enforcer(), Observer: gw.Observer(),
			MaxBodyBytes: min(d.Limits.maxBody(), handlers.DefaultMaxCheckBody), Bodies: gw.BodyBudget()}
		r.Any("/mcp", gw.Aggregate)
		r.Any("/mcp/:server", gw.Server)
		r.POST("/api/v1/check", api.Check)
		r.GET("/api/v1/access", api.Access)
	}
}

// filesOnly serves the files of a file system and none of its directories: a directory is not
// there (fs.ErrNotExist), so /static/ answers the console's 404 page instead of a listing of
// what the binary embeds.
type filesOnly struct{ http.FileSystem }

func (f filesOnly) Open(name string) (http.File, error) {
	file, err := f.FileSystem.Open(name)
	if err != nil {
		return nil, err
	}
	if info, err := file.Stat(); err != nil || info.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
