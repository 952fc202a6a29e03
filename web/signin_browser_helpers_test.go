package web_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/password"
	"github.com/warden-mcp/warden/models/store"
)

// newPerson creates a console user with a fresh password and returns the password.
func newPerson(t *testing.T, st *store.Store, username string, role models.Role, orgs ...string) string {
	t.Helper()
	pw := password.Generate()
	hash, err := password.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(context.Background(), store.NewUser{Username: username, Role: role, Orgs: orgs, PasswordHash: hash}, "test"); err != nil {
		t.Fatal(err)
	}
	return pw
}

// signIn creates the user and signs in as them in the browser the way a person does: the
// sign-in page, the two fields, the button, and the header saying who is signed in.
func signIn(t *testing.T, ctx context.Context, srv *httptest.Server, st *store.Store, username string, role models.Role, orgs ...string) {
	t.Helper()
	pw := newPerson(t, st, username, role, orgs...)
	step(t, ctx, "sign in as "+username,
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.WaitVisible(`#username`),
		chromedp.SendKeys(`#username`, username),
		chromedp.SendKeys(`#password`, pw),
		chromedp.Click(`[data-testid=sign-in]`),
		chromedp.WaitVisible(`[data-testid=signed-in-user]`),
	)
	if got := stepValue(t, ctx, "read who is signed in", chromedp.Text(`[data-testid=signed-in-user]`)); got != username {
		t.Fatalf("signed in as %q, want %q", got, username)
	}
}
