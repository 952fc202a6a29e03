package models

import "time"

// User is a person who signs in to the console. Its role and organizations become the
// Identity of its requests.
type User struct {
	ID       int64  `gorm:"column:id;primaryKey"`
	Username string `gorm:"column:username"`
	Role     Role   `gorm:"column:role"`
	// PasswordHash is an argon2id PHC string; "" when the user signs in only by OIDC.
	PasswordHash string `gorm:"column:password_hash"`
	// OIDCSubject is the issuer and subject of the user's OpenID Connect identity, nil for
	// local users.
	OIDCSubject       *string    `gorm:"column:oidc_subject"`
	PasswordChangedAt *time.Time `gorm:"column:password_changed_at"`
	CreatedAt         time.Time  `gorm:"column:created_at"`
	UpdatedAt         time.Time  `gorm:"column:updated_at"`
	// Orgs are the organizations an org_admin administers (the user_orgs rows).
	Orgs []string `gorm:"-"`
}

// Identity is who the user's requests act for.
func (u *User) Identity() *Identity {
	return &Identity{Username: u.Username, Role: u.Role, Orgs: u.Orgs}
}

// UserOrg is one organization an org_admin administers.
type UserOrg struct {
	UserID       int64  `gorm:"column:user_id;primaryKey"`
	Organization string `gorm:"column:organization;primaryKey"`
}

// Session is a signed-in browser. Only the SHA-256 of its 256-bit id is stored.
type Session struct {
	ID         int64     `gorm:"column:id;primaryKey"`
	TokenHash  string    `gorm:"column:token_hash"`
	UserID     int64     `gorm:"column:user_id"`
	CreatedAt  time.Time `gorm:"column:created_at"`
	LastSeenAt time.Time `gorm:"column:last_seen_at"`
	// ExpiresAt is the absolute end of the session, however active it is.
	ExpiresAt time.Time `gorm:"column:expires_at"`
}

// APIToken is a personal API token: a script acting as its user on the console's JSON
// endpoints. Only the SHA-256 of the token is stored, with a display prefix that cannot
// authenticate.
type APIToken struct {
	ID         int64      `gorm:"column:id;primaryKey"`
	UserID     int64      `gorm:"column:user_id"`
	Name       string     `gorm:"column:name"`
	TokenHash  string     `gorm:"column:token_hash"`
	Prefix     string     `gorm:"column:prefix"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

// Active reports whether the token authenticates at now: not revoked and not expired.
func (t *APIToken) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// LoginFailure is one failed sign-in, counted against an account ("user:NAME") or a client
// address ("addr:IP").
type LoginFailure struct {
	ID      int64     `gorm:"column:id;primaryKey"`
	Subject string    `gorm:"column:subject"`
	At      time.Time `gorm:"column:at"`
}

// OIDCFlow is an OpenID Connect sign-in between the redirect to the provider and its callback.
type OIDCFlow struct {
	StateHash string    `gorm:"column:state_hash;primaryKey"`
	Nonce     string    `gorm:"column:nonce"`
	Verifier  string    `gorm:"column:verifier"`
	NextPath  string    `gorm:"column:next_path"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// KindUser is the audit log's entity kind for users: sign-ins, sign-outs, failures, and
// changes to accounts and tokens.
const KindUser = "user"

// SessionCookie names the console's session cookie over http; over https it carries the
// __Host- prefix (SecureSessionCookie), which browsers accept only from a secure origin for the
// whole host, so no other site or subdomain can set it.
const (
	SessionCookie       = "warden_session"
	SecureSessionCookie = "__Host-warden_session"
)
