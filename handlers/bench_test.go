package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver/gen"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

// formFor is the settings form a person would post for org.
func formFor(o models.OrganizationDoc, rev int64) url.Values {
	f := url.Values{"loaded_revision": {itoa64(rev)}, "preview_revision": {itoa64(rev)}, "deny_tools": o.DenyTools}
	if o.Blocked {
		f.Set("blocked", "1")
	}
	if o.MCP != nil {
		f.Set("mode", "limit")
		f["servers"] = o.MCP.Servers
		f["access_groups"] = o.MCP.AccessGroups
		f["toolsets"] = o.MCP.Toolsets
		for s, tools := range o.MCP.Tools {
			f.Add("limit_server", s)
			for _, t := range tools {
				f.Add("tool", s+"/"+t)
			}
		}
	} else {
		f.Set("mode", "none")
	}
	return f
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// BenchmarkOrgSettings measures the settings page and the preview through the real router on
// Postgres, with 500 teams and 20,000 keys in one organization (of 25,000 keys in all). It
// reports p50 and p95 server time per request as custom metrics.
//
//	WARDEN_TEST_DATABASE_URL=... go test -run '^$' -bench BenchmarkOrgSettings -benchtime 200x ./handlers
func BenchmarkOrgSettings(b *testing.B) {
	cfg := gen.Large()
	cfg.Organizations, cfg.Teams, cfg.Keys, cfg.BigOrgKeys = 5, 625, 25000, 20000
	cfg.Agents, cfg.EndUsers = 50, 100
	doc := gen.Generate(cfg)
	big := doc.Organization(gen.OrgName(0))
	st := storetest.Open(b, store.KindPostgres)
	ctx := context.Background()
	start := time.Now()
	if _, err := st.ApplyDocument(ctx, doc, "bench"); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d teams, %d keys into Postgres in %s", len(doc.Teams), len(doc.Keys), time.Since(start).Round(time.Millisecond))
	state := live.New(st, live.Options{})
	if err := state.Load(ctx); err != nil {
		b.Fatal(err)
	}
	v, _ := state.View()
	teams, keys := len(v.Snapshot.OrganizationTeams(big.Name)), len(v.Snapshot.OrganizationKeys(big.Name))
	b.Logf("%s has %d teams and %d keys", big.Name, teams, keys)
	h := storetest.AsUser(web.New(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, Store: st, State: state}), storetest.Admin(b, st))

	// The draft: limit the organization to its first access group and toolset only, and deny one
	// more tool; a change that reaches most of its teams and keys.
	draft := *big
	draft.MCP = &models.MCPPermission{AccessGroups: []string{doc.AccessGroups[0].Name}, Toolsets: []string{doc.Toolsets[0].Name}}
	draft.DenyTools = append(append([]string{}, big.DenyTools...), doc.Toolsets[0].Tools[0])
	form := formFor(draft, v.Revision).Encode()

	measure := func(b *testing.B, req func() *httptest.ResponseRecorder) { measureRequests(b, 200, req) }
	b.Run("settings-page", func(b *testing.B) {
		measure(b, func() *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/orgs/"+big.Name+"/settings", nil))
			return w
		})
	})
	b.Run("save", func(b *testing.B) {
		// Alternate between the draft and the stored settings, each save at the current revision.
		forms := []models.OrganizationDoc{draft, *big}
		i := 0
		measure(b, func() *httptest.ResponseRecorder {
			v, _ := state.View()
			req := httptest.NewRequest("POST", "/orgs/"+big.Name+"/settings", strings.NewReader(formFor(forms[i%2], v.Revision).Encode()))
			i++
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code == 303 {
				w.Code = 200 // measure treats anything else as a failure
			}
			return w
		})
	})
	b.Run("preview", func(b *testing.B) {
		measure(b, func() *httptest.ResponseRecorder {
			req := httptest.NewRequest("POST", "/orgs/"+big.Name+"/settings/preview", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("HX-Request", "true")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w
		})
	})
}

