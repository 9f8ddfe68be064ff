// Package postgreslimit is a rate limiter that the replicas of a server share
// through their PostgreSQL database, so that a caller gets Limit requests a
// window however a load balancer spreads them.
package postgreslimit

import (
	"context"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// FixedWindow has the semantics of server.FixedWindow (Laravel's throttle: a
// window that opens with a caller's first request and allows Limit requests),
// counted in the database by store.Postgres.CountRequest: one statement a
// request, exactly Limit allowed a window across all replicas, timed by the
// database's clock.
type FixedWindow struct {
	db     *store.Postgres
	limit  int
	window time.Duration
}

var _ server.RateLimiter = (*FixedWindow)(nil)

// New returns a FixedWindow of limit requests per window, which must both be
// positive, counted in db.
func New(db *store.Postgres, limit int, per time.Duration) *FixedWindow {
	if limit <= 0 || per <= 0 {
		panic("postgreslimit: New needs a positive limit and window")
	}
	return &FixedWindow{db: db, limit: limit, window: per}
}

// Allow implements server.RateLimiter. Its errors are the store's: one that
// wraps store.ErrUnavailable means the database cannot be reached.
func (l *FixedWindow) Allow(ctx context.Context, key string) (server.RateLimit, error) {
	opened, count, err := l.db.CountRequest(ctx, key, l.window, l.limit)
	if err != nil {
		return server.RateLimit{}, err
	}
	rl := server.RateLimit{Limit: l.limit, Reset: opened.Add(l.window)}
	if count <= l.limit {
		rl.Allowed, rl.Remaining = true, l.limit-count
	}
	return rl, nil
}
