package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/warden-mcp/warden/models"
)

// The policy API refuses a document that breaks its own guards, as `warden import` does: 422
// with one problem a violation, at the guard's path, nothing written.
func TestPolicyAPIRefusesBrokenGuards(t *testing.T) {
	srv, st := signInConsole(t, nil, testLimits)
	admin := apiToken(t, st, "ada", models.RoleAdmin)
	doc0, rev, _ := st.LoadDocument(context.Background())
	text, _ := models.EncodeDocument(doc0)
	// The demo's seven executors break a limit of six.
	broken := strings.Replace(string(text), "at_most: 7", "at_most: 6", 1)
	if broken == string(text) {
		t.Fatalf("the demo export has no at_most: 7:\n%s", text)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/policy", strings.NewReader(broken))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var bad struct {
		Problems []models.Problem `json:"problems"`
	}
	_ = json.Unmarshal(body, &bad)
	if resp.StatusCode != http.StatusUnprocessableEntity || len(bad.Problems) != 7 || bad.Problems[0].Path != "guards[0]" ||
		!strings.Contains(bad.Problems[0].Message, "guard few-executors: key ") || !strings.Contains(bad.Problems[0].Message, "7 keys may, at most 6") {
		t.Fatalf("a document breaking its guards: %d %s", resp.StatusCode, body)
	}
	if now, _ := st.Revision(context.Background()); now != rev {
		t.Fatal("a refused import wrote")
	}
}
