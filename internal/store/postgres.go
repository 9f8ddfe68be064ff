package store

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is a Store in a PostgreSQL database, which several server processes
// (replicas) can share: every write is one transaction that the database
// serializes, so what SQLite gets from its single writer, PostgreSQL gets from
// row locks. The schema and its semantics are SQLite's (see sqlite_schema.go).
type Postgres struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	zones   zones
	applied []string
}

var _ Store = (*Postgres)(nil)

// OpenPostgres connects to the database at url (postgres://user:password@host:port/db?...)
// and brings its schema up to date under an advisory lock (see migratePostgres).
// The URL's query takes libpq's parameters and pgxpool's, among them
// pool_max_conns, the most connections this process opens (default: 4, or the
// number of CPUs if more), and connect_timeout (seconds).
func OpenPostgres(ctx context.Context, url string, opts ...Option) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL URL: %w", err) // pgx leaves the password out
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, pgError("open", err)
	}
	p := &Postgres{pool: pool, now: newOptions(opts).now}
	if p.applied, err = migratePostgres(ctx, pool); err != nil {
		pool.Close()
		return nil, pgError("migrate", err)
	}
	return p, nil
}

// Migrated lists the migrations that OpenPostgres applied, by file name: none
// when the schema was up to date already.
func (p *Postgres) Migrated() []string { return p.applied }

// UserByToken implements Store.
func (p *Postgres) UserByToken(ctx context.Context, h TokenHash) (User, error) {
	var (
		id     UserID
		stored []byte
		zone   string
	)
	err := p.pool.QueryRow(ctx, `SELECT id, token_hash, time_zone FROM users WHERE token_hash = $1`, h[:]).
		Scan(&id, &stored, &zone)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return User{}, ErrNotFound
	case err != nil:
		return User{}, pgError("user by token", err)
	case subtle.ConstantTimeCompare(stored, h[:]) != 1:
		return User{}, ErrNotFound
	}
	loc, err := p.zones.load(zone)
	if err != nil {
		return User{}, err
	}
	return User{ID: id, Location: loc}, nil
}

// ListConnections implements Store.
func (p *Postgres) ListConnections(ctx context.Context, owner UserID) ([]Connection, error) {
	rows, err := p.pool.Query(ctx, selectConnections+`
		WHERE c.user_id = $1 AND c.deleted_at IS NULL ORDER BY c.created_utc, c.seq`, owner)
	if err != nil {
		return nil, pgError("list connections", err)
	}
	defer rows.Close()
	out := []Connection{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, pgError("list connections", err)
		}
		out = append(out, r.connection())
	}
	if err := rows.Err(); err != nil {
		return nil, pgError("list connections", err)
	}
	return out, nil
}

// UpdateLabel implements Store. The row is read FOR UPDATE, so a writer on
// another replica waits for this transaction and then stamps from the
// UpdatedAt it wrote: updated_at never goes back, whichever replica's clock is
// behind.
func (p *Postgres) UpdateLabel(ctx context.Context, owner UserID, id uuid.UUID, change LabelUpdate) (Connection, error) {
	var r record
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var zone string
		var err error
		r, err = scanRecord(tx.QueryRow(ctx, `SELECT `+recordColumns+`, u.time_zone
			FROM connections c JOIN providers p ON p.name = c.provider JOIN users u ON u.id = c.user_id
			WHERE c.uuid = $1 AND c.user_id = $2 AND c.deleted_at IS NULL
			FOR UPDATE OF c`, id, owner), &zone)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		loc, err := p.zones.load(zone)
		if err != nil {
			return err
		}
		r.relabel(change)
		r.updatedAt = Stamp(p.now(), loc, r.updatedAt)
		var label any // NULL clears the label
		if r.hasLabel {
			label = r.label
		}
		_, err = tx.Exec(ctx, `UPDATE connections SET label = $1, updated_at = $2 WHERE uuid = $3`,
			label, r.updatedAt.Format(timeLayout), id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Connection{}, ErrNotFound
	}
	if err != nil {
		return Connection{}, pgError("update label", err)
	}
	return r.connection(), nil
}

// DeleteConnection implements Store. The row stays, marked, as a tombstone.
func (p *Postgres) DeleteConnection(ctx context.Context, owner UserID, id uuid.UUID) error {
	tag, err := p.pool.Exec(ctx, `UPDATE connections SET deleted_at = $1
		WHERE uuid = $2 AND user_id = $3 AND deleted_at IS NULL`, p.now(), id, owner)
	if err != nil {
		return pgError("delete connection", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// Seed implements Store. Replicas that start together with the same fixtures
// seed at once: ON CONFLICT DO NOTHING makes the later ones wait for the first
// and then add nothing.
func (p *Postgres) Seed(ctx context.Context, seed Seed) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		err := checkSeed(seed, func(name string) (bool, error) {
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
		for _, u := range seed.Users {
			if err := seedPostgresUser(ctx, tx, u); err != nil {
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

func seedPostgresUser(ctx context.Context, tx pgx.Tx, u SeedUser) error {
	if _, err := tx.Exec(ctx, `INSERT INTO users (token_hash, time_zone) VALUES ($1, $2)
		ON CONFLICT (token_hash) DO NOTHING`, u.TokenHash[:], zoneName(u.Location)); err != nil {
		return err
	}
	var id UserID
	if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE token_hash = $1`, u.TokenHash[:]).Scan(&id); err != nil {
		return err
	}
	for _, c := range u.Connections {
		if _, err := tx.Exec(ctx, `INSERT INTO connections (uuid, user_id, provider, label,
				created_at, updated_at, created_utc, access_token_expires_at, refresh_token_expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (uuid) DO NOTHING`,
			c.UUID, id, c.Provider, c.Label,
			c.CreatedAt.Format(timeLayout), c.UpdatedAt.Format(timeLayout), c.CreatedAt.UTC().Format(createdUTCLayout),
			expiryText(c.AccessTokenExpiresAt), expiryText(c.RefreshTokenExpiresAt)); err != nil {
			return err
		}
	}
	return nil
}

// Empty implements Store.
func (p *Postgres) Empty(ctx context.Context) (bool, error) {
	var empty bool
	if err := p.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM users)`).Scan(&empty); err != nil {
		return false, pgError("empty", err)
	}
	return empty, nil
}

// Ready implements Store: a round trip to the database on a connection of the
// pool, opening one if none is idle. Its errors wrap ErrUnavailable.
func (p *Postgres) Ready(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: ready: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close implements Store. It waits for the connections in use to be released.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

// PoolStat returns the statistics of the store's connection pool, which
// storemetrics collects for a store that has them.
func (p *Postgres) PoolStat() *pgxpool.Stat { return p.pool.Stat() }
