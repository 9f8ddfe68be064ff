// Package postgres is a store.Store in a PostgreSQL database (pgx), which
// several server processes (replicas) share, and the count of requests that
// lets them share one rate limit (CountRequest).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
)

// Store is a store.Store in a PostgreSQL database, which several server
// processes (replicas) can share: every write is one transaction that the
// database serializes, so what SQLite gets from its single writer, PostgreSQL
// gets from row locks. The schema and its semantics are SQLite's (package
// sqlite's schema.go).
type Store struct {
	pool    *pgxpool.Pool
	zones   store.Zones
	applied []string
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://user:password@host:port/db?...)
// and brings its schema up to date under an advisory lock (see migrate).
// The URL's query takes libpq's parameters and pgxpool's, among them
// pool_max_conns, the most connections this process opens (default: 4, or the
// number of CPUs if more), and connect_timeout (seconds). The scheme may be
// in any case (IsURL).
func Open(ctx context.Context, url string) (*Store, error) {
	url, _ = lowerScheme(url)
	if unencodedAt(url) {
		return nil, errors.New("store: PostgreSQL URL: its user or password holds an @: percent-encode it as %40")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL URL: %w", err) // pgx leaves the password out
	}
	// pgx sends and reads text as UTF-8 whatever the connection's
	// client_encoding, which is the database's unless set: in a LATIN1
	// database a label's bytes were taken for LATIN1 characters.
	cfg.ConnConfig.RuntimeParams["client_encoding"] = "UTF8"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, pgError("open", err)
	}
	if err := checkEncoding(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	p := &Store{pool: pool}
	if p.applied, err = migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, pgError("migrate", err)
	}
	return p, nil
}

// checkEncoding refuses a database whose text cannot hold every label the
// API takes: one in an encoding other than UTF8, which has no emoji (LATIN1),
// or not every byte of UTF-8 (WIN1252). SQL_ASCII keeps the bytes it is
// given, and so every label.
func checkEncoding(ctx context.Context, pool *pgxpool.Pool) error {
	var enc string
	if err := pool.QueryRow(ctx, `SHOW server_encoding`).Scan(&enc); err != nil {
		return pgError("open", err)
	}
	if enc != "UTF8" && enc != "SQL_ASCII" {
		return fmt.Errorf("store: the database's encoding is %s, which cannot hold every label: create it with ENCODING 'UTF8'", enc)
	}
	return nil
}

// IsURL reports whether s is a postgres:// or postgresql:// URL, its scheme
// in any case, as RFC 3986 compares schemes. pgx takes only the lower-case
// ones, as libpq does, and reads any other string as key=value settings.
func IsURL(s string) bool {
	_, ok := lowerScheme(s)
	return ok
}

// lowerScheme is s with its scheme in lower case, if IsURL.
func lowerScheme(s string) (string, bool) {
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			return scheme + s[len(scheme):], true
		}
	}
	return s, false
}

// unencodedAt reports whether url is a URL whose authority has more than one
// @. pgx cuts it at the first and takes the rest of the password for the
// host, which its errors then print.
func unencodedAt(url string) bool {
	_, rest, ok := strings.Cut(url, "://")
	if !ok {
		return false // libpq's key=value form
	}
	authority, _, _ := strings.Cut(rest, "/")
	authority, _, _ = strings.Cut(authority, "?")
	return strings.Count(authority, "@") > 1
}

// Migrated lists the migrations that Open applied, by file name: none
// when the schema was up to date already.
func (p *Store) Migrated() []string { return p.applied }

// UserByToken implements store.Store.
func (p *Store) UserByToken(ctx context.Context, h plannroauth.TokenHash) (plannroauth.User, error) {
	var row store.UserRow
	err := p.pool.QueryRow(ctx, `SELECT id, token_hash, time_zone FROM users WHERE token_hash = $1`, h[:]).
		Scan(&row.ID, &row.Hash, &row.Zone)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return plannroauth.User{}, plannroauth.ErrNotFound
	case err != nil:
		return plannroauth.User{}, pgError("user by token", err)
	}
	return row.User(h, &p.zones)
}

