// Package apierror is the one renderer of error responses. Every layer (routing,
// authentication, rate limiting, validation, parameter binding, handlers, panic
// recovery) describes a failure as an *Error and hands it to Write, so every error
// body has the API's JSON shape and no text/plain error leaves the server. The
// messages are the spec's (x-messages, through package apispec).
package apierror

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
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
	// rendered is the body as Write would encode it, kept by Prerender.
	rendered []byte
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// New returns an Error with a status and a message.
func New(status int, message string) *Error { return &Error{Status: status, Message: message} }

// Prerender encodes e's body once, for an answer that is the same for every
// request: Write then sends those bytes instead of encoding them again. Call
// it once e's Message and Fields are final: they must not change afterwards
// (Header may, as it is not in the body). It returns e.
func (e *Error) Prerender() *Error {
	e.rendered = e.Body()
	return e
}

// Body returns e's body as Write sends it.
func (e *Error) Body() []byte {
	if e.rendered != nil {
		return e.rendered
	}
	var b bytes.Buffer
	encode(&b, e)
	return b.Bytes()
}

// msgs are the spec's messages.
var msgs = apispec.MessagesOf()

// The answers that are the same for every request.
var (
	// Unauthenticated names the scheme the client should use (RFC 6750 section 3).
	Unauthenticated = (&Error{Status: http.StatusUnauthorized, Message: msgs.Unauthenticated,
		Header: http.Header{"Www-Authenticate": {`Bearer realm="api"`}}}).Prerender()
	NotFound    = New(http.StatusNotFound, msgs.NotFound).Prerender()
	Unavailable = New(http.StatusServiceUnavailable, msgs.Unavailable).Prerender()
	ServerError = New(http.StatusInternalServerError, msgs.ServerError).Prerender()
)

// MethodNotAllowed is the 405 of a path whose methods are allow, as the
// Allow header lists them.
func MethodNotAllowed(allow string) *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Message: apispec.Format(msgs.MethodNotAllowed, "methods", allow),
		Header: http.Header{"Allow": {allow}}}
}

// Validation returns a 422 whose message is the first failure, followed, when
// there are more, by their count (x-messages.validation.more). order names
// the fields in the order they failed; it must not be empty.
func Validation(fields map[string][]string, order []string) *Error {
	total := 0
	for _, msgs := range fields {
		total += len(msgs)
	}
	msg := fields[order[0]][0]
	if total > 1 {
		msg += " " + apispec.Plural(msgs.Validation["more"], total-1)
	}
	return &Error{Status: http.StatusUnprocessableEntity, Message: msg, Fields: fields}
}

// Write renders e as JSON; cause, if not nil, is the unexpected error behind
// a 5xx, which goes to the request's log line (see Noter) and never to the
// client.
func Write(w http.ResponseWriter, r *http.Request, e *Error, cause error) {
	if cause != nil {
		note(w, r, cause)
	}
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	h["Content-Type"] = jsonType
	w.WriteHeader(e.Status)
	// The client has gone if writing fails.
	if e.rendered != nil {
		_, _ = w.Write(e.rendered)
		return
	}
	encode(w, e)
}

// jsonType is the Content-Type of every error, one slice shared rather than
// one made per answer by Header.Set: no one writes into a header's slice.
var jsonType = []string{"application/json"}

// encode writes e's body to w: the one encoding of every error body, whether
// Write sends it at once or Prerender keeps it.
func encode(w io.Writer, e *Error) {
	body := struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors,omitempty"`
	}{e.Message, e.Fields}
	_ = json.NewEncoder(w).Encode(body)
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
