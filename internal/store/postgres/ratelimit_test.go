package postgres_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/plannr-toolkit/plannr-oauth/internal/store/postgres"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

// replicas opens n stores on one new database, as n server processes would,
// each with a pool of conns connections.
func replicas(t testing.TB, n, conns int) []*postgres.Store {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", fmt.Sprint(conns))
	u.RawQuery = q.Encode()
	out := make([]*postgres.Store, n)
	for i := range out {
		s, err := postgres.Open(t.Context(), u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

// open opens a store on a new database, closed when the test ends, and
// returns it with the database's URL.
func open(t *testing.T) (*postgres.Store, string) {
	t.Helper()
	url := storetest.PostgresURL(t)
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, url
}

// connect opens a connection of its own to the database at url, closed when
// the test ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) }) // t.Context() is done by then
	return conn
}

// TestExactlyLimitAcrossReplicas counts each user's requests at once, spread
// over three replicas and all their connections: each count from 1 to limit
// comes once, in one window, and the rest stop at limit+1.
func TestExactlyLimitAcrossReplicas(t *testing.T) {
	const (
		limit    = 25
		users    = 3
		requests = 4 * limit // per user
	)
	dbs := replicas(t, 3, 8)
	var (
		mu     sync.Mutex
		counts = map[string][]postgres.Count{}
		wg     sync.WaitGroup
	)
	for i := range users * requests {
		wg.Go(func() {
			key := fmt.Sprint("user-", i%users)
			c, err := dbs[i%len(dbs)].CountRequest(t.Context(), key, time.Minute, limit)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			counts[key] = append(counts[key], c)
			mu.Unlock()
		})
	}
	wg.Wait()
	for key, cs := range counts {
		var allowed []int
		for _, c := range cs {
			if !c.Opened.Equal(cs[0].Opened) {
				t.Errorf("%s: %+v, not in the window of %+v", key, c, cs[0])
			}
			switch {
			case c.N <= limit:
				allowed = append(allowed, c.N)
			case c.N != limit+1:
				t.Errorf("%s: counted %d, past limit+1", key, c.N)
			}
		}
		slices.Sort(allowed)
		want := make([]int, limit) // 1 .. limit, each once
		for i := range want {
			want[i] = i + 1
		}
		if !slices.Equal(allowed, want) {
			t.Errorf("%s: %d of %d requests counted within the limit as %v, want exactly %v", key, len(allowed), len(cs), allowed, want)
		}
	}
}

// TestWindowOpensAtFirstRequest follows one caller through a full window into
// the next, which opens at the first request after the last one closed, not
// on a clock boundary, as Laravel's throttle does; every count says the
// database's time, from which the window's end is measured.
func TestWindowOpensAtFirstRequest(t *testing.T) {
	const window = time.Second
	db := replicas(t, 1, 2)[0]
	count := func(key string) postgres.Count {
		t.Helper()
		c, err := db.CountRequest(t.Context(), key, window, 2)
		if err != nil {
			t.Fatal(err)
		}
		if c.Now.Before(c.Opened) || c.Now.Sub(c.Opened) >= window+time.Second {
			t.Errorf("%s: counted at %v in a window opened at %v", key, c.Now, c.Opened)
		}
		return c
	}
	first := count("alice")
	if !first.Now.Equal(first.Opened) || first.N != 1 {
		t.Errorf("the first request: %+v, want a window opened by it", first)
	}
	for i, s := range []struct {
		key string
		n   int
	}{{"alice", 2}, {"alice", 3}, {"alice", 3}, {"bob", 1}} {
		c := count(s.key)
		if c.N != s.n || s.key == "alice" && !c.Opened.Equal(first.Opened) {
			t.Errorf("step %d (%s): %+v, want count %d in the window opened at %v", i, s.key, c, s.n, first.Opened)
		}
	}
	time.Sleep(window + 50*time.Millisecond)
	if next := count("alice"); next.N != 1 || !next.Opened.After(first.Opened.Add(window)) {
		t.Errorf("after the window: %+v, want a new window opened now", next)
	}
}

// TestCountTimedWhenItHoldsTheRow: a count that waits for its caller's row,
// which another count holds and opens a window in meanwhile, is timed when it
// counts, not when it began: its Now is never before the window opened, nor
// is more than the window left of it. (Timed by now(), its transaction's
// start, such a count told a client to wait 217 ms of a 50 ms window.)
func TestCountTimedWhenItHoldsTheRow(t *testing.T) {
	const (
		key    = "alice"
		window = time.Second
	)
	db, url := open(t)
	holder, watcher := connect(t, url), connect(t, url)
	if _, err := db.CountRequest(t.Context(), key, window, 10); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), `SELECT FROM rate_limits WHERE key = $1 FOR UPDATE`, key); err != nil {
		t.Fatal(err)
	}

	type counted struct {
		postgres.Count
		err error
	}
	done := make(chan counted, 1)
	go func() {
		c, err := db.CountRequest(t.Context(), key, window, 10)
		done <- counted{c, err}
	}()
	// pg_stat_activity shows the count waiting for the row's lock.
	for waiting := false; !waiting; {
		select {
		case c := <-done:
			t.Fatalf("counted without waiting for the row: %+v", c)
		default:
		}
		if err := watcher.QueryRow(t.Context(), `SELECT EXISTS (SELECT FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	// The holder opens a window now, after the waiting count began, as a
	// count that began later but took the row first does.
	if _, err := tx.Exec(t.Context(), `UPDATE rate_limits SET window_start = clock_timestamp(), hits = 1 WHERE key = $1`, key); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := <-done
	if c.err != nil {
		t.Fatal(c.err)
	}
	if left := c.Opened.Add(window).Sub(c.Now); c.Now.Before(c.Opened) || left > window {
		t.Errorf("counted at %v in a window opened at %v: %v left of %v", c.Now, c.Opened, left, window)
	}
}

// TestLimitsPastInt32 counts under limits that the server's -rate-limit takes
// (any Go int) but a 32-bit integer does not hold, or holds only without its
// limit+1: each counts as a small limit does, from 1, and stops at limit+1. (A
// counter of integer answered "integer out of range", or failed to encode the
// limit, to every request.) The window is filled by hand, not by requests.
func TestLimitsPastInt32(t *testing.T) {
	db, url := open(t)
	conn := connect(t, url)
	for _, tt := range []struct {
		limit int
		full  bool // whether to fill the window, which takes limit+1 to fit
	}{
		{limit: math.MaxInt32, full: true},
		{limit: 3_000_000_000, full: true},
		{limit: math.MaxInt64},
	} {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			key := fmt.Sprint("user-", tt.limit)
			count := func(want int) {
				t.Helper()
				c, err := db.CountRequest(t.Context(), key, time.Minute, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				if c.N != want {
					t.Errorf("counted %d, want %d", c.N, want)
				}
			}
			count(1)
			count(2)
			if !tt.full {
				return
			}
			if _, err := conn.Exec(t.Context(), `UPDATE rate_limits SET hits = $2 WHERE key = $1`, key, tt.limit-1); err != nil {
				t.Fatal(err)
			}
			count(tt.limit)
			count(tt.limit + 1)
			count(tt.limit + 1)
		})
	}
}

// TestCountsAreUnlogged: the counts are written without the WAL (migration
// 00003), so that counting a request does not wait for a flush to disk.
func TestCountsAreUnlogged(t *testing.T) {
	_, url := open(t) // the store migrates the database
	conn := connect(t, url)
	var persistence string
	if err := conn.QueryRow(t.Context(), `SELECT relpersistence::text FROM pg_class WHERE oid = 'rate_limits'::regclass`).Scan(&persistence); err != nil {
		t.Fatal(err)
	}
	if persistence != "u" {
		t.Errorf("rate_limits has persistence %q, want u (unlogged)", persistence)
	}
}

// BenchmarkCountRequest is what the shared rate limit costs a request: one
// statement, a round trip to the database, each user's count on a row of its
// own.
func BenchmarkCountRequest(b *testing.B) {
	db := replicas(b, 1, 4)[0]
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		key := fmt.Sprint("user-", n.Add(1))
		for pb.Next() {
			if _, err := db.CountRequest(b.Context(), key, time.Minute, 1<<30); err != nil {
				b.Fatal(err)
			}
		}
	})
}
