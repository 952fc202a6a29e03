package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models/demo"
	"github.com/warden-mcp/warden/models/live"
	"github.com/warden-mcp/warden/models/resolver"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
	"github.com/warden-mcp/warden/web"
)

type allAccess map[string]map[string]resolver.Access // kind ("organizations", ...) -> name -> access

func policyAccess(t *testing.T, db string) allAccess {
	t.Helper()
	code, out, errs := runCLI(t, "policy", "access", "--db", db)
	if code != 0 {
		t.Fatalf("policy access: exit %d: %s", code, errs)
	}
	var a allAccess
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("policy access output: %v\n%s", err, out)
	}
	return a
}

// The product's promise: what the console's preview predicts is what `warden policy access --db`
// reports after Save, principal by principal and tool by tool.
func TestPreviewPredictsSavedAccess(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := storetest.DSN(t, kind)
			if code, _, errs := runCLI(t, "import", "--db", db, "-f", writeFile(t, string(demo.YAML))); code != 0 {
				t.Fatalf("import demo: %s", errs)
			}
			before := policyAccess(t, db)

			ctx := context.Background()
			st, err := store.Open(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			state := live.New(st, live.Options{})
			if err := state.Load(ctx); err != nil {
				t.Fatal(err)
			}
			h := storetest.AsUser(web.New(web.Deps{Store: st, State: state, PublicURL: &url.URL{Scheme: "http", Host: "example.com"}}), storetest.Admin(t, st)) // httptest.NewRequest's host
			// acme drops the collaboration group and postgres, takes the release toolset, and
			// denies slack/post_message on top of delete_repo.
			form := url.Values{
				"mode": {"limit"}, "access_groups": {"engineering"}, "toolsets": {"read-only", "incident-response", "release"},
				"deny_tools": {"github/delete_repo", "slack/post_message"}, "loaded_revision": {"1"}, "preview_revision": {"1"},
			}
			post := func(path string, accept string) *httptest.ResponseRecorder {
				req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w
			}
			w := post("/orgs/acme/settings/preview", "application/json")
			if w.Code != http.StatusOK {
				t.Fatalf("preview: %d %s", w.Code, w.Body)
			}
			var pred struct {
				Revision   int64                    `json:"revision"`
				Principals []resolver.PrincipalDiff `json:"principals"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &pred); err != nil {
				t.Fatal(err)
			}
			if len(pred.Principals) < 5 {
				t.Fatalf("the scripted change should reach several principals, the preview lists %d", len(pred.Principals))
			}
			if w := post("/orgs/acme/settings", ""); w.Code != http.StatusSeeOther {
				t.Fatalf("save: %d %s", w.Code, w.Body)
			}
			after := policyAccess(t, db)

			// Apply the prediction to the access before, and it must be the access after.
			want := before
			plural := map[resolver.PrincipalKind]string{resolver.KindOrganization: "organizations", resolver.KindTeam: "teams", resolver.KindKey: "keys"}
			for _, p := range pred.Principals {
				acc := want[plural[p.Kind]][p.Name]
				next := resolver.Access{}
				for s, tools := range acc {
					for _, tool := range tools {
						if !slices.Contains(p.Lost[s], tool) {
							next[s] = append(next[s], tool)
						}
					}
				}
				for s, tools := range p.Gained {
					next[s] = append(next[s], tools...)
					slices.Sort(next[s])
				}
				want[plural[p.Kind]][p.Name] = next
			}
			if !reflect.DeepEqual(want, after) {
				for k := range after {
					for name := range after[k] {
						if !after[k][name].Equal(want[k][name]) {
							t.Errorf("%s %s: after save %v, preview predicted %v", k, name, after[k][name], want[k][name])
						}
					}
				}
				t.FailNow()
			}
		})
	}
}
