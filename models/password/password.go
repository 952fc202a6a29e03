// Package password hashes and checks console passwords with argon2id (RFC 9106), through
// github.com/alexedwards/argon2id, which stores the parameters and salt in the PHC string so
// they can be raised later without invalidating stored hashes.
package password

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// params are OWASP's first recommendation for argon2id: 19 MiB, two passes, one lane. Memory is
// what makes guessing expensive on GPUs, but every sign-in costs it on the server too, so
// concurrent hashing is bounded (sem) rather than the memory raised.
var params = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// sem bounds the hashes computed at once: a burst of sign-ins (or an attacker's) costs at most
// four times 19 MiB and two cores' worth of waiting, never an unbounded pile.
var sem = make(chan struct{}, 4)

// MinLength and MaxLength bound a new password. The upper bound keeps a megabyte "password"
// from costing a megabyte of hashing; 256 is more than any passphrase.
const (
	MinLength = 12
	MaxLength = 256
)

// Check refuses a new password that is too short or too long, saying which.
func Check(pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinLength:
		return fmt.Errorf("the password must have at least %d characters, not %d", MinLength, n)
	case len(pw) > MaxLength:
		return fmt.Errorf("the password must have at most %d bytes", MaxLength)
	}
	return nil
}

// Hash returns the argon2id PHC string of pw.
func Hash(ctx context.Context, pw string) (string, error) {
	if err := acquire(ctx); err != nil {
		return "", err
	}
	defer release()
	return argon2id.CreateHash(pw, params)
}

// dummy is a hash of nothing anyone can type, compared against when the user does not exist or
// has no password, so a wrong username takes as long as a wrong password.
var dummy = func() string {
	h, err := argon2id.CreateHash(Generate(), params)
	if err != nil {
		panic(err)
	}
	return h
}()

// Verify reports whether pw matches hash. An empty hash (a user without a password, or no
// user) never matches, after the same work as a real comparison.
func Verify(ctx context.Context, pw, hash string) (bool, error) {
	if len(pw) > MaxLength {
		return false, nil
	}
	if err := acquire(ctx); err != nil {
		return false, err
	}
	defer release()
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(pw, dummy)
		return false, nil
	}
	return argon2id.ComparePasswordAndHash(pw, hash)
}

func acquire(ctx context.Context) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func release() { <-sem }

// Generate returns a random password of 128 bits in 26 lower-case letters and digits (the first
// admin's, printed once), grouped by dashes so a person can copy it by eye.
func Generate() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	s := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return s[:6] + "-" + s[6:12] + "-" + s[12:18] + "-" + s[18:]
}