// BenchmarkPrincipals measures the keys list and a team's settings, preview and save through
// the real router on Postgres with gen.Large (100,000 keys, 2,000 teams), beside the
// organization preview on the same state, reporting p50 and p95 server time per request.
//
//	WARDEN_TEST_DATABASE_URL=... go test -run '^$' -bench BenchmarkPrincipals -benchtime 50x ./handlers
func BenchmarkPrincipals(b *testing.B) {
	doc := gen.Generate(gen.Large())
	st := storetest.Open(b, store.KindPostgres)
	ctx := context.Background()
	start := time.Now()
	if _, err := st.ApplyDocument(ctx, doc, "bench"); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d teams, %d keys into Postgres in %s", len(doc.Teams), len(doc.Keys), time.Since(start).Round(time.Millisecond))
	state := live.New(st, live.Options{})
	if err := state.Load(ctx); err != nil {
		b.Fatal(err)
	}
	v, _ := state.View()
	// The team with the most keys, in the big organization.
	team, most := "", 0
	for _, t := range v.Snapshot.OrganizationTeams(gen.OrgName(0)) {
		if n := len(v.Snapshot.TeamKeys(t)); n > most {
			team, most = t, n
		}
	}
	b.Logf("team %s has %d keys", team, most)
	h := storetest.AsUser(web.New(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, Store: st, State: state}), storetest.Admin(b, st))
	// The draft moves the team to another organization and denies it one more tool.
	teamForm := func(org string, rev int64) string {
		f := url.Values{"loaded_revision": {itoa64(rev)}, "preview_revision": {itoa64(rev)}, "mode": {"none"},
			"organization": {org}, "deny_tools": {doc.Toolsets[0].Tools[0]}}
		return f.Encode()
	}
	big := doc.Organization(gen.OrgName(0))
	orgDraft := *big
	orgDraft.MCP = &models.MCPPermission{AccessGroups: []string{doc.AccessGroups[0].Name}}

	measure := measureRequests
	get := func(path string) func() *httptest.ResponseRecorder {
		return func() *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
			return w
		}
	}
	post := func(path string, body func() string) func() *httptest.ResponseRecorder {
		return func() *httptest.ResponseRecorder {
			req := httptest.NewRequest("POST", path, strings.NewReader(body()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("HX-Request", "true")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w
		}
	}
	b.Run("keys-list", func(b *testing.B) { measure(b, 200, get("/keys")) })
	b.Run("keys-list-filtered-page-3", func(b *testing.B) { measure(b, 200, get("/keys?q=key-0&page=3")) })
	b.Run("team-settings-page", func(b *testing.B) { measure(b, 200, get("/teams/"+team+"/settings")) })
	b.Run("team-preview-move", func(b *testing.B) {
		measure(b, 200, post("/teams/"+team+"/settings/preview", func() string { return teamForm(gen.OrgName(1), v.Revision) }))
	})
	b.Run("team-save-move", func(b *testing.B) {
		orgs := []string{gen.OrgName(1), gen.OrgName(0)}
		i := 0
		measure(b, 204, post("/teams/"+team+"/settings", func() string {
			cur, _ := state.View()
			i++
			return teamForm(orgs[i%2], cur.Revision)
		}))
	})
	b.Run("org-preview", func(b *testing.B) {
		measure(b, 200, post("/orgs/"+big.Name+"/settings/preview", func() string {
			cur, _ := state.View()
			return formFor(orgDraft, cur.Revision).Encode()
		}))
	})
}

// measureRequests runs req b.N times, failing on a status other than ok, and reports the p50
// and p95 server time and the size of the last response as custom metrics.
func measureRequests(b *testing.B, ok int, req func() *httptest.ResponseRecorder) {
	durations := make([]time.Duration, 0, b.N)
	size := 0
	for b.Loop() {
		t0 := time.Now()
		w := req()
		durations = append(durations, time.Since(t0))
		if w.Code != ok {
			b.Fatalf("status %d: %.300s", w.Code, w.Body)
		}
		size = w.Body.Len()
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	q := func(p float64) float64 {
		return float64(durations[int(p*float64(len(durations)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
	b.ReportMetric(float64(size)/1024, "KiB/response")
}

// largeConsole is the console over a generated policy on Postgres: 5 organizations, 625 teams
// and 25,000 keys, 20,000 of them in the first organization.
func largeConsole(b *testing.B) (*models.Document, *live.State, http.Handler) {
	cfg := gen.Large()
	cfg.Organizations, cfg.Teams, cfg.Keys, cfg.BigOrgKeys = 5, 625, 25000, 20000
	cfg.Agents, cfg.EndUsers = 50, 100
	doc := gen.Generate(cfg)
	st := storetest.Open(b, store.KindPostgres)
	ctx := context.Background()
	start := time.Now()
	if _, err := st.ApplyDocument(ctx, doc, "bench"); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d teams, %d keys into Postgres in %s", len(doc.Teams), len(doc.Keys), time.Since(start).Round(time.Millisecond))
	state := live.New(st, live.Options{})
	if err := state.Load(ctx); err != nil {
		b.Fatal(err)
	}
	return doc, state, storetest.AsUser(web.New(web.Deps{PublicURL: &url.URL{Scheme: "http", Host: "example.com"}, Store: st, State: state}), storetest.Admin(b, st))
}

// BenchmarkAccessGroupSettings measures an access group's preview and save through the router
// on Postgres (largeConsole): dropping the group's first server, a change that reaches keys in
// every organization that uses the group.
//
//	WARDEN_TEST_DATABASE_URL=... go test -run '^$' -bench BenchmarkAccessGroupSettings -benchtime 50x ./handlers
func BenchmarkAccessGroupSettings(b *testing.B) {
	doc, state, h := largeConsole(b)
	g := doc.AccessGroups[0]
	form := func(servers []string) string {
		v, _ := state.View()
		return url.Values{"servers": servers, "loaded_revision": {itoa64(v.Revision)}, "preview_revision": {itoa64(v.Revision)}}.Encode()
	}
	post := func(path, body string, hx bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if hx {
			req.Header.Set("HX-Request", "true")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	base := "/access-groups/" + g.Name + "/settings"
	b.Run("preview", func(b *testing.B) {
		body := form(g.Servers[1:])
		measureRequests(b, 200, func() *httptest.ResponseRecorder { return post(base+"/preview", body, true) })
	})
	b.Run("save", func(b *testing.B) {
		drafts := [][]string{g.Servers[1:], g.Servers}
		i := 0
		measureRequests(b, 200, func() *httptest.ResponseRecorder {
			w := post(base, form(drafts[i%2]), false)
			i++
			if w.Code == 303 {
				w.Code = 200
			}
			return w
		})
	})
}
