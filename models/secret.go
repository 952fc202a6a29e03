package models

import (
	"crypto/sha256"
	"encoding/hex"
)

// HashSecret is how a key secret is stored and looked up: hex SHA-256. Secrets carry 160 random
// bits, so a fast unsalted hash is enough (there is nothing to brute-force). It lives in models
// because both the store (which writes the hash) and the enforcement package (which looks secrets
// up by it) need the one definition, and neither may import the other.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
