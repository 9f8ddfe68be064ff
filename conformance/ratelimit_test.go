package conformance_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

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
