package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"strings"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
)

// SecretPrefix starts every key secret Warden issues, so leaked secrets are easy to spot.
const SecretPrefix = "wdn_"

// IssueKeySecret gives the named key a new random secret and returns it; the old secret stops
// working. Only the hash and a short display prefix are stored. The revision is bumped (who may
// call changes) and an audit event written, both without the secret. Returns NotFound if the
// key does not exist.
func (s *Store) IssueKeySecret(ctx context.Context, keyName, actor string) (string, error) {
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	secret := SecretPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))
	prefix := secret[:len(SecretPrefix)+6]
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&models.Key{}).Where("name = ?", keyName).Updates(map[string]any{
			"secret_hash": models.HashSecret(secret), "secret_prefix": prefix, "secret_issued_at": now, "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ENotFound, "unknown key %q", keyName)
		}
		rev, err := bumpRevision(tx)
		if err != nil {
			return err
		}
		return tx.Create(&models.AuditEvent{
			At: now, Actor: actor, Action: "issue_secret", EntityKind: models.KindKey, EntityName: keyName,
			After: `{"secret_prefix":"` + prefix + `"}`, Revision: rev, Summary: "issued a new secret " + prefix + "…",
		}).Error
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// KeySecretHashes maps the hash of every key's current secret to the key's name.
func (s *Store) KeySecretHashes(ctx context.Context) (map[string]string, error) {
	var rows []struct {
		Name       string
		SecretHash string
	}
	err := s.db.WithContext(ctx).Model(&models.Key{}).Select("name", "secret_hash").
		Where("secret_hash IS NOT NULL").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.SecretHash] = r.Name
	}
	return out, nil
}

// SetServerAuthHeaders sets the headers the gateway adds to requests it relays to the server
// (nil clears them). Bumps the revision so every replica picks them up. Returns NotFound if the
// server does not exist.
func (s *Store) SetServerAuthHeaders(ctx context.Context, server string, headers map[string]string, actor string) error {
	val := ""
	if len(headers) > 0 {
		b, err := json.Marshal(headers)
		if err != nil {
			return err
		}
		val = string(b)
	}
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&models.Server{}).Where("name = ?", server).Updates(map[string]any{"auth_headers": val, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ENotFound, "unknown server %q", server)
		}
		rev, err := bumpRevision(tx)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(headers))
		for k := range headers {
			names = append(names, k)
		}
		// The audit log names the headers, never their values.
		after, _ := json.Marshal(map[string]any{"auth_header_names": names})
		return tx.Create(&models.AuditEvent{
			At: now, Actor: actor, Action: "set_auth_headers", EntityKind: models.KindServer, EntityName: server,
			After: string(after), Revision: rev,
		}).Error
	})
}

// ServerAuthHeaders returns the upstream headers of every server that has some.
func (s *Store) ServerAuthHeaders(ctx context.Context) (map[string]map[string]string, error) {
	var rows []models.Server
	if err := s.db.WithContext(ctx).Select("name", "auth_headers").Where("auth_headers <> ''").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]map[string]string, len(rows))
	for _, r := range rows {
		var h map[string]string
		if err := json.Unmarshal([]byte(r.AuthHeaders), &h); err != nil {
			return nil, errors.New("server " + r.Name + ": auth_headers is not a JSON object of strings")
		}
		out[r.Name] = h
	}
	return out, nil
}
