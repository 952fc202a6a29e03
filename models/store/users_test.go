package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/store"
	"github.com/warden-mcp/warden/models/store/storetest"
)

func TestUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := st.CreateUser(ctx, store.NewUser{Username: "alice", Role: models.RoleOrgAdmin}, "test"); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("org_admin without organizations: %v, want invalid", err)
		}
		if _, err := st.CreateUser(ctx, store.NewUser{Username: "Alice", Role: models.RoleViewer}, "test"); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("upper-case username: %v, want invalid", err)
		}
		a, err := st.CreateUser(ctx, store.NewUser{Username: "alice", Role: models.RoleOrgAdmin, Orgs: []string{"globex", "acme", "acme"}, PasswordHash: "h1"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateUser(ctx, store.NewUser{Username: "alice", Role: models.RoleViewer}, "test"); models.ErrorCode(err) != models.EConflict {
			t.Fatalf("second alice: %v, want conflict", err)
		}
		if _, err := st.CreateUser(ctx, store.NewUser{Username: "root", Role: models.RoleAdmin}, "test"); err != nil {
			t.Fatal(err)
		}
		got, err := st.UserByName(ctx, "alice")
		if err != nil || strings.Join(got.Orgs, ",") != "acme,globex" || got.Role != models.RoleOrgAdmin || got.PasswordHash != "h1" {
			t.Fatalf("alice = %+v, %v", got, err)
		}

		// Sessions: a password change ends them all.
		exp := time.Now().Add(time.Hour)
		for _, h := range []string{"s1", "s2"} {
			if err := st.CreateSession(ctx, a.ID, h, exp); err != nil {
				t.Fatal(err)
			}
		}
		if _, u, err := st.SessionUser(ctx, "s1", time.Hour); err != nil || u.Username != "alice" || len(u.Orgs) != 2 {
			t.Fatalf("session s1: %v, %v", u, err)
		}
		if err := st.SetPassword(ctx, "alice", "h2", "alice"); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"s1", "s2"} {
			if _, _, err := st.SessionUser(ctx, h, time.Hour); models.ErrorCode(err) != models.ENotFound {
				t.Fatalf("session %s after the password changed: %v", h, err)
			}
		}
		// Absolute expiry.
		if err := st.CreateSession(ctx, a.ID, "old", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.SessionUser(ctx, "old", time.Hour); models.ErrorCode(err) != models.ENotFound {
			t.Fatalf("expired session: %v", err)
		}

		// Tokens: revoked ones stop working at once.
		tok := &models.APIToken{UserID: a.ID, Name: "ci", TokenHash: "t1", Prefix: "wdt_abc"}
		if err := st.CreateAPIToken(ctx, tok, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, u, err := st.TokenUser(ctx, "t1"); err != nil || u.Username != "alice" {
			t.Fatalf("token: %v %v", u, err)
		}
		if err := st.RevokeAPIToken(ctx, a.ID+100, tok.ID, "mallory"); models.ErrorCode(err) != models.ENotFound {
			t.Fatalf("revoking another user's token: %v", err)
		}
		if err := st.RevokeAPIToken(ctx, a.ID, tok.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.TokenUser(ctx, "t1"); models.ErrorCode(err) != models.ENotFound {
			t.Fatalf("revoked token: %v", err)
		}

		// Roles.
		if err := st.UpdateUserRole(ctx, "alice", models.RoleViewer, nil, "root"); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.UserByName(ctx, "alice"); got.Role != models.RoleViewer || len(got.Orgs) != 0 {
			t.Fatalf("after role change: %+v", got)
		}
		// The last admin stays.
		if err := st.DeleteUser(ctx, "root", "root"); models.ErrorCode(err) != models.EConflict {
			t.Fatalf("deleting the last admin: %v", err)
		}
		if err := st.DeleteUser(ctx, "alice", "root"); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.CountUsers(ctx); n != 1 {
			t.Fatalf("%d users, want 1", n)
		}
		if storetest.QueryString(t, st, "SELECT COUNT(*) FROM user_orgs") != "0" {
			t.Fatal("alice's organizations outlived her")
		}
		// Failures are counted per subject in the window.
		for range 3 {
			if _, _, err := st.BeginLoginAttempt(ctx, time.Hour, "user:bob", "addr:127.0.0.1"); err != nil {
				t.Fatal(err)
			}
			if err := st.RecordLoginFailure(ctx, "bob", "127.0.0.1"); err != nil {
				t.Fatal(err)
			}
		}
		n, ids, err := st.BeginLoginAttempt(ctx, time.Hour, "user:bob", "addr:127.0.0.1", "user:carol")
		if err != nil || n["user:bob"] != 4 || n["addr:127.0.0.1"] != 4 || n["user:carol"] != 1 || len(ids) != 3 {
			t.Fatalf("attempts %v %v %v", n, ids, err)
		}
		if err := st.ForgetLoginAttempt(ctx, ids); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := st.BeginLoginAttempt(ctx, time.Hour, "user:carol"); n["user:carol"] != 1 {
			t.Fatalf("a forgotten attempt still counts: %v", n)
		}
		events, _ := st.ListAuditEvents(ctx, store.AuditFilter{EntityKind: models.KindUser})
		var actions []string
		for _, e := range events {
			if strings.Contains(e.Before+e.After+e.Summary, "h1") || strings.Contains(e.Before+e.After+e.Summary, "h2") {
				t.Fatalf("an audit event holds a password hash: %+v", e)
			}
			actions = append(actions, e.Action)
		}
		if want := "sign_in_failed sign_in_failed sign_in_failed delete_user update_user revoke_token create_token set_password create_user create_user"; strings.Join(actions, " ") != want {
			t.Fatalf("audit actions %q, want %q", strings.Join(actions, " "), want)
		}
	})
}
