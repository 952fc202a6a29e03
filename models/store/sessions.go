package store

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// CreateSession stores a new session of the user, by the hash of its id, ending absolutely at
// expires.
func (s *Store) CreateSession(ctx context.Context, userID int64, tokenHash string, expires time.Time) error {
	now := s.now()
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		return tx.Create(&models.Session{TokenHash: tokenHash, UserID: userID, CreatedAt: now, LastSeenAt: now, ExpiresAt: expires}).Error
	})
}

// SessionUser returns the session with that id hash and its user. A session past its absolute
// expiry, or idle for longer than idle, is deleted and ENotFound: a stolen cookie of a browser
// left alone stops working.
func (s *Store) SessionUser(ctx context.Context, tokenHash string, idle time.Duration) (*models.Session, *models.User, error) {
	db := s.db.WithContext(ctx)
	var sess models.Session
	if err := db.Where("token_hash = ?", tokenHash).Take(&sess).Error; err != nil {
		return nil, nil, notFound(err, "no such session")
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || (idle > 0 && now.Sub(sess.LastSeenAt) >= idle) {
		if err := s.DeleteSession(ctx, tokenHash); err != nil {
			return nil, nil, err
		}
		return nil, nil, models.Errorf(models.ENotFound, "the session expired")
	}
	var u models.User
	if err := db.Take(&u, sess.UserID).Error; err != nil {
		return nil, nil, notFound(err, "the session's user no longer exists")
	}
	return &sess, &u, loadOrgs(db, &u)
}

// TouchSession records that the session was used at now (its idle expiry counts from there).
func (s *Store) TouchSession(ctx context.Context, id int64) error {
	now := s.now()
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&models.Session{}).Where("id = ?", id).Update("last_seen_at", now).Error
	})
}

// DeleteSession ends a session (sign-out).
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		return tx.Where("token_hash = ?", tokenHash).Delete(&models.Session{}).Error
	})
}

// DeleteUserSessions ends every session of a user (an OIDC user whose groups no longer map to
// a role is signed out everywhere).
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		return tx.Where("user_id = ?", userID).Delete(&models.Session{}).Error
	})
}

// CreateAPIToken stores a personal API token of the user by its hash, with an audit event.
// EConflict if the user has a token of that name already.
func (s *Store) CreateAPIToken(ctx context.Context, t *models.APIToken, username string) error {
	if err := models.ValidTokenName(t.Name); err != nil {
		return err
	}
	t.CreatedAt = s.now()
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.APIToken{}).Where("user_id = ? AND name = ?", t.UserID, t.Name).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return models.Errorf(models.EConflict, "you already have a token named %q", t.Name)
		}
		if err := tx.Create(t).Error; err != nil {
			return err
		}
		return userEvent(tx, t.CreatedAt, username, "create_token", username, `{"token":`+quote(t.Name)+`,"prefix":`+quote(t.Prefix)+`}`)
	})
}

// APITokens lists a user's tokens, newest first (revoked ones too, marked).
func (s *Store) APITokens(ctx context.Context, userID int64) ([]models.APIToken, error) {
	var out []models.APIToken
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("id DESC").Find(&out).Error
	return out, err
}

// TokenUser returns the token with that hash and its user, and records its use. A revoked or
// expired token is ENotFound.
func (s *Store) TokenUser(ctx context.Context, tokenHash string) (*models.APIToken, *models.User, error) {
	db := s.db.WithContext(ctx)
	var t models.APIToken
	if err := db.Where("token_hash = ?", tokenHash).Take(&t).Error; err != nil {
		return nil, nil, notFound(err, "no such token")
	}
	now := s.now()
	if !t.Active(now) {
		return nil, nil, models.Errorf(models.ENotFound, "the token was revoked or has expired")
	}
	var u models.User
	if err := db.Take(&u, t.UserID).Error; err != nil {
		return nil, nil, notFound(err, "the token's user no longer exists")
	}
	// Last use is for the person reviewing their tokens: once a minute is precise enough, and
	// spares a write per scripted request.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		err := s.writeTx(ctx, func(tx *gorm.DB) error {
			return tx.Model(&models.APIToken{}).Where("id = ?", t.ID).Update("last_used_at", now).Error
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return &t, &u, loadOrgs(db, &u)
}

