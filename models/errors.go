package models

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. Handlers map them to HTTP statuses and the command line to
// exit codes, so a store or resolver never needs to know about either.
const (
	EInvalid   = "invalid"   // the input is wrong; the message says what and where
	ENotFound  = "not_found" // the named entity does not exist
	EConflict  = "conflict"  // the state changed underneath the caller (stale revision, duplicate)
	EForbidden = "forbidden" // the actor may not do this
	EInternal  = "internal"  // anything else; the message is safe to show
)

// Error is a domain error: a code from the list above and a message meant for people.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns a domain error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the code of a wrapped *Error, EInvalid for Problems, and
// EInternal for everything else (and "" for nil).
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var ps Problems
	if errors.As(err, &ps) {
		return EInvalid
	}
	return EInternal
}
