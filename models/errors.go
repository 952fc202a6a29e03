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
	var ce *ConflictError
	if errors.As(err, &ce) {
		return EConflict
	}
	var ps Problems
	if errors.As(err, &ps) {
		return EInvalid
	}
	return EInternal
}

// Reasons a save conflicts (ConflictError.Reason).
const (
	// ConflictSettings: the entity's own settings changed after the writer loaded them, so
	// saving would overwrite that change. The writer must start again from the current
	// settings or re-apply its edits on top of them.
	ConflictSettings = "settings_changed"
	// ConflictRelated: something else that affects the entity's access (a server, a group, a
	// toolset, one of its teams or keys) changed after the writer's preview was computed, so the
	// preview no longer shows what the save would do. A fresh preview is enough.
	ConflictRelated = "related_changed"
	// ConflictRevision: the policy is no longer at the revision a whole-document write was
	// planned at (a saved plan), so the plan's diff no longer shows what applying it would do.
	// Changes lists what was committed since; a new plan is needed.
	ConflictRevision = "revision_changed"
)

// ConflictError is an EConflict (ErrorCode reports it as one) that says what moved under a
// stale write, so the caller can show it and offer the right way forward without reading the
// message.
type ConflictError struct {
	Reason string // ConflictSettings, ConflictRelated or ConflictRevision
	Kind   string // the entity written: KindOrganization, ... ("" for a whole document)
	Name   string
	// Since is the revision the write was based on (the settings' for ConflictSettings, the
	// preview's for ConflictRelated); Revision is the current one.
	Since, Revision int64
	// Changes are, for ConflictSettings, the entity's own audit events after Since, and for
	// ConflictRevision every audit event after Since (at most the latest few hundred: Omitted
	// counts the earlier ones), oldest first.
	Changes []AuditEvent
	Omitted int
	// Cause describes, for ConflictRelated, the first change found that affects the entity
	// ("team web was updated"); for ConflictRevision with no Changes, why the state is not the
	// planned one.
	Cause string
}

func (e *ConflictError) Error() string {
	if e.Reason == ConflictRevision {
		if n := len(e.Changes) + e.Omitted; n > 0 {
			return fmt.Sprintf("the policy changed since the plan was made (revision %d, now %d: %d change(s), the latest by %s); make a new plan",
				e.Since, e.Revision, n, e.Changes[len(e.Changes)-1].Actor)
		}
		return fmt.Sprintf("the policy is not the one the plan was made against (plan revision %d, now %d: %s); make a new plan",
			e.Since, e.Revision, e.Cause)
	}
	if e.Reason == ConflictSettings {
		who := "someone"
		if n := len(e.Changes); n > 0 {
			who = e.Changes[n-1].Actor
		}
		return fmt.Sprintf("%s %s was changed by %s after this page loaded its settings (revision %d, now %d); start from the current settings or apply your edits on top of them",
			e.Kind, e.Name, who, e.Since, e.Revision)
	}
	return fmt.Sprintf("the policy changed since this page was loaded (revision %d, now %d: %s); review the new preview and save again",
		e.Since, e.Revision, e.Cause)
}
