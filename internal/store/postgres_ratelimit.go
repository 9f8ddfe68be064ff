package store

import (
	"context"
	"time"
)

// countRequest opens key's window when it has none or the last one is over,
// and otherwise counts the request in the current one. The count stops at
// $3+1, so that a caller hammering a full window cannot overflow it. The window
// is given in microseconds, PostgreSQL's resolution, and timed by now(), the
// database's clock, the one clock that all replicas share.
const countRequest = `INSERT INTO rate_limits AS r (key, window_start, hits) VALUES ($1, now(), 1)
ON CONFLICT (key) DO UPDATE SET
	window_start = CASE WHEN r.window_start + $2 * interval '1 microsecond' <= now() THEN now() ELSE r.window_start END,
	hits = CASE WHEN r.window_start + $2 * interval '1 microsecond' <= now() THEN 1 ELSE least(r.hits + 1, $3 + 1) END
RETURNING window_start, hits`

// CountRequest counts a request of key in its rate-limit window of length
// window (Laravel's fixed window, which opens at the first request) and returns
// when that window opened and how many requests it has counted, this one
// included, up to limit+1. It is one statement on a row that PostgreSQL locks,
// so requests counted at once on any replica are counted one after the other.
// Package postgreslimit turns it into a server.RateLimiter.
func (p *Postgres) CountRequest(ctx context.Context, key string, window time.Duration, limit int) (opened time.Time, count int, err error) {
	if err := p.pool.QueryRow(ctx, countRequest, key, window.Microseconds(), limit).Scan(&opened, &count); err != nil {
		return time.Time{}, 0, pgError("count request", err)
	}
	return opened, count, nil
}