// RevokeAPIToken revokes one of the user's tokens, with an audit event; it stops working at
// once. ENotFound if the user has no such token.
func (s *Store) RevokeAPIToken(ctx context.Context, userID, tokenID int64, username string) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		var t models.APIToken
		if err := tx.Where("id = ? AND user_id = ?", tokenID, userID).Take(&t).Error; err != nil {
			return notFound(err, "you have no such token")
		}
		if t.RevokedAt != nil {
			return nil
		}
		now := s.now()
		if err := tx.Model(&t).Update("revoked_at", now).Error; err != nil {
			return err
		}
		return userEvent(tx, now, username, "revoke_token", username, `{"token":`+quote(t.Name)+`,"prefix":`+quote(t.Prefix)+`}`)
	})
}

// BeginLoginAttempt records a sign-in attempt against each subject ("user:NAME",
// "addr:IP") before its password is checked, prunes attempts older than window, and returns the
// attempts of each subject within window, this one included, with the ids of its rows. Counting
// an attempt before checking it is what makes the limit hold under concurrency: guesses sent
// at once each see the others, instead of all reading the count from before any failed.
func (s *Store) BeginLoginAttempt(ctx context.Context, window time.Duration, subjects ...string) (map[string]int64, []int64, error) {
	now := s.now()
	var ids []int64
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("at < ?", now.Add(-window)).Delete(&models.LoginFailure{}).Error; err != nil {
			return err
		}
		for _, sub := range subjects {
			f := models.LoginFailure{Subject: sub, At: now}
			if err := tx.Create(&f).Error; err != nil {
				return err
			}
			ids = append(ids, f.ID)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var rows []struct {
		Subject string
		N       int64
	}
	err = s.db.WithContext(ctx).Model(&models.LoginFailure{}).Select("subject, COUNT(*) AS n").
		Where("subject IN ? AND at >= ?", subjects, now.Add(-window)).Group("subject").Scan(&rows).Error
	counts := map[string]int64{}
	for _, r := range rows {
		counts[r.Subject] = r.N
	}
	return counts, ids, err
}

// ForgetLoginAttempt removes an attempt's rows: it succeeded, or it was refused by the limit
// (a refusal is not a guess and does not extend the lockout).
func (s *Store) ForgetLoginAttempt(ctx context.Context, ids []int64) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		return tx.Where("id IN ?", ids).Delete(&models.LoginFailure{}).Error
	})
}

// RecordLoginFailure writes the audit event of a failed sign-in (its rows were written by
// BeginLoginAttempt and stay, counting against the account and the address).
func (s *Store) RecordLoginFailure(ctx context.Context, username, client string) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		return tx.Create(&models.AuditEvent{At: s.now(), Actor: username, Action: "sign_in_failed", EntityKind: models.KindUser,
			EntityName: username, Summary: "from " + client, Revision: currentRevision(tx)}).Error
	})
}

// ClearLoginFailures forgets an account's failures after it signed in.
func (s *Store) ClearLoginFailures(ctx context.Context, subject string) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		return tx.Where("subject = ?", subject).Delete(&models.LoginFailure{}).Error
	})
}

// RecordSignIn writes the audit event of a sign-in or sign-out (action "sign_in", "sign_out").
func (s *Store) RecordSignIn(ctx context.Context, username, action, summary string) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		return tx.Create(&models.AuditEvent{At: s.now(), Actor: username, Action: action, EntityKind: models.KindUser,
			EntityName: username, Summary: summary, Revision: currentRevision(tx)}).Error
	})
}

// BeginOIDCFlow stores a sign-in in progress, and drops those older than maxAge.
func (s *Store) BeginOIDCFlow(ctx context.Context, f models.OIDCFlow, maxAge time.Duration) error {
	now := s.now()
	f.CreatedAt = now
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("created_at < ?", now.Add(-maxAge)).Delete(&models.OIDCFlow{}).Error; err != nil {
			return err
		}
		return tx.Create(&f).Error
	})
}

// TakeOIDCFlow returns and deletes the sign-in in progress with that state hash: a state is good
// for one callback only. ENotFound when there is none or it is older than maxAge.
func (s *Store) TakeOIDCFlow(ctx context.Context, stateHash string, maxAge time.Duration) (*models.OIDCFlow, error) {
	var f models.OIDCFlow
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("state_hash = ?", stateHash).Take(&f).Error; err != nil {
			return notFound(err, "this sign-in was not started here, or was already used")
		}
		return tx.Where("state_hash = ?", stateHash).Delete(&models.OIDCFlow{}).Error
	})
	if err != nil {
		return nil, err
	}
	if s.now().Sub(f.CreatedAt) > maxAge {
		return nil, models.Errorf(models.ENotFound, "this sign-in took too long; start again")
	}
	return &f, nil
}

// quote is s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
