package server

import (
	"context"
	"sync"
	"time"
)

// RateLimiter counts the requests of each caller. The server asks it once per
// authenticated request, with the caller's Identity.ID as key, and answers 429
// when it refuses. Implementations must be safe for concurrent use.
type RateLimiter interface {
	// Allow counts one request of key and returns the state of its window
	// after that request. An error is a failure of the limiter itself, which
	// the server answers with a 500.
	Allow(ctx context.Context, key string) (RateLimit, error)
}

// RateLimit is the state of one caller's window, as the X-RateLimit-* headers
// tell it.
type RateLimit struct {
	// Allowed reports whether the request is within the limit.
	Allowed bool
	// Limit is how many requests a window allows.
	Limit int
	// Remaining is how many requests are left in the window (0 when refused).
	Remaining int
	// Reset is when the window closes and the full Limit is available again.
	Reset time.Time
}

// FixedWindow is the in-memory RateLimiter of Plannr (Laravel's throttle
// middleware): a window of Window that opens with a caller's first request
// and allows Limit requests. Each process counts on its own, so replicas
// behind a load balancer each allow Limit; share a limiter between them
// instead (see RateLimiter).
type FixedWindow struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	opened time.Time
	count  int
}

// NewFixedWindow returns a FixedWindow of limit requests per window, which
// must both be positive.
func NewFixedWindow(limit int, per time.Duration) *FixedWindow {
	if limit <= 0 || per <= 0 {
		panic("server: NewFixedWindow needs a positive limit and window")
	}
	return &FixedWindow{limit: limit, window: per, now: time.Now, windows: map[string]*window{}}
}

// Allow implements RateLimiter; it never fails.
func (l *FixedWindow) Allow(_ context.Context, key string) (RateLimit, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	if w == nil {
		w = &window{}
		l.windows[key] = w
	}
	if now.Sub(w.opened) >= l.window {
		w.opened, w.count = now, 0
	}
	rl := RateLimit{Limit: l.limit, Reset: w.opened.Add(l.window)}
	if w.count >= l.limit {
		return rl, nil
	}
	w.count++
	rl.Allowed, rl.Remaining = true, l.limit-w.count
	return rl, nil
}
