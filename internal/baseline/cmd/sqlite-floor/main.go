// Command sqlite-floor measures the floor of the durable path: the SQL of one
// PUT (the user by token hash on a reader, then the update's transaction on the
// one writer), run back to back on the same kind of file, with the same pragmas
// as package store, and nothing else: no HTTP, no validation, no store code on
// the hot path. scripts/bench-load.sh puts its rate beside plannr-server's with
// -db on a file. It is a yardstick, not part of the product.
//
// With synchronous=FULL in WAL mode every commit fsyncs the WAL, so this rate is
// bounded by the disk's fsyncs a second, as the server's is.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the driver package store uses

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/sqlite"
)

// The demo user's connection, which fixtures.Demo seeds.
const connUUID = "7b29add1-9028-4c1e-a87b-3c80a2e495fe"

func main() {
	path := flag.String("db", "", "SQLite file to create (or reuse) and write to")
	token := flag.String("demo-token", "plannr-demo-token", "token of the demo user")
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	workers := flag.Int("workers", 1, "concurrent PUTs, as wrk's connections (they queue on the one writer)")
	flag.Parse()
	if *path == "" {
		flag.Usage()
		os.Exit(2)
	}
	n, err := run(context.Background(), *path, *token, *duration, *workers)
	if err != nil {
		log.Fatal("sqlite-floor: ", err)
	}
	fmt.Printf("%d PUTs in %s: %.1f PUT/s\n", n, *duration, float64(n)/duration.Seconds())
}

func run(ctx context.Context, path, token string, d time.Duration, workers int) (int64, error) {
	// The schema and the row are the store's own.
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return 0, err
	}
	if err := st.Seed(ctx, *fixtures.Demo(token)); err != nil {
		return 0, err
	}
	if err := st.Close(); err != nil {
		return 0, err
	}

	// The pragmas of store's writerDSN and readerDSN.
	w, err := sql.Open("sqlite", dsn(path, url.Values{
		"_pragma": {"busy_timeout(5000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"},
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return 0, err
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn(path, url.Values{"_pragma": {"busy_timeout(5000)", "query_only(1)"}}))
	if err != nil {
		return 0, err
	}
	defer r.Close()
	r.SetMaxOpenConns(max(4, workers))
	r.SetMaxIdleConns(max(4, workers))
	byToken, err := r.PrepareContext(ctx, `SELECT id, token_hash, time_zone FROM users WHERE token_hash = ?`)
	if err != nil {
		return 0, err
	}
	hash := plannroauth.HashToken(token)
	loc, err := time.LoadLocation(fixtures.DefaultTimeZone) // the demo user's
	if err != nil {
		return 0, err
	}
	var labels atomic.Int64

	put := func() error {
		var (
			id       int64
			stored   []byte
			text     string // the columns scanned and dropped, as the store scans them
			nullable sql.NullString
		)
		if err := byToken.QueryRowContext(ctx, hash[:]).Scan(&id, &stored, &text); err != nil {
			return err
		}
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() // a no-op after Commit
		if err := tx.QueryRowContext(ctx, `SELECT time_zone FROM users WHERE id = ?`, id).Scan(&text); err != nil {
			return err
		}
		// A new label each time, as the load test sends: SQLite skips writing a
		// row that an UPDATE leaves as it was, and then has nothing to fsync.
		label := fmt.Sprintf("My Fundment Account %d", labels.Add(1))
		if _, err := tx.ExecContext(ctx, `UPDATE connections
			SET label = CASE WHEN ? THEN label ELSE ? END, updated_at = ?
			WHERE uuid = ? AND user_id = ? AND deleted_at IS NULL`,
			false, label, plannroauth.Stamp(time.Now(), loc, time.Time{}).Format(time.RFC3339Nano), connUUID, id); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT c.uuid, p.name, p.label, p.logo_url, p.authorization_url,
			c.label, c.created_at, c.updated_at, c.access_token_expires_at, c.refresh_token_expires_at
			FROM connections c JOIN providers p ON p.name = c.provider WHERE c.uuid = ?`, connUUID).
			Scan(&text, &text, &text, &text, &text, &nullable, &text, &text, &nullable, &nullable); err != nil {
			return err
		}
		return tx.Commit()
	}

	var (
		done     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	deadline := time.Now().Add(d)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := put(); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return done.Load(), firstErr
}

// dsn is a file: URI, as store builds it.
func dsn(path string, q url.Values) string {
	return (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
}
