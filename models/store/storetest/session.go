package storetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
)

// Session creates the user (if it does not exist yet) with the role and organizations and
// returns the cookie of a fresh session of theirs, for tests of console routes that are not
// about signing in. (Tests of signing in post to /login, as a person would.)
func Session(t testing.TB, st *store.Store, username string, role models.Role, orgs ...string) *http.Cookie {
	t.Helper()
	ctx := context.Background()
	u, err := st.UserByName(ctx, username)
	if models.ErrorCode(err) == models.ENotFound {
		u, err = st.CreateUser(ctx, store.NewUser{Username: username, Role: role, Orgs: orgs}, "test")
	}
	if err != nil {
		t.Fatal(err)
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	if err := st.CreateSession(ctx, u.ID, models.HashSecret(id), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: models.SessionCookie, Value: id}
}

// Admin is Session for the admin "root".
func Admin(t testing.TB, st *store.Store) *http.Cookie {
	t.Helper()
	return Session(t, st, "root", models.RoleAdmin)
}

// AsUser wraps a handler so every request that carries no session cookie of its own carries
// cookie: tests written before sign-in existed (and tests about something else) act as that
// user.
func AsUser(h http.Handler, cookie *http.Cookie) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(cookie.Name); err != nil && r.Header.Get("Authorization") == "" {
			r = r.Clone(r.Context())
			r.AddCookie(cookie)
		}
		h.ServeHTTP(w, r)
	})
}
