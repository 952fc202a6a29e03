package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// NewUser is a user to create.
type NewUser struct {
	Username string
	Role     models.Role
	// Orgs are the organizations an org_admin administers; only org_admins have them.
	Orgs []string
	// PasswordHash is an argon2id PHC string ("" for a user who signs in only by OIDC).
	PasswordHash string
	// OIDCSubject links the user to an OpenID Connect identity (nil: local user).
	OIDCSubject *string
}

// checkRole refuses a role/organizations combination that makes no sense: an org_admin must
// administer at least one organization, and only an org_admin has organizations.
func checkRole(role models.Role, orgs []string) error {
	if _, err := models.ParseRole(string(role)); err != nil {
		return err
	}
	if role == models.RoleOrgAdmin && len(orgs) == 0 {
		return models.Errorf(models.EInvalid, "an org_admin needs at least one organization (--org)")
	}
	if role != models.RoleOrgAdmin && len(orgs) > 0 {
		return models.Errorf(models.EInvalid, "only an org_admin administers organizations; a %s has no --org", role)
	}
	return nil
}

// Check refuses a user that CreateUser would refuse for what it is (a bad username, or a role
// and organizations that do not go together), before anything else is done for it.
func (u NewUser) Check() error {
	if err := models.ValidUsername(u.Username); err != nil {
		return err
	}
	return checkRole(u.Role, u.Orgs)
}

// CreateUser creates a user, with an audit event by actor. Returns EInvalid for a bad username
// or role, EConflict if the username is taken.
func (s *Store) CreateUser(ctx context.Context, u NewUser, actor string) (*models.User, error) {
	if err := u.Check(); err != nil {
		return nil, err
	}
	now := s.now()
	user := &models.User{Username: u.Username, Role: u.Role, PasswordHash: u.PasswordHash, OIDCSubject: u.OIDCSubject,
		CreatedAt: now, UpdatedAt: now, Orgs: dedupe(u.Orgs)}
	if u.PasswordHash != "" {
		user.PasswordChangedAt = &now
	}
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.User{}).Where("username = ?", u.Username).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return models.Errorf(models.EConflict, "user %q already exists", u.Username)
		}
		if err := tx.Create(user).Error; err != nil {
			return err
		}
		if err := setUserOrgs(tx, user.ID, user.Orgs); err != nil {
			return err
		}
		return userEvent(tx, now, actor, "create_user", u.Username, describeUser(user))
	})
	if err != nil {
		return nil, err
	}
	return user, nil
}

// UpdateUserRole sets a user's role and organizations (the console's user page, and every
// OIDC sign-in, which re-reads them from the groups claim), with an audit event when they
// change.
func (s *Store) UpdateUserRole(ctx context.Context, username string, role models.Role, orgs []string, actor string) error {
	if err := checkRole(role, orgs); err != nil {
		return err
	}
	orgs = dedupe(orgs)
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		u, err := userByName(tx, username)
		if err != nil {
			return err
		}
		if u.Role == role && slices.Equal(u.Orgs, orgs) {
			return nil
		}
		before := describeUser(u)
		now := s.now()
		if err := tx.Model(&models.User{}).Where("id = ?", u.ID).Updates(map[string]any{"role": role, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := setUserOrgs(tx, u.ID, orgs); err != nil {
			return err
		}
		u.Role, u.Orgs = role, orgs
		return tx.Create(&models.AuditEvent{At: now, Actor: actor, Action: "update_user", EntityKind: models.KindUser,
			EntityName: username, Before: before, After: describeUser(u), Revision: currentRevision(tx),
			Summary: "role " + string(role) + orgSummary(orgs)}).Error
	})
}

// SetPassword replaces a user's password hash and ends every session of the user (a changed
// password signs out everywhere, including a thief's browser).
func (s *Store) SetPassword(ctx context.Context, username, passwordHash, actor string) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&models.User{}).Where("username = ?", username).
			Updates(map[string]any{"password_hash": passwordHash, "password_changed_at": now, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ENotFound, "unknown user %q", username)
		}
		if err := tx.Where("user_id = (SELECT id FROM users WHERE username = ?)", username).Delete(&models.Session{}).Error; err != nil {
			return err
		}
		return userEvent(tx, now, actor, "set_password", username, "")
	})
}

