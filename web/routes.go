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

// routes is the one place that lists every URL Warden serves, each with who may use it (see
// access; TestRouteRoles holds every route to its rule).
func routes(r *gin.Engine, d Deps) map[string]access {
	health := &handlers.Health{Store: d.Store, State: d.State}
	var console handlers.PolicyState = d.State
	if d.console != nil {
		console = d.console
	}
	auth := d.auth()
	rt := &router{e: r, auth: auth, rules: map[string]access{}}
	orgs := &handlers.Orgs{Store: d.Store, State: console}

	// Gin's StaticFS registers GET and HEAD, and answers a missing file with the console's 404.
	r.StaticFS("/static", filesOnly{http.FS(static.FS)})
	rt.rules["GET /static/*filepath"], rt.rules["HEAD /static/*filepath"] = public, public
	// Pages link their icon; this answers what browsers ask for unprompted (a JSON answer open
	// in a tab, say).
	rt.get("/favicon.ico", public, func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/static/favicon.svg") })
	rt.get("/healthz", public, health.Show)
	if d.Metrics != nil {
		rt.get("/metrics", public, gin.WrapH(promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{})))
	}

	// Sign-in, one's own account, and the admins' users page.
	account, users := &handlers.Account{Store: d.Store, Auth: auth}, &handlers.Users{Store: d.Store}
	rt.get("/login", guest, auth.LoginPage)
	rt.post("/login", guest, auth.Login)
	rt.post("/logout", signedIn, auth.Logout)
	// Single sign-on (OpenID Connect), when configured: the redirect to the provider and its
	// answer. Guests, since nobody is signed in yet; the callback checks its own state.
	if auth.SSO != nil {
		rt.get(handlers.OIDCLoginPath, guest, auth.OIDCLogin)
		rt.get(handlers.OIDCCallbackPath, guest, auth.OIDCCallback)
	}
	rt.get("/account", signedIn, account.Show)
	rt.post("/account/password", signedIn, account.ChangePassword)
	rt.post("/account/tokens", signedIn, account.CreateToken)
	rt.post("/account/tokens/:id/revoke", signedIn, account.RevokeToken)
	rt.get("/users", admin, users.List)
	rt.post("/users", admin, users.Create)
	rt.post("/users/:name/delete", admin, users.Delete)

	// The console opens on the organizations, where MCP access is decided.
	rt.get("/", signedIn, func(c *gin.Context) { c.Redirect(http.StatusFound, "/orgs") })

	rt.get("/orgs", signedIn, orgs.List)
	rt.get("/orgs/:org/settings", signedIn, orgs.Settings)
	rt.post("/orgs/:org/settings/preview", signedIn, orgs.Preview)
	rt.post("/orgs/:org/settings", writer, orgs.Save)
	rt.post("/orgs/:org/settings/rebase", writer, orgs.Rebase)
	rt.post("/orgs/:org/settings/why", signedIn, orgs.Why)
	rt.get("/orgs/:org/settings/tool-limit/:server", signedIn, orgs.ToolLimit)

	// Read-only pages of the enforced policy, and the audit log.
	publicURL := strings.TrimSuffix(newHostPolicy(d).public.String(), "/")
	keyPages, serverPages := &handlers.Keys{State: console, Store: d.Store, PublicURL: publicURL}, &handlers.Servers{State: console}
	rt.get("/teams", signedIn, (&handlers.Teams{State: console}).List)
	rt.get("/keys", signedIn, keyPages.List)
	rt.get("/keys/:key", signedIn, keyPages.Show)
	rt.get("/servers", signedIn, serverPages.List)
	rt.get("/servers/:server", signedIn, serverPages.Show)
	rt.get("/toolsets", signedIn, (&handlers.Toolsets{State: console}).List)
	rt.get("/access-groups", signedIn, (&handlers.Groups{State: console}).List)
	rt.get("/audit", signedIn, (&handlers.Audit{Store: d.Store, State: console}).List) // filters: kind, name, actor, from, to

	// Editing the catalogue (MCP servers with Sync tools, access groups, toolsets), each through
	// a previewed, revision-checked save as an organization's settings; the audit log's event
	// pages and Revert (a draft, saved by the page it opens); importing and exporting the whole
	// policy document. Writes are admin-only; Sync tools too, as it uses the upstream credentials.
	serverEdit := handlers.NewServerSettings(d.Store, console)
	rt.get("/servers/new", signedIn, serverEdit.New)
	rt.post("/servers", admin, serverEdit.Create)
	rt.get("/servers/:server/settings", signedIn, serverEdit.Settings)
	rt.post("/servers/:server/settings/preview", signedIn, serverEdit.Preview)
	rt.post("/servers/:server/settings", admin, serverEdit.Save)
	rt.post("/servers/:server/settings/why", signedIn, serverEdit.Why)
	rt.post("/servers/:server/delete", admin, serverEdit.Delete)
	rt.post("/servers/:server/headers", admin, serverEdit.SetHeaders)
	rt.post("/servers/:server/sync", admin, serverEdit.Sync)
	rt.post("/servers/:server/sync/apply", admin, serverEdit.SyncApply)
	groupEdit, toolsetEdit := handlers.NewGroupSettings(d.Store, console), handlers.NewToolsetSettings(d.Store, console)
	for path, edit := range map[string]*handlers.Catalogue{"/access-groups": groupEdit, "/toolsets": toolsetEdit} {
		rt.get(path+"/new", signedIn, edit.New)
		rt.post(path, admin, edit.Create)
		rt.get(path+"/:name/settings", signedIn, edit.Settings)
		rt.post(path+"/:name/settings/preview", signedIn, edit.Preview)
		rt.post(path+"/:name/settings", admin, edit.Save)
		rt.post(path+"/:name/settings/why", signedIn, edit.Why)
		rt.post(path+"/:name/delete", admin, edit.Delete)
	}
	policy := &handlers.Policy{Store: d.Store, State: console}
	rt.get("/import", signedIn, policy.ImportPage)
	rt.post("/import", signedIn, policy.ImportPreview)
	rt.post("/import/apply", admin, policy.ImportApply)
	rt.get("/export", signedIn, policy.Export)

	// Guards: invariants every draft must keep. Reading and previewing is for everyone signed
	// in; creating, editing and deleting is for admins (the handlers call allowAdmin too).
	guards := &handlers.Guards{Store: d.Store, State: console}
	rt.get("/guards", signedIn, guards.List)
	rt.get("/guards/new", signedIn, guards.New)
	rt.post("/guards/new", admin, guards.Create)
	rt.post("/guards/preview", signedIn, guards.Preview)
	rt.get("/guards/:guard", signedIn, guards.Edit)
	rt.post("/guards/:guard", admin, guards.Update)
	rt.post("/guards/:guard/delete", admin, guards.Delete)
	// Principals below the organization — teams, keys, end users, agents: created, edited and
	// deleted through the organization page's preview and save protocol. The lists of teams and
	// keys are the read-only pages' above. Teams and keys are written by an organization's
	// org_admins (the handlers narrow to the organizations involved); end users, which belong
	// to no organization, and agents, which can reach any, by admins.
	kinds := []struct {
		path  string
		h     *handlers.Principals
		write access
	}{
		{"/teams", handlers.NewTeams(d.Store, console), writer},
		{"/keys", handlers.NewKeys(d.Store, console), writer},
		{"/end-users", handlers.NewEndUsers(d.Store, console), admin},
		{"/agents", handlers.NewAgents(d.Store, console), admin},
	}
	audit := handlers.NewAudit(d.Store, console, orgs, serverEdit, groupEdit, toolsetEdit)
	for _, k := range kinds {
		audit.WithPrincipals(k.h)
	}
	rt.get("/audit/:id", signedIn, audit.Show)
	rt.get("/audit/:id/revert", signedIn, audit.Revert)
	for _, k := range kinds {
		k.h.PublicURL = publicURL
		one := k.path + "/:" + k.h.Param()
		switch k.path {
		case "/end-users", "/agents":
			rt.get(k.path, signedIn, k.h.List)
		}
		rt.get(k.path+"/new", signedIn, k.h.New)
		rt.post(k.path, k.write, k.h.Create)
		rt.post(k.path+"/new/preview", signedIn, k.h.PreviewNew)
		rt.post(k.path+"/new/why", signedIn, k.h.WhyNew)
		rt.get(k.path+"/new/tool-limit/:server", signedIn, k.h.ToolLimit)
		rt.get(one+"/settings", signedIn, k.h.Settings)
		rt.post(one+"/settings/preview", signedIn, k.h.Preview)
		rt.post(one+"/settings", k.write, k.h.Save)
		rt.post(one+"/settings/rebase", k.write, k.h.Rebase)
		rt.post(one+"/settings/why", signedIn, k.h.Why)
		rt.get(one+"/settings/tool-limit/:server", signedIn, k.h.ToolLimit)
		rt.get(one+"/delete", signedIn, k.h.DeletePage)
		rt.post(one+"/delete", k.write, k.h.Delete)
	}
	rt.post("/keys/:key/secret", writer, kinds[1].h.Rotate)
	rt.post("/keys/:key/revoke", writer, kinds[1].h.Revoke)

	// Policy as code against a running Warden (the CLI's --server mode), for personal API tokens.
	policyAPI := &handlers.PolicyAPI{Store: d.Store}
	rt.get("/api/v1/policy", signedIn, policyAPI.Export)
	rt.post("/api/v1/policy", admin, policyAPI.Import)
	rt.post("/api/v1/policy/replay", signedIn, policyAPI.Replay)
	// Access review (read-only): who can call a tool, access held but unused, the decision log.
	// The .csv paths download what Accept: text/csv gets.
	access := &handlers.Access{Store: d.Store, State: console}
	rt.get("/access/tools", signedIn, access.Tools)
	rt.get("/access/tools.csv", signedIn, access.Tools)
	rt.get("/access/unused", signedIn, access.Unused)
	rt.get("/access/unused.csv", signedIn, access.Unused)
	decisions := &handlers.Decisions{Store: d.Store, State: console}
	rt.get("/decisions", signedIn, decisions.List)
	rt.get("/decisions.csv", signedIn, decisions.List)

	// MCP gateway and decision API (enforcement), served once there is a live policy state.
	// They authenticate every request by its key secret, never by a console session.
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
		rt.any("/mcp", public, gw.Aggregate)
		rt.any("/mcp/:server", public, gw.Server)
		rt.post("/api/v1/check", public, api.Check)
		rt.get("/api/v1/access", public, api.Access)
	}
	return rt.rules
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
