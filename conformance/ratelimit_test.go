package conformance_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// The servers of this file are ours with another client of the first
// user's beside the kit, or a limiter that breaks a rule of the spec.

// spend sends n lists as the first user to next, as another client of the
// user's would, and returns the last status.
func spend(ctx context.Context, next http.Handler, n int) (status int) {
	for range n {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, listPath, nil)
		req.Header.Set("Authorization", "Bearer "+firstToken)
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, req)
		status = rec.Code
	}
	return status
}

// isFirstList reports whether r is the first user's list.
func isFirstList(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Path == listPath && r.Header.Get("Authorization") == "Bearer "+firstToken
}

// inStep spends n of the first user's budget before each of the first
// user's lists, as another client in step with the kit would.
func inStep(n int) wrapper {
	return func(next http.Handler, _ *plannrtest.Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isFirstList(r) {
				spend(r.Context(), next, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// concurrently starts, at the first user's fourth request, clients of the
// same user who spend its budget beside the kit, each in a loop with a
// pause, until they are refused (or the server is gone).
func concurrently(clients int, pause time.Duration) wrapper {
	return func(next http.Handler, _ *plannrtest.Server) http.Handler {
		var mu sync.Mutex
		seen := 0
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "Bearer "+firstToken {
				mu.Lock()
				if seen++; seen == 4 {
					for range clients {
						go func() {
							for spend(context.Background(), next, 1) == http.StatusOK {
								time.Sleep(pause)
							}
						}()
					}
				}
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	}
}

// slowAtTurnover holds the first user's nth request until the window of
// the server's rate limit (of window) has closed, then spends spent
// requests of the new window, as another client would, before it sends it
// on: the window turns over in the middle of the drive.
func slowAtTurnover(n int, window time.Duration, spent int) wrapper {
	return func(next http.Handler, _ *plannrtest.Server) http.Handler {
		var mu sync.Mutex
		seen := 0
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isFirstList(r) {
				mu.Lock()
				seen++
				if seen == n {
					time.Sleep(window + 100*time.Millisecond)
					spend(r.Context(), next, spent)
				}
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	}
}

// refusesAt answers the first user's request 429 once the server's
// X-RateLimit-Remaining after it would be at or below left, with the
// Retry-After of the window's X-RateLimit-Reset: a limiter that refuses
// left + 1 requests early.
func refusesAt(left int64) wrapper {
	return onAnswer(func(r *http.Request, a *answer) {
		n, err := strconv.ParseInt(a.header.Get("X-RateLimit-Remaining"), 10, 64)
		if err != nil || n > left || a.status == http.StatusTooManyRequests || r.Header.Get("Authorization") != "Bearer "+firstToken {
			return
		}
		reset, _ := strconv.ParseInt(a.header.Get("X-RateLimit-Reset"), 10, 64)
		at, err := http.ParseTime(a.header.Get("Date"))
		if err != nil {
			at = time.Now()
		}
		a.setError(http.StatusTooManyRequests, msgs.TooManyAttempts)
		a.header.Set("X-RateLimit-Remaining", "0")
		a.header.Set("Retry-After", strconv.FormatInt(min(max(1, reset-at.Unix()), int64(apispec.LimitsOf().RateWindow/time.Second)), 10))
	})
}

// neverRefuses is a limiter that counts but lets every request through:
// the server allows twice the spec's limit, and its headers say the
// spec's, counting down to 0 and staying there.
var neverRefuses = struct {
	opts []plannrtest.Option
	wrap wrapper
}{
	opts: append(users(), plannrtest.WithRateLimit(2*apispec.LimitsOf().RateLimit, time.Minute)),
	wrap: onAnswer(func(_ *http.Request, a *answer) {
		limit := int64(apispec.LimitsOf().RateLimit)
		if n, err := strconv.ParseInt(a.header.Get("X-RateLimit-Remaining"), 10, 64); err == nil {
			a.header.Set("X-RateLimit-Limit", strconv.FormatInt(limit, 10))
			a.header.Set("X-RateLimit-Remaining", strconv.FormatInt(max(0, n-limit), 10))
		}
	}),
}

// remainingUpAt adds up to X-RateLimit-Remaining from the first user's nth
// answer on, within the window and its X-RateLimit-Reset: a count that
// goes up without a new window.
func remainingUpAt(n int, up int64) wrapper {
	seen := 0
	limit := int64(apispec.LimitsOf().RateLimit)
	return onFirstUsersRemaining(func(_ *http.Request, a *answer, left int64) {
		if seen++; seen >= n {
			a.header.Set("X-RateLimit-Remaining", strconv.FormatInt(min(left+up, limit-1), 10))
		}
	})
}
