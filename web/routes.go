package web

import (
	"io/fs"
	"net/http"
	"strings"

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
	public := strings.TrimSuffix(newHostPolicy(d).public.String(), "/")
	keyPages, serverPages := &handlers.Keys{State: console, Store: d.Store, PublicURL: public}, &handlers.Servers{State: console}
	r.GET("/teams", (&handlers.Teams{State: console}).List)
	r.GET("/keys", keyPages.List)
	r.GET("/keys/:name", keyPages.Show)
	r.GET("/servers", serverPages.List)
	r.GET("/servers/:server", serverPages.Show)
	r.GET("/toolsets", (&handlers.Toolsets{State: console}).List)
	r.GET("/access-groups", (&handlers.Groups{State: console}).List)
	r.GET("/audit", (&handlers.Audit{Store: d.Store, State: console}).List)

	// Principals below the organization — teams, keys, end users, agents: created, edited and
	// deleted through the organization page's preview and save protocol. The lists of teams and
	// keys are the read-only pages' above.
	kinds := []struct {
		path string
		h    *handlers.Principals
	}{
		{"/teams", handlers.NewTeams(d.Store, console)},
		{"/keys", handlers.NewKeys(d.Store, console)},
		{"/end-users", handlers.NewEndUsers(d.Store, console)},
		{"/agents", handlers.NewAgents(d.Store, console)},
	}
	for _, k := range kinds {
		k.h.PublicURL = public
		switch k.path {
		case "/end-users", "/agents":
			r.GET(k.path, k.h.List)
		}
		r.GET(k.path+"/new", k.h.New)
		r.POST(k.path, k.h.Create)
		r.POST(k.path+"/new/preview", k.h.PreviewNew)
		r.POST(k.path+"/new/why", k.h.WhyNew)
		r.GET(k.path+"/new/tool-limit/:server", k.h.ToolLimit)
		r.GET(k.path+"/:name/settings", k.h.Settings)
		r.POST(k.path+"/:name/settings/preview", k.h.Preview)
		r.POST(k.path+"/:name/settings", k.h.Save)
		r.POST(k.path+"/:name/settings/rebase", k.h.Rebase)
		r.POST(k.path+"/:name/settings/why", k.h.Why)
		r.GET(k.path+"/:name/settings/tool-limit/:server", k.h.ToolLimit)
		r.GET(k.path+"/:name/delete", k.h.DeletePage)
		r.POST(k.path+"/:name/delete", k.h.Delete)
	}
	r.POST("/keys/:name/secret", kinds[1].h.Rotate)
	r.POST("/keys/:name/revoke", kinds[1].h.Revoke)

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
