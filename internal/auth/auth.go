// Package auth authenticates bearer tokens (RFC 6750) against the store and hands
// the user to the rest of the request through its context.
package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
)

type userKey struct{}

// userContext carries the authenticated user in one allocation, where
// context.WithValue would take two: the context, and the User boxed in an any.
type userContext struct {
	context.Context
	user store.User
}

// Value answers userKey with the userContext itself, which a pointer holds
// without boxing.
func (c *userContext) Value(key any) any {
	if key == (userKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// WithUser returns a context that carries the authenticated user.
func WithUser(ctx context.Context, u store.User) context.Context {
	return &userContext{Context: ctx, user: u}
}

// UserFrom returns the user that authenticated the request, if any. Handlers read
// the caller from here and never look at the Authorization header again.
func UserFrom(ctx context.Context) (store.User, bool) {
	c, ok := ctx.Value(userKey{}).(*userContext)
	if !ok {
		return store.User{}, false
	}
	return c.user, true
}

// Middleware answers 401 to a request without a valid bearer token before
// anything else looks at it (its body included), and otherwise passes it on with
// the user in its context.
func Middleware(users store.Store, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := BearerToken(r.Header.Get("Authorization"))
		if !ok {
			unauthenticated(w, r)
			return
		}
		u, err := users.UserByToken(r.Context(), store.HashToken(token))
		if errors.Is(err, store.ErrNotFound) {
			unauthenticated(w, r)
			return
		}
		if err != nil {
			apierror.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), u)))
	})
}

func unauthenticated(w http.ResponseWriter, r *http.Request) {
	// RFC 6750 section 3: a 401 names the scheme the client should use.
	w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
	apierror.Write(w, r, apierror.Unauthenticated)
}

// BearerToken extracts the token of an "Authorization: Bearer <token>" header. The
// scheme is case-insensitive and the token must be an RFC 6750 b64token.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if !isB64Token(token) {
		return "", false
	}
	return token, true
}

// isB64Token reports whether s matches 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