// DeleteUser deletes a user, its sessions and its API tokens. The last admin cannot be deleted:
// nobody could manage users after it.
func (s *Store) DeleteUser(ctx context.Context, username, actor string) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		u, err := userByName(tx, username)
		if err != nil {
			return err
		}
		if u.Role == models.RoleAdmin {
			var admins int64
			if err := tx.Model(&models.User{}).Where("role = ?", models.RoleAdmin).Count(&admins).Error; err != nil {
				return err
			}
			if admins == 1 {
				return models.Errorf(models.EConflict, "%q is the last admin; make another user admin first", username)
			}
		}
		// Explicit deletes, not only ON DELETE CASCADE: SQLite enforces foreign keys only
		// when asked to, per connection.
		for _, m := range []any{&models.Session{}, &models.APIToken{}, &models.UserOrg{}} {
			if err := tx.Where("user_id = ?", u.ID).Delete(m).Error; err != nil {
				return err
			}
		}
		if err := tx.Delete(&models.User{}, u.ID).Error; err != nil {
			return err
		}
		return userEvent(tx, s.now(), actor, "delete_user", username, "")
	})
}

// ListUsers lists every user with its organizations, by username.
func (s *Store) ListUsers(ctx context.Context) ([]models.User, error) {
	db := s.db.WithContext(ctx)
	var users []models.User
	if err := db.Order("username").Find(&users).Error; err != nil {
		return nil, err
	}
	var orgs []models.UserOrg
	if err := db.Order("organization").Find(&orgs).Error; err != nil {
		return nil, err
	}
	byID := map[int64][]string{}
	for _, o := range orgs {
		byID[o.UserID] = append(byID[o.UserID], o.Organization)
	}
	for i := range users {
		users[i].Orgs = byID[users[i].ID]
	}
	return users, nil
}

// CountUsers counts the users (serve creates the first admin when there are none).
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.User{}).Count(&n).Error
	return n, err
}

// UserByName returns a user with its organizations; ENotFound if there is none.
func (s *Store) UserByName(ctx context.Context, username string) (*models.User, error) {
	return userByName(s.db.WithContext(ctx), username)
}

// UserByOIDCSubject returns the user linked to an OpenID Connect identity; ENotFound if none.
func (s *Store) UserByOIDCSubject(ctx context.Context, subject string) (*models.User, error) {
	var u models.User
	if err := s.db.WithContext(ctx).Where("oidc_subject = ?", subject).Take(&u).Error; err != nil {
		return nil, notFound(err, "no user signs in as that OIDC identity")
	}
	return &u, loadOrgs(s.db.WithContext(ctx), &u)
}

func userByName(db *gorm.DB, username string) (*models.User, error) {
	var u models.User
	if err := db.Where("username = ?", username).Take(&u).Error; err != nil {
		return nil, notFound(err, "unknown user %q", username)
	}
	return &u, loadOrgs(db, &u)
}

func loadOrgs(db *gorm.DB, u *models.User) error {
	u.Orgs = nil
	return db.Model(&models.UserOrg{}).Where("user_id = ?", u.ID).Order("organization").Pluck("organization", &u.Orgs).Error
}

func setUserOrgs(tx *gorm.DB, userID int64, orgs []string) error {
	if err := tx.Where("user_id = ?", userID).Delete(&models.UserOrg{}).Error; err != nil {
		return err
	}
	for _, o := range orgs {
		if err := tx.Create(&models.UserOrg{UserID: userID, Organization: o}).Error; err != nil {
			return err
		}
	}
	return nil
}

// notFound turns gorm's ErrRecordNotFound into an ENotFound error saying format; other errors
// pass through.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Errorf(models.ENotFound, format, args...)
	}
	return err
}

func dedupe(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// describeUser is a user's audit form: role and organizations, never its password hash.
func describeUser(u *models.User) string {
	b, _ := json.Marshal(struct {
		Role models.Role `json:"role"`
		Orgs []string    `json:"organizations,omitempty"`
	}{u.Role, u.Orgs})
	return string(b)
}

func orgSummary(orgs []string) string {
	if len(orgs) == 0 {
		return ""
	}
	return " of " + strings.Join(orgs, ", ")
}

// currentRevision is the policy revision an event about users carries: users are not policy,
// so it is the revision at the time, never a new one (a save's "changed since" never sees it).
func currentRevision(tx *gorm.DB) int64 {
	r, _ := revision(tx)
	return r
}

// userEvent writes an audit event about a user account.
func userEvent(tx *gorm.DB, at time.Time, actor, action, username, after string) error {
	return tx.Create(&models.AuditEvent{At: at, Actor: actor, Action: action, EntityKind: models.KindUser,
		EntityName: username, After: after, Revision: currentRevision(tx)}).Error
}

// UnknownOrganizations returns the names among names that no organization has, in order.
func (s *Store) UnknownOrganizations(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var known []string
	if err := s.db.WithContext(ctx).Model(&models.Organization{}).Where("name IN ?", names).Pluck("name", &known).Error; err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if !slices.Contains(known, n) {
			out = append(out, n)
		}
	}
	return out, nil
}
