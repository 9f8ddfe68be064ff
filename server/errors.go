package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// ErrUnauthenticated is what an AuthFunc returns, or wraps, for a token it
// does not know: the server answers 401 {"message": "Unauthenticated."}
// with a WWW-Authenticate challenge.
var ErrUnauthenticated = errors.New("server: unauthenticated")

// ErrUnavailable is plannroauth.ErrUnavailable: a dependency (the database,
// say) is down, and the request may be retried. The server answers 503
// {"message": "Service Unavailable"}.
var ErrUnavailable = plannroauth.ErrUnavailable

// NotFound is the body of every 404 of an operation: another user's
// connection and an unknown or malformed UUID all answer it, so that the API
// never tells whether someone else's UUID exists. Return it as, for example,
// gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}.
var NotFound = gen.NotFoundJSONResponse{Body: gen.Error{Message: notFoundMessage}}

// notFoundMessage is the spec's message of a 404 of an operation.
var notFoundMessage = apierror.NotFound.Message

// StatusClientClosedRequest is the status a request is logged and counted
// with when its client went away before the answer: nginx's 499, which
// Prometheus's own API uses too. It is not the server's failure. WriteError
// still sends its 503: net/http ends the request's context alike when the
// client hangs up and when the http.Server's BaseContext is cancelled (on
// SIGTERM, say) under a client still waiting, who must not get the empty 200
// of an answer never written.
const StatusClientClosedRequest = 499

// WriteError writes err as the API's JSON error. It is the one place where an
// error becomes a status, whether an AuthFunc, a RateLimiter or an operation
// returned it, or the generated handlers' error hooks (give them WriteError;
// see Wrap):
//
//	ErrUnauthenticated                        401, with WWW-Authenticate
//	plannroauth.ErrNotFound                   404 {"message": "OAuth2 connection not found."}
//	plannroauth.ErrUnavailable, the
//	  request's time running out (WithTimeout),
//	  plannroauth.ErrCanceled of a context
//	  other than the request's                503 {"message": "Service Unavailable"}
//	anything else once the request's own
//	  context is cancelled (the client gone)  503, logged and counted as 499 at INFO
//	anything else                             500 {"message": "Server Error"}
//
// A status that the spec does not declare for the request's operation
// (plannroauth.ErrNotFound where it has no 404, say) is the implementation's
// bug: a 500 too. The cause of a 5xx goes to the request's log line, never to
// the client.
//
// The error stands in for the answer the implementation was composing,
// whose headers may be set already. Those that describe that answer are
// dropped, so that a stale Content-Length does not cut the JSON body short
// and no Location, Set-Cookie or ETag acts on a failure: Accept-Ranges,
// Content-Disposition, Content-Encoding, Content-Language, Content-Length,
// Content-Location, Content-Range, ETag, Expires, Last-Modified, Link,
// Location, Retry-After, Set-Cookie and Trailer (Content-Type is the
// error's; a 429's Retry-After, a 401's WWW-Authenticate and a 405's Allow
// are the error's own). Every other header stays: the server's own
// (X-Request-Id, Cache-Control, X-Content-Type-Options, X-RateLimit-*) and
// those of middleware in front of it.
//
// An error once the answer has begun (its status written, or a byte of its
// body, or a flush) can no longer be answered. It is the implementation's
// bug, as a panic then is: logged at ERROR and counted as a 500, with the
// error; the client gets the JSON 500 if the answer is held to be checked
// (WithResponseValidation), and otherwise a broken answer, the connection
// cut, never an error's body after the answer's start. With the client gone
// (a write that failed for it), it is logged and counted as
// StatusClientClosedRequest.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	rec := recorderOf(w)
	if a := answerOf(w); a != nil && a.begun() && rec != nil {
		breakOff(a, rec, r, err)
		return
	}
	var e *apierror.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, ErrUnauthenticated):
		e = apierror.Unauthenticated
	case errors.Is(err, plannroauth.ErrNotFound):
		e = apierror.NotFound
	case r.Context().Err() == context.Canceled:
		if rec != nil {
			rec.clientGone()
		}
		e = apierror.Unavailable
	case errors.Is(err, plannroauth.ErrUnavailable), errors.Is(err, context.DeadlineExceeded),
		// A context the request's is not: an errgroup's, a store's own. The
		// work was cut short and the client waits for its answer.
		errors.Is(err, plannroauth.ErrCanceled):
		e = apierror.Unavailable
	default:
		e = apierror.ServerError
	}
	if rec != nil && rec.operation != nil && !validation.Declares(rec.operation, e.Status) {
		err = fmt.Errorf("%w: %w", err, validation.Undeclared(rec.operation, e.Status))
		e = apierror.ServerError
	}
	h := w.Header()
	for _, k := range composedHeaders {
		delete(h, k)
	}
	var cause error
	if e.Status >= 500 && err != error(e) {
		cause = err
	}
	apierror.Write(w, r, e, cause)
}

// classMessage is the spec's message for an error of status that has no
// message of its own: x-messages.serverError from 500 on, badRequest below.
func classMessage(status int) string {
	if status >= http.StatusInternalServerError {
		return apispec.MessagesOf().ServerError
	}
	return apispec.MessagesOf().BadRequest
}

// breakOff ends the answer a that has begun, for err, which can no longer
// be answered: its status is gone, or held to be checked. With the client
// gone (a write that failed for it, most often), the request is logged and
// counted as StatusClientClosedRequest with err: its answer was not whole.
// Otherwise the failure is the implementation's bug, as a panic then is: the
// request is logged and counted as a 500 with err, and the answer comes to
// nothing (answer.fail).
func breakOff(a answer, rec *recorder, r *http.Request, err error) {
	if r.Context().Err() == context.Canceled {
		rec.status = StatusClientClosedRequest
		rec.NoteError(err)
		return
	}
	rec.NoteError(fmt.Errorf("after the answer began: %w", err))
	a.fail()
}

// composedHeaders are the headers of an answer that WriteError's error
// replaces, in canonical form.
var composedHeaders = []string{
	"Accept-Ranges", "Content-Disposition", "Content-Encoding", "Content-Language",
	"Content-Length", "Content-Location", "Content-Range", "Etag", "Expires",
	"Last-Modified", "Link", "Location", "Retry-After", "Set-Cookie", "Trailer",
}

// refuse answers the spec's 500 in place of an answer of status, which the
// request's operation does not declare, whoever wrote it: a response object
// of the operation, a middleware, Wrap's handler. What is written of that
// answer afterwards, its body, goes nowhere.
func (r *recorder) refuse(status int) {
	WriteError(r, r.req, validation.Undeclared(r.operation, status))
	r.refused = true
}
