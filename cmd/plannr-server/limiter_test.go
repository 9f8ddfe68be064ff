package main

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/plannr-toolkit/plannr-oauth/internal/store/postgres"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

// skewedDatabase returns the URL of a new database whose clock reads lag
// after the machine's (behind it when lag is negative), as a database server
// of its own would: a now() and a clock_timestamp() of its own, in a schema
// that its search_path puts before pg_catalog's, stand in for PostgreSQL's
// wherever the store's SQL reads the clock.
func skewedDatabase(t *testing.T, lag time.Duration) string {
	t.Helper()
	db := storetest.PostgresURL(t)
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	for _, sql := range []string{
		`CREATE SCHEMA skew`,
		fmt.Sprintf(`CREATE FUNCTION skew.now() RETURNS timestamptz LANGUAGE sql STABLE
			AS $$ SELECT pg_catalog.now() + interval '%d microseconds' $$`, lag.Microseconds()),
		fmt.Sprintf(`CREATE FUNCTION skew.clock_timestamp() RETURNS timestamptz LANGUAGE sql VOLATILE
			AS $$ SELECT pg_catalog.clock_timestamp() + interval '%d microseconds' $$`, lag.Microseconds()),
		`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = public, skew, pg_catalog', current_database()); END $$`,
	} {
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	return db
}

// TestSharedLimiterTellsTheDatabasesTime: the replicas' limiter hands the
// server the database's time of each count, by which the window is timed, so
// that Retry-After and X-RateLimit-Reset are measured from it rather than from
// the replica's clock, whichever way the two differ.
func TestSharedLimiterTellsTheDatabasesTime(t *testing.T) {
	storetest.RequirePostgres(t) // the test skips, rather than each of its cases
	const window = time.Minute
	for _, lag := range []time.Duration{-3 * time.Second, 3 * time.Second} {
		t.Run(fmt.Sprintf("database %v off", lag), func(t *testing.T) {
			pg, err := postgres.Open(t.Context(), skewedDatabase(t, lag))
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			l := sharedLimiter{db: pg, limit: 1, window: window}
			var opened time.Time
			for i, allowed := range []bool{true, false} {
				before := time.Now()
				rl, err := l.Allow(t.Context(), "alice")
				after := time.Now()
				if err != nil {
					t.Fatal(err)
				}
				if rl.Allowed != allowed {
					t.Errorf("request %d: allowed %v, want %v", i+1, rl.Allowed, allowed)
				}
				// PostgreSQL's time is to the microsecond, and read between before and after.
				if rl.Now.Before(before.Add(lag).Truncate(time.Microsecond)) || rl.Now.After(after.Add(lag)) {
					t.Errorf("request %d: Now %v, want the database's time, between %v and %v", i+1, rl.Now, before.Add(lag), after.Add(lag))
				}
				if i == 0 {
					opened = rl.Now // the first request opens the window
				}
				if !rl.Reset.Equal(opened.Add(window)) {
					t.Errorf("request %d: Reset %v, want the window's end by the database's clock, %v", i+1, rl.Reset, opened.Add(window))
				}
			}
		})
	}
}

// TestRetryAfterOnTheDatabasesClock: a client refused by the limiter that
// replicas share, which waits exactly Retry-After, is served, and
// X-RateLimit-Reset tells the same end, although the database's clock,
// which times the window, runs 3 s behind the replica's. (Measured on the
// replica's clock, Retry-After was 3 s short: that client got another 429.)
func TestRetryAfterOnTheDatabasesClock(t *testing.T) {
	const window = 4 * time.Second
	base, _, stop := startServer(t, config{db: skewedDatabase(t, -3*time.Second), fixtures: exampleFixtures, rateLimit: 1, rateWindow: window})
	defer stop()
	hc := &http.Client{Timeout: requestTimeout}
	get := func() (int, http.Header) {
		t.Helper()
		code, h, err := do(hc, http.MethodGet, base+connections, aliceToken, "")
		if err != nil {
			t.Fatal(err)
		}
		return code, h
	}
	// The first request opens a window; the next is refused, unless the
	// machine was so slow that the window had closed already.
	code, h := get()
	for i := 0; code != http.StatusTooManyRequests; i++ {
		if i == 5 {
			t.Fatalf("no 429 in 5 tries: the last answered %d", code)
		}
		code, h = get()
	}
	wait, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || wait < 1 || time.Duration(wait)*time.Second > window {
		t.Fatalf("Retry-After %q, want 1 to %v", h.Get("Retry-After"), window)
	}
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		t.Fatal(err)
	}
	// Reset is rounded up from the server's time, and Date down, as is Retry-After.
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err != nil || reset-date.Unix() < int64(wait) || reset-date.Unix() > int64(wait)+1 {
		t.Errorf("X-RateLimit-Reset %q is %d s after Date, want Retry-After (%d s) or a second more", h.Get("X-RateLimit-Reset"), reset-date.Unix(), wait)
	}
	time.Sleep(time.Duration(wait) * time.Second)
	if code, h := get(); code != http.StatusOK {
		t.Errorf("after waiting Retry-After (%d s): %d, Retry-After %s", wait, code, h.Get("Retry-After"))
	}
}