// ListConnections implements store.Store.
func (p *Store) ListConnections(ctx context.Context, owner plannroauth.UserID) ([]plannroauth.Connection, error) {
	rows, err := p.pool.Query(ctx, store.SelectConnections+`
		WHERE c.user_id = $1 AND c.deleted_at IS NULL ORDER BY c.created_utc, c.seq`, owner)
	if err != nil {
		return nil, pgError("list connections", err)
	}
	defer rows.Close()
	out := []plannroauth.Connection{}
	for rows.Next() {
		c, err := store.ScanConnection(rows)
		if err != nil {
			return nil, pgError("list connections", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, pgError("list connections", err)
	}
	return out, nil
}

// UpdateConnection implements store.Store. The row is read FOR UPDATE, so a
// writer on another replica waits for this transaction and then runs update
// on the UpdatedAt it wrote: updated_at never goes back, whichever replica's
// clock is behind.
//
// The transaction takes two round trips to the database, where pgx.BeginFunc
// takes four: BEGIN goes with the locking read in one batch, the write with
// COMMIT in another. A failure in the second leaves the transaction aborted,
// and the pool closes a connection released in a transaction.
func (p *Store) UpdateConnection(ctx context.Context, owner plannroauth.UserID, id uuid.UUID, update func(*plannroauth.Connection)) (plannroauth.Connection, error) {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return plannroauth.Connection{}, pgError("update connection", err)
	}
	defer conn.Release()
	read := &pgx.Batch{}
	read.Queue("BEGIN")
	read.Queue(store.SelectConnections+`
		WHERE c.uuid = $1 AND c.user_id = $2 AND c.deleted_at IS NULL
		FOR UPDATE OF c`, id, owner)
	results := conn.SendBatch(ctx, read)
	_, err = results.Exec()
	var c plannroauth.Connection
	if err == nil {
		c, err = store.ScanConnection(results.QueryRow())
	}
	err = errors.Join(err, results.Close())
	if err != nil {
		_, _ = conn.Exec(ctx, "ROLLBACK")
		if errors.Is(err, pgx.ErrNoRows) {
			return plannroauth.Connection{}, plannroauth.ErrNotFound
		}
		return plannroauth.Connection{}, pgError("update connection", err)
	}
	store.Apply(&c, update)
	write := &pgx.Batch{}
	write.Queue(`UPDATE connections SET label = $1, updated_at = $2 WHERE uuid = $3`,
		store.LabelValue(c.Label), c.UpdatedAt.Format(store.TimeLayout), id)
	write.Queue("COMMIT")
	if err := conn.SendBatch(ctx, write).Close(); err != nil {
		return plannroauth.Connection{}, pgError("update connection", err)
	}
	return c, nil
}

// DeleteConnection implements store.Store. The row stays, marked, as a tombstone.
func (p *Store) DeleteConnection(ctx context.Context, owner plannroauth.UserID, id uuid.UUID) error {
	tag, err := p.pool.Exec(ctx, `UPDATE connections SET deleted_at = now()
		WHERE uuid = $1 AND user_id = $2 AND deleted_at IS NULL`, id, owner)
	if err != nil {
		return pgError("delete connection", err)
	}
	if tag.RowsAffected() == 0 {
		return plannroauth.ErrNotFound
	}
	return nil
}

// seedLockID is the key of the advisory lock that Seed takes; see
// migrationLockID.
const seedLockID = migrationLockID + 1

// Seed implements store.Store. Replicas that start together seed at once,
// and their fixtures may hold the same rows in other orders: two transactions
// would each hold rows the other waits for, a deadlock that PostgreSQL ends
// by failing one. They take turns instead, under an advisory lock that the
// transaction holds, and ON CONFLICT DO NOTHING makes the later ones add only
// what the earlier ones did not.
func (p *Store) Seed(ctx context.Context, seed plannroauth.Data) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, seedLockID); err != nil {
			return err
		}
		err := store.CheckSeed(seed, func(name string) (bool, error) {
			var exists bool
			err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM providers WHERE name = $1)`, name).Scan(&exists)
			return exists, err
		})
		if err != nil {
			return err
		}
		for _, pr := range seed.Providers {
			if _, err := tx.Exec(ctx, `INSERT INTO providers (name, label, logo_url, authorization_url)
				VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
				pr.Name, pr.Label, pr.LogoURL, pr.AuthorizationURL); err != nil {
				return err
			}
		}
		for _, a := range seed.Accounts {
			if err := seedAccount(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return pgError("seed", err)
	}
	return nil
}

func seedAccount(ctx context.Context, tx pgx.Tx, a plannroauth.Account) error {
	h := plannroauth.HashToken(a.Token)
	if _, err := tx.Exec(ctx, `INSERT INTO users (token_hash, time_zone) VALUES ($1, $2)
		ON CONFLICT (token_hash) DO NOTHING`, h[:], store.ZoneName(a.Location)); err != nil {
		return err
	}
	var id plannroauth.UserID
	if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE token_hash = $1`, h[:]).Scan(&id); err != nil {
		return err
	}
	for _, c := range a.Connections {
		if _, err := tx.Exec(ctx, `INSERT INTO connections (uuid, user_id, provider, label,
				created_at, updated_at, created_utc, access_token_expires_at, refresh_token_expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (uuid) DO NOTHING`,
			c.UUID, id, c.Provider.Name, c.Label,
			c.CreatedAt.Format(store.TimeLayout), c.UpdatedAt.Format(store.TimeLayout), c.CreatedAt.UTC().Format(store.CreatedUTCLayout),
			store.ExpiryText(c.AccessTokenExpiresAt), store.ExpiryText(c.RefreshTokenExpiresAt)); err != nil {
			return err
		}
	}
	return nil
}

// Empty implements store.Store.
func (p *Store) Empty(ctx context.Context) (bool, error) {
	var empty bool
	if err := p.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM users)`).Scan(&empty); err != nil {
		return false, pgError("empty", err)
	}
	return empty, nil
}

// Ready implements store.Store: a round trip to the database on a connection
// of the pool, opening one if none is idle. Its errors wrap
// plannroauth.ErrUnavailable.
func (p *Store) Ready(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: ready: %w: %w", plannroauth.ErrUnavailable, err)
	}
	return nil
}

// Close implements store.Store. It waits for the connections in use to be released.
func (p *Store) Close() error {
	p.pool.Close()
	return nil
}

// PoolStat returns the statistics of the store's connection pool, which
// Collector reads.
func (p *Store) PoolStat() *pgxpool.Stat { return p.pool.Stat() }
