package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
)

// Identity is who made a request, as an AuthFunc found it.
type Identity struct {
	// ID names the caller for the rate limiter: requests with the same ID
	// share one budget. It must not be the token itself.
	ID string
	// Principal is the implementation's own value for the caller (its user
	// type, say), which operations read back with PrincipalFrom.
	Principal any
}

// AuthFunc maps a bearer token to the caller. For a token it does not know it
// returns ErrUnauthenticated (or an error wrapping it), which the server
// answers 401; any other error is answered as WriteError says (a 503 for
// ErrUnavailable, say). It is called before the body is read, and only with
// a token that plannroauth.ValidToken accepts.
type AuthFunc func(ctx context.Context, token string) (Identity, error)

// WithAuth sets how bearer tokens are authenticated. It is required: there
// is no default, and a nil f fails New.
func WithAuth(f AuthFunc) Option {
	return func(c *config) error {
		c.auth = f
		return nil
	}
}

// identityContext carries the caller in one allocation, where
// context.WithValue would take two: the context, and the Identity boxed in an
// any.
type identityContext struct {
	context.Context
	id Identity
}

type identityKey struct{}

// Value answers identityKey with the identityContext itself, which a pointer
// holds without boxing.
func (c *identityContext) Value(key any) any {
	if key == (identityKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func withIdentity(ctx context.Context, id Identity) context.Context {
	return &identityContext{Context: ctx, id: id}
}

// Caller returns the identity that authenticated the request of ctx.
// Operations read the caller from here and never look at the Authorization
// header again.
func Caller(ctx context.Context) (Identity, bool) {
	c, ok := ctx.Value(identityKey{}).(*identityContext)
	if !ok {
		return Identity{}, false
	}
	return c.id, true
}

// PrincipalFrom returns the Principal of the caller of ctx, if it is a T.
func PrincipalFrom[T any](ctx context.Context) (T, bool) {
	id, _ := Caller(ctx)
	p, ok := id.Principal.(T)
	return p, ok
}

// authenticated tells kin-openapi's security check whether the request was
// authenticated, which route did before it: the spec's security requirements
// are enforced all the same.
func authenticated(ctx context.Context) bool {
	_, ok := Caller(ctx)
	return ok
}

// authenticate returns the caller of r's bearer token. A request with more than
// one Authorization header is refused: a proxy that reads the last one would
// see someone else than the first, which net/http's Get returns.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (Identity, error) {
	values := r.Header["Authorization"]
	if len(values) != 1 {
		return Identity{}, apierror.Unauthenticated
	}
	token, ok := bearerToken(values[0])
	if !ok {
		return Identity{}, apierror.Unauthenticated
	}
	id, err := s.auth(ctx, token)
	if errors.Is(err, ErrUnauthenticated) {
		return Identity{}, apierror.Unauthenticated
	}
	return id, err
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header.
// The scheme is case-insensitive.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if !plannroauth.ValidToken(token) {
		return "", false
	}
	return token, true
}
