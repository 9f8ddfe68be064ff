// Package ratelimit limits each user to N requests a window, the way Plannr
// (Laravel's throttle middleware) does: a fixed window that opens with the user's
// first request, X-RateLimit-* headers on every answer, and 429 with Retry-After
// past the limit.
package ratelimit

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/auth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
)

// Limiter counts requests per user. The zero value is not usable; call New.
type Limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	windows map[store.UserID]*window
}

type window struct {
	opened time.Time
	count  int
}

// New returns a limiter of limit requests per window for each user.
func New(limit int, per time.Duration) *Limiter {
	return &Limiter{limit: limit, window: per, now: time.Now, windows: map[store.UserID]*window{}}
}

// Allow counts one request of user and reports how many are left in the window,
// or, when none are, how long until the window closes.
func (l *Limiter) Allow(user store.UserID) (remaining int, retryAfter time.Duration, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[user]
	if w == nil {
		w = &window{}
		l.windows[user] = w
	}
	if now.Sub(w.opened) >= l.window {
		w.opened, w.count = now, 0
	}
	if w.count >= l.limit {
		return 0, w.opened.Add(l.window).Sub(now), false
	}
	w.count++
	return l.limit - w.count, 0, true
}

// The headers' keys in canonical form, which Header.Set would otherwise make
// anew on every call (X-RateLimit-Limit is not canonical: X-Ratelimit-Limit is).
var (
	limitKey     = http.CanonicalHeaderKey("X-RateLimit-Limit")
	remainingKey = http.CanonicalHeaderKey("X-RateLimit-Remaining")
)

// maxCached is the largest count of remaining requests whose header value is
// made once, in Middleware, rather than on each request.
const maxCached = 1000

// Middleware limits the user that auth.Middleware put in the context; it must
// run after it. Requests without a user are passed on untouched.
func (l *Limiter) Middleware(next http.Handler) http.Handler {
	// The header values are made here and shared by every answer, which is safe
	// because no one writes into a header's slice: Set and Del replace it, and
	// Add appends to a full one, which copies it.
	limit := []string{strconv.Itoa(l.limit)}
	remainingValues := make([][]string, min(l.limit, maxCached)+1)
	for n := range remainingValues {
		remainingValues[n] = []string{strconv.Itoa(n)}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := auth.UserFrom(r.Context())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		remaining, wait, ok := l.Allow(u.ID)
		h := w.Header()
		h[limitKey] = limit
		if remaining < len(remainingValues) {
			h[remainingKey] = remainingValues[remaining]
		} else {
			h[remainingKey] = []string{strconv.Itoa(remaining)}
		}
		if !ok {
			// Whole seconds, rounded up: waiting the advertised time always suffices.
			secs := int((wait + time.Second - 1) / time.Second)
			e := apierror.New(http.StatusTooManyRequests, "Too Many Attempts.")
			e.Header = http.Header{"Retry-After": {strconv.Itoa(max(secs, 1))}}
			apierror.Write(w, r, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}
