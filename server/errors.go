package server

import (
	"context"
	"errors"
	"net/http"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
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
// Prometheus's own API uses too. Nothing is sent, as no one is there to read
// it, and it is not the server's failure.
const StatusClientClosedRequest = 499

// WriteError writes err as the API's JSON error. It is the one place where an
// error becomes a status, whether an AuthFunc, a RateLimiter or an operation
// returned it, or the generated handlers' error hooks (give them WriteError;
// see Wrap):
//
//	ErrUnauthenticated                        401, with WWW-Authenticate
//	plannroauth.ErrNotFound                   404 {"message": "OAuth2 connection not found."}
//	plannroauth.ErrUnavailable, or the
//	  request's time running out (WithTimeout) 503 {"message": "Service Unavailable"}
//	the client gone (plannroauth.ErrCanceled) 499, logged at INFO, nothing sent
//	anything else                             500 {"message": "Server Error"}
//
// The cause of a 5xx goes to the request's log line, never to the client.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *apierror.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, ErrUnauthenticated):
		e = apierror.Unauthenticated
	case errors.Is(err, plannroauth.ErrNotFound):
		e = apierror.NotFound
	case errors.Is(err, plannroauth.ErrCanceled) || r.Context().Err() == context.Canceled:
		clientGone(w)
		return
	case errors.Is(err, plannroauth.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		e = apierror.Unavailable
	default:
		e = apierror.ServerError
	}
	var cause error
	if e.Status >= 500 && err != error(e) {
		cause = err
	}
	apierror.Write(w, r, e, cause)
}

// goner is a ResponseWriter of the server's own that records a request whose
// client went away (observe's recorder, the response check's capture).
type goner interface{ clientGone() }

// clientGone tells every goner among w and the writers it wraps that the
// client went away.
func clientGone(w http.ResponseWriter) {
	for {
		if g, ok := w.(goner); ok {
			g.clientGone()
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
