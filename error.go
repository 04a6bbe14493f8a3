package cns

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Error codes of the domain. Each edge translates them exactly once: server/ into Connect codes,
// worker/ into ack, retry or dead-letter, web/ into HTTP statuses.
const (
	EINVALID       = "invalid"         // the caller's input is wrong; retrying it unchanged fails again
	ENOTFOUND      = "not_found"       // the addressed entity does not exist (or belongs to another project)
	ECONFLICT      = "conflict"        // a concurrent request holds the same idempotency key, or state forbids it
	EUNAUTHORIZED  = "unauthenticated" // no credentials, or credentials that do not verify
	EFORBIDDEN     = "permission_denied"
	EEXHAUSTED     = "resource_exhausted" // backpressure or a quota; retry later
	EUNAVAILABLE   = "unavailable"        // a dependency (Redis, the store) is down; retry later
	EINTERNAL      = "internal"           // a bug or an unexpected failure; never the caller's fault
	EDEADLINE      = "deadline_exceeded"
	EFAILEDPRECOND = "failed_precondition"
)

// FieldViolation names one bad field of a request, in protojson's field path form (e.g. "edges[2].to").
type FieldViolation struct {
	Field       string
	Description string
}

// Error is the domain error: a machine-readable code, a message safe to show the caller, and for
// EINVALID the field violations. Messages never carry secrets or evidence text.
type Error struct {
	Code       string
	Message    string
	Violations []FieldViolation
	// RetryAfterSeconds hints a retry delay for EEXHAUSTED and EUNAVAILABLE (0 = no hint).
	RetryAfterSeconds int
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return fmt.Sprintf("cns %s: %s", e.Code, e.Message)
	}
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		parts = append(parts, v.Field+": "+v.Description)
	}
	return fmt.Sprintf("cns %s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other non-nil error
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return EDEADLINE
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the *Error's message, or a generic text for
// anything else so internal details never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Violations collects field violations while validating a request so every problem is reported at once.
type Violations []FieldViolation

// Add records one violation.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns an EINVALID *Error carrying all violations, or nil when there are none.
func (v Violations) Err(message string) error {
	if len(v) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: message, Violations: append([]FieldViolation(nil), v...)}
}
