// Package ratelimit limits each user to N requests a window, the way Plannr
// (Laravel's throttle middleware) does: X-RateLimit-* headers on every answer,
// and 429 with Retry-After and X-RateLimit-Reset past the limit.
package ratelimit

import (
	"net/http"
	"strconv"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/auth"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// The headers' keys in canonical form, which Header.Set would otherwise make
// anew on every call (X-RateLimit-Limit is not canonical: X-Ratelimit-Limit is).
var (
	limitKey     = http.CanonicalHeaderKey("X-RateLimit-Limit")
	remainingKey = http.CanonicalHeaderKey("X-RateLimit-Remaining")
	resetKey     = http.CanonicalHeaderKey("X-RateLimit-Reset")
)

// maxCached is the largest count of remaining requests whose header value is
// made once rather than on each request.
const maxCached = 1000

// cachedValues holds the decimal values 0..maxCached as shared header slices.
// Sharing is safe because no one writes into a header's slice: Set and Del
// replace it, and Add appends to a full one, which copies it.
var cachedValues = func() [][]string {
	v := make([][]string, maxCached+1)
	for n := range v {
		v[n] = []string{strconv.Itoa(n)}
	}
	return v
}()

func headerValue(n int) []string {
	if n >= 0 && n < len(cachedValues) {
		return cachedValues[n]
	}
	return []string{strconv.Itoa(n)}
}

// Middleware limits the user that auth.Middleware put in the context; it must
// run after it. Requests without a user are passed on untouched.
func Middleware(l server.RateLimiter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := auth.UserFrom(r.Context())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		rl, err := l.Allow(r.Context(), strconv.FormatInt(int64(u.ID), 10))
		if err != nil {
			apierror.Write(w, r, err)
			return
		}
		h := w.Header()
		h[limitKey] = headerValue(rl.Limit)
		h[remainingKey] = headerValue(rl.Remaining)
		h[resetKey] = []string{strconv.FormatInt(rl.Reset.Unix(), 10)}
		if !rl.Allowed {
			// Whole seconds, rounded up: waiting the advertised time always suffices.
			wait := time.Until(rl.Reset)
			secs := int((wait + time.Second - 1) / time.Second)
			e := apierror.New(http.StatusTooManyRequests, "Too Many Attempts.")
			e.Header = http.Header{"Retry-After": {strconv.Itoa(max(secs, 1))}}
			apierror.Write(w, r, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}
