// Package apierror is the one renderer of error responses. Every layer (routing,
// authentication, rate limiting, validation, parameter binding, handlers, panic
// recovery) describes a failure as an *Error and hands it to Write, so every error
// body has the API's JSON shape and no text/plain error leaves the server.
package apierror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
)

// Error is a failure the client caused or must know about. Fields makes it a
// Laravel-style validation error (422).
type Error struct {
	Status  int
	Message string
	// Fields maps a field name to its failures, for a 422.
	Fields map[string][]string
	// Header is set on the response, e.g. Allow for a 405 or Retry-After for a 429.
	Header http.Header
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// New returns an Error with a status and a message.
func New(status int, message string) *Error { return &Error{Status: status, Message: message} }

// The bodies the spec fixes, word for word.
var (
	// Unauthenticated names the scheme the client should use (RFC 6750 section 3).
	Unauthenticated = &Error{Status: http.StatusUnauthorized, Message: "Unauthenticated.",
		Header: http.Header{"Www-Authenticate": {`Bearer realm="api"`}}}
	NotFound    = New(http.StatusNotFound, "OAuth2 connection not found.")
	Unavailable = New(http.StatusServiceUnavailable, "Service Unavailable")
)

// Validation returns a 422 whose message is the first failure, Laravel-style, with
// "(and N more errors)" when there are more.
func Validation(fields map[string][]string, order []string) *Error {
	total := 0
	for _, msgs := range fields {
		total += len(msgs)
	}
	msg := "The given data was invalid."
	if len(order) > 0 && len(fields[order[0]]) > 0 {
		msg = fields[order[0]][0]
	}
	switch total {
	case 0, 1:
	case 2:
		msg += " (and 1 more error)"
	default:
		msg += " (and " + strconv.Itoa(total-1) + " more errors)"
	}
	return &Error{Status: http.StatusUnprocessableEntity, Message: msg, Fields: fields}
}

// Write renders err as JSON. An *Error (anywhere in the chain) is written as it
// is; anything else is unexpected: the client sees a bare 500. The cause of a
// 5xx goes to the request's log line (see Noter).
func Write(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, context.DeadlineExceeded):
		// The request ran out of its time (server.WithTimeout) waiting on a
		// dependency: unavailable for now, not broken.
		e = Unavailable
	default:
		e = New(http.StatusInternalServerError, "Server Error")
	}
	if e.Status >= 500 && err != error(e) {
		note(w, r, err) // the cause, which the client does not see
	}
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	body := struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors,omitempty"`
	}{e.Message, e.Fields}
	_ = json.NewEncoder(w).Encode(body) // the client has gone if this fails
}

// Noter is a ResponseWriter that keeps an unexpected error for the request's
// one log line, so that the line with the request ID also says what went wrong.
type Noter interface {
	NoteError(error)
}

// note hands err to the first Noter among w and the writers it wraps, or, with
// none, logs it on its own.
func note(w http.ResponseWriter, r *http.Request, err error) {
	for {
		if n, ok := w.(Noter); ok {
			n.NoteError(err)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			slog.ErrorContext(r.Context(), "unexpected error", "method", r.Method, "err", err)
			return
		}
		w = u.Unwrap()
	}
}
