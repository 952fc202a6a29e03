package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/warden-mcp/warden/models"
	"github.com/warden-mcp/warden/models/seal"
)

// SecretPrefix starts every key secret Warden issues, so leaked secrets are easy to spot.
const SecretPrefix = "wdn_"

// secretBytes is how many random bytes a key secret carries (256 bits).
const secretBytes = 32

// newSecret returns a new random key secret and its display prefix.
func newSecret() (secret, prefix string, err error) {
	var raw [secretBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", err
	}
	secret = SecretPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))
	return secret, secret[:len(SecretPrefix)+6], nil
}

// IssueKeySecret gives the named key a new random secret and returns it; the old secret stops
// working. Only the hash and a short display prefix are stored. The revision is bumped (who may
// call changes) and an audit event written, both without the secret. Returns NotFound if the
// key does not exist.
func (s *Store) IssueKeySecret(ctx context.Context, keyName, actor string) (string, error) {
	secret, prefix, err := newSecret()
	if err != nil {
		return "", err
	}
	err = s.keySecretTx(ctx, keyName, actor, func(a *applier) error { return a.issueSecret(keyName, secret, prefix) })
	if err != nil {
		return "", err
	}
	return secret, nil
}

// RevokeKeySecret removes the named key's secret: it stops working at once and the key keeps
// its settings (a new secret can be issued later). Bumps the revision and writes an audit
// event. Returns NotFound if the key does not exist, Invalid if it has no secret.
func (s *Store) RevokeKeySecret(ctx context.Context, keyName, actor string) error {
	return s.keySecretTx(ctx, keyName, actor, func(a *applier) error {
		res := a.tx.Model(&models.Key{}).Where("name = ? AND secret_hash IS NOT NULL", keyName).Updates(map[string]any{
			"secret_hash": nil, "secret_prefix": "", "secret_issued_at": nil, "updated_at": a.now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.EInvalid, "key %q has no secret to revoke", keyName)
		}
		a.events = append(a.events, models.AuditEvent{At: a.now, Actor: a.actor, Action: "revoke_secret",
			EntityKind: models.KindKey, EntityName: keyName, Summary: "revoked the secret: calls with it are refused"})
		return nil
	})
}

// keySecretTx runs a change to a key's secret in one transaction, committing its audit event
// with a new revision. NotFound if the key does not exist.
func (s *Store) keySecretTx(ctx context.Context, keyName, actor string, fn func(a *applier) error) error {
	return s.writeTx(ctx, func(tx *gorm.DB) error {
		if err := lockPolicy(tx); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&models.Key{}).Where("name = ?", keyName).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return models.Errorf(models.ENotFound, "unknown key %q", keyName)
		}
		rev, err := revision(tx)
		if err != nil {
			return err
		}
		a := newApplier(tx, &state{rev: rev}, s.now(), actor)
		if err := fn(a); err != nil {
			return err
		}
		_, err = a.commit("")
		return err
	})
}

// issueSecret stores the hash of a key's new secret and records it, without the secret.
func (a *applier) issueSecret(keyName, secret, prefix string) error {
	res := a.tx.Model(&models.Key{}).Where("name = ?", keyName).Updates(map[string]any{
		"secret_hash": models.HashSecret(secret), "secret_prefix": prefix, "secret_issued_at": a.now, "updated_at": a.now,
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ENotFound, "unknown key %q", keyName)
	}
	a.events = append(a.events, models.AuditEvent{
		At: a.now, Actor: a.actor, Action: "issue_secret", EntityKind: models.KindKey, EntityName: keyName,
		After: `{"secret_prefix":"` + prefix + `"}`, Summary: "issued a new secret " + prefix + "…",
	})
	return nil
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
// (nil clears them). They are stored sealed under the store's secret key (WithSecretKey), bound
// to the server's name; the audit event names them, never their values. Bumps the revision so
// every replica picks them up. Returns EInvalid if a header is not one the gateway may add or
// if headers are given and no key is configured, NotFound if the server does not exist.
func (s *Store) SetServerAuthHeaders(ctx context.Context, server string, headers map[string]string, actor string) error {
	names := make([]string, 0, len(headers))
	for k, v := range headers {
		if err := models.CheckUpstreamHeader(k, v); err != nil {
			return models.Errorf(models.EInvalid, "server %q: %v", server, err)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	val := ""
	if len(headers) > 0 {
		if s.secretKey == nil {
			return models.Errorf(models.EInvalid, "refusing to store upstream headers for server %q: %v", server, seal.ErrNoKey)
		}
		b, err := json.Marshal(headers)
		if err != nil {
			return err
		}
		if val, err = s.secretKey.Seal(b, headersAD(server)); err != nil {
			return err
		}
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
		after, _ := json.Marshal(map[string]any{"auth_header_names": names})
		summary := "cleared the upstream headers"
		if len(names) > 0 {
			summary = "set upstream headers " + strings.Join(names, ", ")
		}
		return tx.Create(&models.AuditEvent{
			At: now, Actor: actor, Action: "set_auth_headers", EntityKind: models.KindServer, EntityName: server,
			After: string(after), Revision: rev, Summary: summary,
		}).Error
	})
}

// HasSecretKey reports whether the store was given a key to seal upstream headers with.
func (s *Store) HasSecretKey() bool { return s.secretKey != nil }

// headersAD is the additional data a server's sealed headers are bound to: a value copied to
// another server's row does not open there.
func headersAD(server string) []byte { return []byte("servers.auth_headers\x00" + server) }

// UpstreamHeaders is one server's stored upstream headers: Headers, or Err saying why they
// cannot be used (no key, another key, altered, or still in plain text). Err names the server
// and never contains a value.
type UpstreamHeaders struct {
	Headers map[string]string
	Err     error
}

// ServerAuthHeaders returns the upstream headers of every server that has some, opened with the
// store's key. A row that cannot be opened is reported in its server's Err rather than failing
// the whole read, so one bad row takes only its server out of service.
func (s *Store) ServerAuthHeaders(ctx context.Context) (map[string]UpstreamHeaders, error) {
	var rows []models.Server
	if err := s.db.WithContext(ctx).Select("name", "auth_headers").Where("auth_headers <> ''").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]UpstreamHeaders, len(rows))
	for _, r := range rows {
		h, err := s.openHeaders(r.Name, r.AuthHeaders)
		out[r.Name] = UpstreamHeaders{Headers: h, Err: err}
	}
	return out, nil
}

