package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"
)

// migrations[i] takes the schema from version i to i+1 (PRAGMA user_version). Only
// ever append: a database records how many it has applied.
var migrations = []string{
	`CREATE TABLE providers (
		name              TEXT PRIMARY KEY,
		label             TEXT NOT NULL,
		logo_url          TEXT NOT NULL,
		authorization_url TEXT NOT NULL
	) STRICT;

	CREATE TABLE users (
		id         INTEGER PRIMARY KEY,
		token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
		time_zone  TEXT NOT NULL
	) STRICT;

	CREATE TABLE connections (
		uuid                     TEXT PRIMARY KEY,
		user_id                  INTEGER NOT NULL REFERENCES users (id),
		provider                 TEXT NOT NULL REFERENCES providers (name),
		label                    TEXT,
		created_at               TEXT NOT NULL,
		updated_at               TEXT NOT NULL,
		-- created_at keeps the UTC offset it was written in, so its text does not
		-- sort chronologically across a clock change (01:30+01:00 is before
		-- 01:10+00:00); this fixed-width UTC copy does, and orders the lists.
		created_utc              TEXT NOT NULL,
		access_token_expires_at  TEXT,
		refresh_token_expires_at TEXT,
		-- A deleted connection stays as a tombstone, so that a Seed does not
		-- bring it back.
		deleted_at               TEXT
	) STRICT;

	CREATE INDEX connections_live_by_owner ON connections (user_id, created_utc)
		WHERE deleted_at IS NULL;`,
}

// migrate brings db to the latest schema. The transaction is IMMEDIATE (see
// writerDSN), so two processes opening one new file do not both create it.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program's %d", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no parameters; the value is an int of ours.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// busyTimeout is how long a statement waits for a lock another process holds
// before it fails with SQLITE_BUSY, which the store reports as ErrUnavailable.
// It is fixed, not each request's deadline: the writer runs a batch of several
// requests' writes under a context of its own (see writer.do), and a write
// with no deadline (the seed at start, -request-timeout 0) would wait on the
// other process for ever.
const busyTimeout = 5 * time.Second

func busyPragma(d time.Duration) string {
	return fmt.Sprintf("busy_timeout(%d)", d.Milliseconds())
}

// writerDSN configures every connection that writes. The pragmas go in the DSN so
// that a connection the pool reopens gets them too.
//
//   - journal_mode(WAL): readers neither block the writer nor wait for it.
//   - synchronous(FULL): every commit fsyncs the WAL before it returns, so an
//     acknowledged write survives a process crash and a power loss too (NORMAL,
//     the usual WAL setting, may lose the last commits on power loss).
//   - foreign_keys(1): SQLite leaves them off unless asked, per connection.
//   - _txlock=immediate: a write transaction takes the write lock at BEGIN, where
//     busy_timeout can wait for it, rather than at its first write, where SQLite
//     would fail with SQLITE_BUSY to avoid a deadlock.
func writerDSN(path string, busy time.Duration) string {
	return dsn(path, url.Values{
		"_pragma": {busyPragma(busy), "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"},
		"_txlock": {"immediate"},
	})
}

// readerDSN configures the read pool: query_only turns a write sent there by
// mistake into an error.
func readerDSN(path string, busy time.Duration) string {
	return dsn(path, url.Values{"_pragma": {busyPragma(busy), "query_only(1)"}})
}

// dsn is a file: URI, whose path SQLite percent-decodes, so that a file name
// holding '?' or '#' cannot be taken for parameters.
func dsn(path string, q url.Values) string {
	return (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
}
