package models

import "testing"

// The stored hash is hex SHA-256 (the FIPS 180-2 test vector): secrets issued by an earlier
// version must still authenticate, so the encoding may never change.
func TestHashSecret(t *testing.T) {
	if got, want := HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashSecret(abc) = %s, want %s", got, want)
	}
}
