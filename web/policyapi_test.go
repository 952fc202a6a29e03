package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/handlers"
	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
)

// apiToken creates a user with the role and a personal API token of theirs, and returns it.
func apiToken(t *testing.T, st *store.Store, username string, role models.Role, orgs ...string) string {
	t.Helper()
	ctx := context.Background()
	u, err := st.CreateUser(ctx, store.NewUser{Username: username, Role: role, Orgs: orgs}, "test")
	if err != nil {
		t.Fatal(err)
	}
	tok := handlers.TokenPrefix + strings.Repeat(username[:1], 43)
	if err := st.CreateAPIToken(ctx, &models.APIToken{UserID: u.ID, Name: "ci", TokenHash: models.HashSecret(tok), Prefix: tok[:10]}, username); err != nil {
		t.Fatal(err)
	}
	return tok
}

// The policy API: any token reads the document (as export prints it, with its revision); only an
// admin's imports one; a bad document is 422 with every problem, nothing written.
func TestPolicyAPI(t *testing.T) {
	srv, st := signInConsole(t, nil, testLimits)
	viewer, admin := apiToken(t, st, "vera", models.RoleViewer), apiToken(t, st, "ada", models.RoleAdmin)
	call := func(method, token, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+"/api/v1/policy", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	if r, _ := call("GET", "", ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.StatusCode)
	}
	r, doc := call("GET", viewer, "")
	doc0, rev, _ := st.LoadDocument(context.Background())
	want, _ := models.EncodeDocument(doc0)
	if r.StatusCode != 200 || doc != string(want) || r.Header.Get(handlers.RevisionHeader) != itoa(rev) {
		t.Fatalf("GET: %d rev %q (want %d), document equal %v", r.StatusCode, r.Header.Get(handlers.RevisionHeader), rev, doc == string(want))
	}
	changed := strings.Replace(doc, "{name: globex}", "{name: globex, blocked: true}", 1)
	if changed == doc {
		t.Fatal("the test's edit did not apply")
	}
	if r, body := call("POST", viewer, changed); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer imports: %d %s", r.StatusCode, body)
	}
	r, body := call("POST", admin, strings.Replace(doc, "team: platform", "team: plat", 1))
	var bad struct {
		Problems []models.Problem `json:"problems"`
	}
	_ = json.Unmarshal([]byte(body), &bad)
	if r.StatusCode != http.StatusUnprocessableEntity || len(bad.Problems) == 0 || !strings.Contains(bad.Problems[0].Message, `unknown team "plat"`) {
		t.Fatalf("a bad document: %d %s", r.StatusCode, body)
	}
	if now, _ := st.Revision(context.Background()); now != rev {
		t.Fatal("a refused import wrote")
	}
	r, body = call("POST", admin, changed)
	var sum store.ImportSummary
	if err := json.Unmarshal([]byte(body), &sum); err != nil || r.StatusCode != 200 || !sum.Changed || sum.Revision != rev+1 {
		t.Fatalf("an admin imports: %d %s", r.StatusCode, body)
	}
	after, _, _ := st.LoadDocument(context.Background())
	if !after.Organization("globex").Blocked {
		t.Fatal("the import did not apply")
	}
	events, _ := st.ListAuditEvents(context.Background(), store.AuditFilter{EntityKind: models.KindOrganization, EntityName: "globex"})
	if len(events) == 0 || events[0].Actor != "ada (token ci)" {
		t.Fatalf("actor of the import: %+v", events)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
