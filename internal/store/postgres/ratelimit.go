package postgres

import (
	"context"
	"time"
)

// countRequest opens key's window when it has none or the last one is over,
// and otherwise counts the request in the current one. The count stops at
// $3+1, so that a caller hammering a full window cannot overflow it. The count
// and the limit are bigints, and the limit is never added to, so that any
// limit a Go int holds counts. The window is given in microseconds,
// PostgreSQL's resolution, and timed by the database's clock, the one clock
// that all replicas share, read once a count and only once it holds the row:
// clock_timestamp() in the update, not now(). now() is the transaction's
// start, before any wait for the row's lock, and so may be before the window
// that the count it waited for opened.
const countRequest = `INSERT INTO rate_limits AS r (key, window_start, hits, counted_at)
SELECT $1, t, 1, t FROM clock_timestamp() AS t
ON CONFLICT (key) DO UPDATE SET (window_start, hits, counted_at) = (
	SELECT CASE WHEN r.window_start + $2 * interval '1 microsecond' <= t THEN t ELSE r.window_start END,
		CASE WHEN r.window_start + $2 * interval '1 microsecond' <= t THEN 1 ELSE least(r.hits, $3::bigint) + 1 END,
		t
	FROM clock_timestamp() AS t)
RETURNING window_start, hits, counted_at`

// Count is a request counted in its rate-limit window, by the database's
// clock.
type Count struct {
	// Opened is when the window opened.
	Opened time.Time
	// N is how many requests the window has counted, this one included, up
	// to the limit + 1.
	N int
	// Now is the database's time of the count: the window's end is to be
	// measured from it, not from a replica's clock, which may differ.
	Now time.Time
}

// CountRequest counts a request of key in its rate-limit window of length
// window (Laravel's fixed window, which opens at the first request). It is one
// statement on a row that PostgreSQL locks, so requests counted at once on
// any replica are counted one after the other; plannr-server turns it into
// the server kit's RateLimiter.
func (p *Store) CountRequest(ctx context.Context, key string, window time.Duration, limit int) (Count, error) {
	var c Count
	if err := p.pool.QueryRow(ctx, countRequest, key, window.Microseconds(), limit).Scan(&c.Opened, &c.N, &c.Now); err != nil {
		return Count{}, pgError("count request", err)
	}
	return c, nil
}
