// Package seal encrypts the secrets Warden must be able to read back (the headers the gateway
// adds upstream) under a key derived from WARDEN_SECRET_KEY. It does no I/O: cmd/warden parses
// the variable with ParseKey and hands the Key to the store.
//
// A sealed value is "v1:" + key id + ":" + base64(nonce || AES-256-GCM ciphertext). The AES key
// is HKDF-SHA256 of the secret with a fixed info string; each value gets a random 96-bit nonce;
// the caller's additional data (the server's name) is authenticated, so a value copied to
// another row does not open. The key id (8 bytes of another HKDF output, which reveals nothing
// of the AES key) only lets an error say "another key" rather than "tampered".
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// EnvVar is the environment variable the key is read from (by cmd/warden only).
const EnvVar = "WARDEN_SECRET_KEY"

// HowToSet says how to make a key; every error about a missing or weak key ends with it.
const HowToSet = `generate one with "openssl rand -base64 32" and set it for every warden process`

// MinKeyBytes is the shortest key accepted, after base64 decoding.
const MinKeyBytes = 32

const (
	prefix   = "v1:"
	infoAES  = "warden upstream headers v1: AES-256-GCM key"
	infoID   = "warden upstream headers v1: key id"
	nonceLen = 12
)

// ErrNoKey is returned when a secret must be sealed or opened but no key is configured.
var ErrNoKey = errors.New(EnvVar + " is not set: " + HowToSet)

// Key seals and opens values. The zero value is not usable; get one from ParseKey.
type Key struct {
	aead cipher.AEAD
	id   string
}

// ParseKey reads a key as WARDEN_SECRET_KEY holds it: standard or URL-safe base64 (padding
// optional) of at least MinKeyBytes bytes. A value that is not base64, is shorter, or whose
// bytes are too repetitive to be random (fewer than 16 distinct byte values) is refused: the
// variable is meant to hold random bytes, not a password.
func ParseKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ErrNoKey
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %s", EnvVar, HowToSet)
	}
	if len(raw) < MinKeyBytes {
		return nil, fmt.Errorf("%s is %d bytes after base64 decoding, want at least %d: %s", EnvVar, len(raw), MinKeyBytes, HowToSet)
	}
	distinct := map[byte]bool{}
	for _, b := range raw {
		distinct[b] = true
	}
	if len(distinct) < 16 {
		return nil, fmt.Errorf("%s does not look random (%d distinct byte values in %d bytes): %s", EnvVar, len(distinct), len(raw), HowToSet)
	}
	aesKey, err := hkdf.Key(sha256.New, raw, nil, infoAES, 32)
	if err != nil {
		return nil, err
	}
	idBytes, err := hkdf.Key(sha256.New, raw, nil, infoID, 8)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead, id: hex.EncodeToString(idBytes)}, nil
}

// ID is the key's public identifier, as sealed values carry it.
func (k *Key) ID() string { return k.id }

// IsSealed reports whether a stored value is in a sealed format (of any version), as opposed to
// plain text an older Warden wrote.
func IsSealed(v string) bool {
	ver, _, ok := strings.Cut(v, ":")
	if !ok || len(ver) < 2 || ver[0] != 'v' {
		return false
	}
	for _, c := range ver[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Seal encrypts plaintext, binding it to ad (which Open must be given again).
func (k *Key) Seal(plaintext, ad []byte) (string, error) {
	nonce := make([]byte, nonceLen, nonceLen+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := k.aead.Seal(nonce, nonce, plaintext, ad)
	return prefix + k.id + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal made with ad. Its errors say whether the value is in an unknown
// format, was sealed under another key, or does not authenticate (tampered, or moved from the
// row it was sealed for); they never contain the value.
func (k *Key) Open(v string, ad []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return nil, errors.New("not a sealed value in a format this Warden reads (want v1:)")
	}
	id, body, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("sealed value is malformed (no key id)")
	}
	if id != k.id {
		return nil, fmt.Errorf("sealed under another %s (key id %s; this process's key id is %s)", EnvVar, id, k.id)
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(raw) < nonceLen+k.aead.Overhead() {
		return nil, errors.New("sealed value is malformed (bad base64 or too short)")
	}
	pt, err := k.aead.Open(nil, raw[:nonceLen], raw[nonceLen:], ad)
	if err != nil {
		return nil, errors.New("sealed value does not authenticate: it was altered, or copied from another row")
	}
	return pt, nil
}
