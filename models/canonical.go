package models

import (
	"crypto/sha256"
	"encoding/hex"
)

// CanonicalDocument returns the canonical text of d, which is what EncodeDocument (and so
// `warden export`) writes: normalized YAML, the same bytes for every document describing the
// same state. Its SHA-256 in hex comes with it, so a saved plan can name the state it was made
// against and the state it applies, and anyone can check either with `warden export | sha256sum`.
func CanonicalDocument(d *Document) (text []byte, sum string, err error) {
	text, err = EncodeDocument(d)
	if err != nil {
		return nil, "", err
	}
	return text, DocumentSHA256(text), nil
}

// DocumentSHA256 is the hex SHA-256 of a document's text, as CanonicalDocument reports it.
func DocumentSHA256(text []byte) string {
	h := sha256.Sum256(text)
	return hex.EncodeToString(h[:])
}

// ShortSHA256 is the first twelve hex digits of a hash, enough for people to tell two apart.
func ShortSHA256(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}
