package server

import (
	"net/http"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
)

// Errors with a meaning of their own to WriteError, and so to the server when
// an AuthFunc, a RateLimiter or an operation returns one (or an error
// wrapping one).
var (
	// ErrUnauthenticated is answered 401 {"message": "Unauthenticated."}.
	ErrUnauthenticated error = apierror.Unauthenticated
	// ErrUnavailable is answered 503 {"message": "Service Unavailable"}: a
	// dependency (the database, say) is down, and the request may be retried.
	ErrUnavailable error = apierror.Unavailable
)

// NotFound is the body of every 404 of an operation: another user's
// connection and an unknown or malformed UUID all answer it, so that the API
// never tells whether someone else's UUID exists. Return it as, for example,
// gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}.
var NotFound = gen.NotFoundJSONResponse{Body: gen.Error{Message: apierror.NotFound.Message}}

// WriteError writes err as the API's JSON error: ErrUnauthenticated and
// ErrUnavailable as above, and anything else as a bare 500 whose cause goes
// to the request's log line. Give it to the generated handlers' error hooks
// (see Wrap) so that no text/plain error leaves them.
func WriteError(w http.ResponseWriter, r *http.Request, err error) { apierror.Write(w, r, err) }