// openHeaders decrypts and decodes one server's stored headers.
func (s *Store) openHeaders(server, stored string) (map[string]string, error) {
	if !seal.IsSealed(stored) {
		return nil, fmt.Errorf("server %q: its upstream headers are stored in plain text by an older Warden and are not used; "+
			"set %s and restart `warden serve` to encrypt them, or store them again with `warden server set-headers %s`",
			server, seal.EnvVar, server)
	}
	if s.secretKey == nil {
		return nil, fmt.Errorf("server %q: its upstream headers are encrypted and %v", server, seal.ErrNoKey)
	}
	pt, err := s.secretKey.Open(stored, headersAD(server))
	if err != nil {
		return nil, fmt.Errorf("server %q: upstream headers: %w", server, err)
	}
	var h map[string]string
	if err := json.Unmarshal(pt, &h); err != nil {
		return nil, fmt.Errorf("server %q: upstream headers decrypt to no JSON object of strings", server)
	}
	return h, nil
}

// SealPlaintextHeaders encrypts, in one transaction, every server's upstream headers still in
// plain text (written by a Warden before they were sealed) and returns those servers' names.
// A row changed meanwhile by another process is left to it. The revision is bumped and each
// server gets an audit event, so replicas that refused the plain text rebuild. Returns EInvalid
// without a key.
func (s *Store) SealPlaintextHeaders(ctx context.Context, actor string) ([]string, error) {
	if s.secretKey == nil {
		return nil, models.Errorf(models.EInvalid, "cannot encrypt upstream headers: %v", seal.ErrNoKey)
	}
	var sealed []string
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		sealed = sealed[:0]
		var rows []models.Server
		if err := tx.Select("name", "auth_headers").Where("auth_headers <> ''").Order("name").Find(&rows).Error; err != nil {
			return err
		}
		now := s.now()
		for _, r := range rows {
			if seal.IsSealed(r.AuthHeaders) {
				continue
			}
			var h map[string]string
			if err := json.Unmarshal([]byte(r.AuthHeaders), &h); err != nil {
				return models.Errorf(models.EInvalid, "server %q: its plain-text upstream headers are not a JSON object of strings; store them again with `warden server set-headers %s`", r.Name, r.Name)
			}
			b, _ := json.Marshal(h)
			val, err := s.secretKey.Seal(b, headersAD(r.Name))
			if err != nil {
				return err
			}
			res := tx.Model(&models.Server{}).Where("name = ? AND auth_headers = ?", r.Name, r.AuthHeaders).
				Updates(map[string]any{"auth_headers": val, "updated_at": now})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				sealed = append(sealed, r.Name)
			}
		}
		if len(sealed) == 0 {
			return nil
		}
		rev, err := bumpRevision(tx)
		if err != nil {
			return err
		}
		for _, name := range sealed {
			if err := tx.Create(&models.AuditEvent{
				At: now, Actor: actor, Action: "set_auth_headers", EntityKind: models.KindServer, EntityName: name,
				Revision: rev, Summary: "encrypted the upstream headers stored in plain text",
			}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sealed, nil
}

// KeySecretPrefix returns the display prefix of the key's current secret ("" when it has
// none); NotFound if the key does not exist.
func (s *Store) KeySecretPrefix(ctx context.Context, keyName string) (string, error) {
	var rows []models.Key
	if err := s.db.WithContext(ctx).Select("secret_hash", "secret_prefix").Where("name = ?", keyName).Limit(1).Find(&rows).Error; err != nil {
		return "", err
	}
	if len(rows) == 0 {
		return "", models.Errorf(models.ENotFound, "unknown key %q", keyName)
	}
	if rows[0].SecretHash == nil {
		return "", nil
	}
	return rows[0].SecretPrefix, nil
}
