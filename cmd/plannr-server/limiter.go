package main

import (
	"context"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/store/postgres"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// sharedLimiter is the server kit's RateLimiter of the replicas that share a
// PostgreSQL database: Laravel's fixed window of limit requests, counted in
// the database (postgres.Store.CountRequest), so that a caller gets limit a
// window however a load balancer spreads its requests, and timed by the
// database's clock, the one clock all replicas share.
type sharedLimiter struct {
	db     *postgres.Store
	limit  int
	window time.Duration
}

// Allow implements server.RateLimiter. Its errors are the store's: one that
// wraps plannroauth.ErrUnavailable means the database cannot be reached.
func (l sharedLimiter) Allow(ctx context.Context, key string) (server.RateLimit, error) {
	c, err := l.db.CountRequest(ctx, key, l.window, l.limit)
	if err != nil {
		return server.RateLimit{}, err
	}
	rl := server.RateLimit{Limit: l.limit, Reset: c.Opened.Add(l.window), Now: c.Now}
	if c.N <= l.limit {
		rl.Allowed, rl.Remaining = true, l.limit-c.N
	}
	return rl, nil
}
