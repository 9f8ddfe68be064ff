package store

import (
	"cmp"
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// SQLite is a Store in one SQLite database file.
//
// Writes go to one goroutine on the one write connection (see writer), so the
// process's writers queue in Go (where a context can cancel the wait) instead
// of contending for SQLite's lock, and those queued together share a commit;
// busy_timeout and IMMEDIATE transactions cover another process on the same
// file. Reads go through a pool of several connections, which in WAL mode see
// the last commit without waiting for the writer.
type SQLite struct {
	w   *sql.DB
	r   *sql.DB
	wr  *writer
	now func() time.Time

	// path and file are the database file as opened: Ready checks that path
	// still names it, since a file deleted or replaced under the server takes
	// every later write with it.
	path string
	file os.FileInfo

	// The statements of every request, prepared once: parsing the SQL was most
	// of a list's time. The reads' are on r, the writes' on the writer.
	userByToken, listConnections              *sql.Stmt
	connectionToUpdate, updateConnection, del *sql.Stmt

	zones zones
}

var _ Store = (*SQLite)(nil)

// Timestamps are text. created_at and updated_at keep the UTC offset they were
// written in, which time.Parse gives back as a fixed zone that formats the same;
// expiries and created_utc are UTC. createdUTCLayout has a fixed width so that
// its text sorts in time order, which RFC3339Nano, trimming zeros, does not.
const (
	timeLayout       = time.RFC3339Nano
	createdUTCLayout = "2006-01-02T15:04:05.000000000Z"
)

// OpenSQLite opens the database file at path, creating it if needed, and brings
// its schema up to date; opts may set its clock (WithClock). The server maps
// ":memory:" to NewMemory; this does not.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*SQLite, error) {
	// A file: URI holds an absolute path; a relative one (plannr.db, the
	// server's default) would be read as the URI's host.
	abs, err := filepath.Abs(path)
	var s *SQLite
	if err == nil {
		s, err = openSQLite(ctx, abs, newOptions(opts))
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

func openSQLite(ctx context.Context, path string, o options) (*SQLite, error) {
	w, err := sql.Open("sqlite", writerDSN(path))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	var mode string
	if err := w.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	// SQLite keeps its old mode, silently, where WAL is not possible.
	if mode != "wal" {
		return nil, errors.Join(fmt.Errorf("journal mode is %q, not wal", mode), w.Close())
	}
	if err := migrate(ctx, w); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	file, err := os.Stat(path)
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	r, err := sql.Open("sqlite", readerDSN(path))
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n) // an idle connection closed is one to reopen and configure again
	s := &SQLite{w: w, r: r, now: o.now, path: path, file: file}
	if err := s.prepare(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// prepare starts the writer and prepares the statements of every request.
func (s *SQLite) prepare(ctx context.Context) (err error) {
	if s.userByToken, err = s.r.PrepareContext(ctx, `SELECT id, token_hash, time_zone FROM users WHERE token_hash = ?`); err != nil {
		return err
	}
	// The rowid breaks ties in the order the connections were added, as the index
	// (user_id, created_utc) holds them.
	if s.listConnections, err = s.r.PrepareContext(ctx, selectConnections+`
		WHERE c.user_id = ? AND c.deleted_at IS NULL ORDER BY c.created_utc, c.rowid`); err != nil {
		return err
	}
	if s.wr, err = newWriter(ctx, s.w); err != nil {
		return err
	}
	if s.connectionToUpdate, err = s.wr.prepare(ctx, `SELECT `+recordColumns+`, u.time_zone
		FROM connections c JOIN providers p ON p.name = c.provider JOIN users u ON u.id = c.user_id
		WHERE c.uuid = ? AND c.user_id = ? AND c.deleted_at IS NULL`); err != nil {
		return err
	}
	if s.updateConnection, err = s.wr.prepare(ctx, `UPDATE connections SET label = ?, updated_at = ? WHERE uuid = ?`); err != nil {
		return err
	}
	s.del, err = s.wr.prepare(ctx, `UPDATE connections SET deleted_at = ?
		WHERE uuid = ? AND user_id = ? AND deleted_at IS NULL`)
	return err
}

// UserByToken implements Store.
func (s *SQLite) UserByToken(ctx context.Context, h TokenHash) (User, error) {
	var (
		id     UserID
		stored []byte
		zone   string
	)
	err := s.userByToken.QueryRowContext(ctx, h[:]).Scan(&id, &stored, &zone)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, ErrNotFound
	case err != nil:
		return User{}, fmt.Errorf("store: user by token: %w", err)
	case subtle.ConstantTimeCompare(stored, h[:]) != 1:
		return User{}, ErrNotFound
	}
	loc, err := s.zones.load(zone)
	if err != nil {
		return User{}, err
	}
	return User{ID: id, Location: loc}, nil
}

// recordColumns are what scanRecord scans, of connections c joined to providers p.
const recordColumns = `c.uuid, p.name, p.label, p.logo_url, p.authorization_url,
	c.label, c.created_at, c.updated_at, c.access_token_expires_at, c.refresh_token_expires_at`

const selectConnections = `SELECT ` + recordColumns + ` FROM connections c JOIN providers p ON p.name = c.provider`

// ListConnections implements Store.
func (s *SQLite) ListConnections(ctx context.Context, owner UserID) ([]Connection, error) {
	rows, err := s.listConnections.QueryContext(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	defer rows.Close()
	out := []Connection{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list connections: %w", err)
		}
		out = append(out, r.connection())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list connections: %w", err)
	}
	return out, nil
}

// UpdateLabel implements Store. It reads the row and its owner's zone, and
// writes it back changed, in one write: the stamp needs the UpdatedAt it
// replaces, and the writer lets no other write in between.
func (s *SQLite) UpdateLabel(ctx context.Context, owner UserID, id uuid.UUID, change LabelUpdate) (Connection, error) {
	var r record
	err := s.wr.do(ctx, func(ctx context.Context, _ *sql.Conn) error {
		var (
			zone string
			err  error
		)
		r, err = scanRecord(s.connectionToUpdate.QueryRowContext(ctx, id, owner), &zone)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		loc, err := s.zones.load(zone)
		if err != nil {
			return err
		}
		r.relabel(change)
		r.updatedAt = Stamp(s.now(), loc, r.updatedAt)
		var label any // NULL clears the label
		if r.hasLabel {
			label = r.label
		}
		_, err = s.updateConnection.ExecContext(ctx, label, r.updatedAt.Format(timeLayout), id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Connection{}, ErrNotFound
	}
	if err != nil {
		return Connection{}, fmt.Errorf("store: update label: %w", err)
	}
	return r.connection(), nil
}

// DeleteConnection implements Store. The row stays, marked, as a tombstone.
func (s *SQLite) DeleteConnection(ctx context.Context, owner UserID, id uuid.UUID) error {
	err := s.wr.do(ctx, func(ctx context.Context, _ *sql.Conn) error {
		return oneRow(s.del.ExecContext(ctx, s.now().UTC().Format(timeLayout), id, owner))
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: delete connection: %w", err)
	}
	return err
}

// Seed implements Store.
func (s *SQLite) Seed(ctx context.Context, seed Seed) error {
	err := s.wr.do(ctx, func(ctx context.Context, db *sql.Conn) error {
		err := checkSeed(seed, func(name string) (bool, error) {
			var exists bool
			err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM providers WHERE name = ?)`, name).Scan(&exists)
			return exists, err
		})
		if err != nil {
			return err
		}
		for _, p := range seed.Providers {
			if _, err := db.ExecContext(ctx, `INSERT INTO providers (name, label, logo_url, authorization_url)
				VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
				p.Name, p.Label, p.LogoURL, p.AuthorizationURL); err != nil {
				return err
			}
		}
		for _, u := range seed.Users {
			if err := seedUser(ctx, db, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	return nil
}

func seedUser(ctx context.Context, db *sql.Conn, u SeedUser) error {
	if _, err := db.ExecContext(ctx, `INSERT INTO users (token_hash, time_zone) VALUES (?, ?)
		ON CONFLICT (token_hash) DO NOTHING`, u.TokenHash[:], zoneName(u.Location)); err != nil {
		return err
	}
	var id UserID
	if err := db.QueryRowContext(ctx, `SELECT id FROM users WHERE token_hash = ?`, u.TokenHash[:]).Scan(&id); err != nil {
		return err
	}
	for _, c := range u.Connections {
		var label any
		if c.Label != nil {
			label = *c.Label
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO connections (uuid, user_id, provider, label,
				created_at, updated_at, created_utc, access_token_expires_at, refresh_token_expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING`,
			c.UUID, id, c.Provider, label,
			c.CreatedAt.Format(timeLayout), c.UpdatedAt.Format(timeLayout), c.CreatedAt.UTC().Format(createdUTCLayout),
			expiryText(c.AccessTokenExpiresAt), expiryText(c.RefreshTokenExpiresAt)); err != nil {
			return err
		}
	}
	return nil
}

// Empty implements Store.
func (s *SQLite) Empty(ctx context.Context) (bool, error) {
	var empty bool
	if err := s.r.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM users)`).Scan(&empty); err != nil {
		return false, fmt.Errorf("store: empty: %w", err)
	}
	return empty, nil
}

// Ready implements Store: the file at the path opened is still the database
// (same device and inode), and the writer can take the write lock, which an
// empty write does without touching the disk (it waits for the batch in hand).
func (s *SQLite) Ready(ctx context.Context) error {
	file, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("store: not ready: the database file: %w", err)
	}
	if !os.SameFile(file, s.file) {
		return fmt.Errorf("store: not ready: %s is no longer the database file opened", s.path)
	}
	if err := s.wr.do(ctx, func(context.Context, *sql.Conn) error { return nil }); err != nil {
		return fmt.Errorf("store: not ready: %w", err)
	}
	return nil
}

// Close implements Store. The writes already taken by the writer are answered first.
func (s *SQLite) Close() error {
	var err error
	if s.wr != nil {
		err = s.wr.close()
	}
	return errors.Join(err, s.r.Close(), s.w.Close())
}

// oneRow turns an UPDATE that matched nothing into ErrNotFound.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func expiryText(t *time.Time) any {
	if t == nil {
		return nil // never expires
	}
	return t.UTC().Format(timeLayout)
}

// scanRecord scans a row of recordColumns, followed by the columns of extra.
func scanRecord(row interface{ Scan(...any) error }, extra ...any) (record, error) {
	var (
		r                                  record
		label, accessExpiry, refreshExpiry sql.NullString
		createdAt, updatedAt               string
	)
	dest := append([]any{&r.uuid, &r.provider.Name, &r.provider.Label, &r.provider.LogoURL, &r.provider.AuthorizationURL,
		&label, &createdAt, &updatedAt, &accessExpiry, &refreshExpiry}, extra...)
	if err := row.Scan(dest...); err != nil {
		return r, err
	}
	r.label, r.hasLabel = label.String, label.Valid
	var err error
	parse := func(text string) time.Time {
		t, e := time.Parse(timeLayout, text)
		err = cmp.Or(err, e)
		return t
	}
	r.createdAt, r.updatedAt = parse(createdAt), parse(updatedAt)
	if r.hasAccessExpiry = accessExpiry.Valid; r.hasAccessExpiry {
		r.accessExpiry = parse(accessExpiry.String)
	}
	if r.hasRefreshExpiry = refreshExpiry.Valid; r.hasRefreshExpiry {
		r.refreshExpiry = parse(refreshExpiry.String)
	}
	if err != nil {
		return r, fmt.Errorf("connection %s: %w", r.uuid, err)
	}
	return r, nil
}
