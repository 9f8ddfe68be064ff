// Package sqlite is a store.Store in one SQLite database file (modernc.org's
// pure-Go driver): the default of plannr-server.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
)

// Store is a store.Store in one SQLite database file.
//
// Writes go to one goroutine on the one write connection (see writer), so the
// process's writers queue in Go (where a context can cancel the wait) instead
// of contending for SQLite's lock, and those queued together share a commit;
// busy_timeout and IMMEDIATE transactions cover another process on the same
// file. Reads go through a pool of several connections, which in WAL mode see
// the last commit without waiting for the writer.
type Store struct {
	w  *sql.DB
	r  *sql.DB
	wr *writer

	// path and file are the database file as opened: Ready checks that path
	// still names it, since a file deleted or replaced under the server takes
	// every later write with it.
	path string
	file os.FileInfo

	// The statements of every request, prepared once: parsing the SQL was most
	// of a list's time. The reads' are on r, the writes' on the writer.
	userByToken, listConnections              *sql.Stmt
	connectionToUpdate, updateConnection, del *sql.Stmt

	zones store.Zones
}

var _ store.Store = (*Store)(nil)

// Open opens the database file at path, creating it if needed, and brings its
// schema up to date. plannr-server maps ":memory:" to package memory; this
// does not.
func Open(ctx context.Context, path string) (*Store, error) {
	// A file: URI holds an absolute path; a relative one (plannr.db, the
	// server's default) would be read as the URI's host.
	abs, err := filepath.Abs(path)
	var s *Store
	if err == nil {
		s, err = open(ctx, abs, busyTimeout)
	}
	if err != nil {
		if why := whyUnopenable(abs, err); why != "" {
			err = fmt.Errorf("%w: %s", err, why)
		}
		return nil, sqliteError("open "+path, err)
	}
	return s, nil
}

// open opens the absolute path; busy is busy_timeout, which tests shorten.
func open(ctx context.Context, path string, busy time.Duration) (*Store, error) {
	w, err := sql.Open("sqlite", writerDSN(path, busy))
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
	r, err := sql.Open("sqlite", readerDSN(path, busy))
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n) // an idle connection closed is one to reopen and configure again
	s := &Store{w: w, r: r, path: path, file: file}
	if err := s.prepare(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// prepare starts the writer and prepares the statements of every request.
func (s *Store) prepare(ctx context.Context) (err error) {
	if s.userByToken, err = s.r.PrepareContext(ctx, `SELECT id, token_hash, time_zone FROM users WHERE token_hash = ?`); err != nil {
		return err
	}
	// The rowid breaks ties in the order the connections were added, as the index
	// (user_id, created_utc) holds them.
	if s.listConnections, err = s.r.PrepareContext(ctx, store.SelectConnections+`
		WHERE c.user_id = ? AND c.deleted_at IS NULL ORDER BY c.created_utc, c.rowid`); err != nil {
		return err
	}
	if s.wr, err = newWriter(ctx, s.w); err != nil {
		return err
	}
	if s.connectionToUpdate, err = s.wr.prepare(ctx, store.SelectConnections+`
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

// UserByToken implements store.Store.
func (s *Store) UserByToken(ctx context.Context, h plannroauth.TokenHash) (plannroauth.User, error) {
	var row store.UserRow
	err := s.userByToken.QueryRowContext(ctx, h[:]).Scan(&row.ID, &row.Hash, &row.Zone)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return plannroauth.User{}, plannroauth.ErrNotFound
	case err != nil:
		return plannroauth.User{}, sqliteError("user by token", err)
	}
	return row.User(h, &s.zones)
}

// ListConnections implements store.Store.
func (s *Store) ListConnections(ctx context.Context, owner plannroauth.UserID) ([]plannroauth.Connection, error) {
	rows, err := s.listConnections.QueryContext(ctx, owner)
	if err != nil {
		return nil, sqliteError("list connections", err)
	}
	defer rows.Close()
	out := []plannroauth.Connection{}
	for rows.Next() {
		c, err := store.ScanConnection(rows)
		if err != nil {
			return nil, sqliteError("list connections", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, sqliteError("list connections", err)
	}
	return out, nil
}

// UpdateConnection implements store.Store. It reads the row and writes it
// back changed in one write of the writer, which lets no other write in
// between: the rule of an update needs the UpdatedAt it replaces.
func (s *Store) UpdateConnection(ctx context.Context, owner plannroauth.UserID, id uuid.UUID, update func(*plannroauth.Connection)) (plannroauth.Connection, error) {
	var c plannroauth.Connection
	err := s.wr.do(ctx, func(ctx context.Context, _ *sql.Conn) error {
		var err error
		c, err = store.ScanConnection(s.connectionToUpdate.QueryRowContext(ctx, id, owner))
		if errors.Is(err, sql.ErrNoRows) {
			return plannroauth.ErrNotFound
		}
		if err != nil {
			return err
		}
		store.Apply(&c, update)
		_, err = s.updateConnection.ExecContext(ctx, store.LabelValue(c.Label), c.UpdatedAt.Format(store.TimeLayout), id)
		return err
	})
	if errors.Is(err, plannroauth.ErrNotFound) {
		return plannroauth.Connection{}, err
	}
	if err != nil {
		return plannroauth.Connection{}, sqliteError("update connection", err)
	}
	return c, nil
}

// DeleteConnection implements store.Store. The row stays, marked, as a tombstone.
func (s *Store) DeleteConnection(ctx context.Context, owner plannroauth.UserID, id uuid.UUID) error {
	err := s.wr.do(ctx, func(ctx context.Context, _ *sql.Conn) error {
		return oneRow(s.del.ExecContext(ctx, time.Now().UTC().Format(store.TimeLayout), id, owner))
	})
	if err != nil && !errors.Is(err, plannroauth.ErrNotFound) {
		return sqliteError("delete connection", err)
	}
	return err
}

// Seed implements store.Store.
func (s *Store) Seed(ctx context.Context, seed plannroauth.Data) error {
	err := s.wr.do(ctx, func(ctx context.Context, db *sql.Conn) error {
		err := store.CheckSeed(seed, func(name string) (bool, error) {
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
		for _, a := range seed.Accounts {
			if err := seedAccount(ctx, db, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return sqliteError("seed", err)
	}
	return nil
}

func seedAccount(ctx context.Context, db *sql.Conn, a plannroauth.Account) error {
	h := plannroauth.HashToken(a.Token)
	if _, err := db.ExecContext(ctx, `INSERT INTO users (token_hash, time_zone) VALUES (?, ?)
		ON CONFLICT (token_hash) DO NOTHING`, h[:], store.ZoneName(a.Location)); err != nil {
		return err
	}
	var id plannroauth.UserID
	if err := db.QueryRowContext(ctx, `SELECT id FROM users WHERE token_hash = ?`, h[:]).Scan(&id); err != nil {
		return err
	}
	for _, c := range a.Connections {
		if _, err := db.ExecContext(ctx, `INSERT INTO connections (uuid, user_id, provider, label,
				created_at, updated_at, created_utc, access_token_expires_at, refresh_token_expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING`,
			c.UUID, id, c.Provider.Name, store.LabelValue(c.Label),
			c.CreatedAt.Format(store.TimeLayout), c.UpdatedAt.Format(store.TimeLayout), c.CreatedAt.UTC().Format(store.CreatedUTCLayout),
			store.ExpiryText(c.AccessTokenExpiresAt), store.ExpiryText(c.RefreshTokenExpiresAt)); err != nil {
			return err
		}
	}
	return nil
}

// Empty implements store.Store.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var empty bool
	if err := s.r.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM users)`).Scan(&empty); err != nil {
		return false, sqliteError("empty", err)
	}
	return empty, nil
}

// Ready implements store.Store: the file at the path opened is still the database
// (same device and inode), and the writer can take the write lock, which an
// empty write does without touching the disk (it waits for the batch in hand).
func (s *Store) Ready(ctx context.Context) error {
	file, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("store: not ready: the database file: %w", err)
	}
	if !os.SameFile(file, s.file) {
		return fmt.Errorf("store: not ready: %s is no longer the database file opened", s.path)
	}
	if err := s.wr.do(ctx, func(context.Context, *sql.Conn) error { return nil }); err != nil {
		return sqliteError("not ready", err)
	}
	return nil
}

// Close implements store.Store. The writes already taken by the writer are answered first.
func (s *Store) Close() error {
	var err error
	if s.wr != nil {
		err = s.wr.close()
	}
	return errors.Join(err, s.r.Close(), s.w.Close())
}

// oneRow turns an UPDATE that matched nothing into plannroauth.ErrNotFound.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return plannroauth.ErrNotFound
	}
	return nil
}

// The writer.

// writer is the one goroutine that writes to a SQLite file, on the one write
// connection. It commits the writes that queued up while it was busy in one
// transaction (group commit): with synchronous=FULL every commit waits for an
// fsync, so concurrent writers share that wait instead of taking turns at it.
// A write succeeds only once its transaction is durable, and a SAVEPOINT
// around each one undoes a failed write alone.
type writer struct {
	conn    *sql.Conn
	queue   chan *write // unbuffered: the queue is the senders waiting on it
	closing chan struct{}
	stopped chan struct{}
	once    sync.Once
	err     error // of close

	begin, commit, rollback, savepoint, release, undo *sql.Stmt
	stmts                                             []*sql.Stmt // every statement prepared on conn, to close
}

// A write is one call's change, run by the writer inside a batch's transaction.
type write struct {
	ctx  context.Context // the caller's: cancelled before its turn, the write is skipped
	run  func(ctx context.Context, c *sql.Conn) error
	done chan error
}

// maxBatch bounds a transaction, and so the wait of its first write.
const maxBatch = 128

var errClosed = errors.New("store: closed")

// newWriter takes db's one connection for the writer; on error the caller
// still closes db.
func newWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{conn: conn, queue: make(chan *write), closing: make(chan struct{}), stopped: make(chan struct{})}
	// Prepared once, like every statement a write runs: they are run per write.
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&w.begin, `BEGIN IMMEDIATE`}, {&w.commit, `COMMIT`}, {&w.rollback, `ROLLBACK`},
		{&w.savepoint, `SAVEPOINT w`}, {&w.release, `RELEASE w`}, {&w.undo, `ROLLBACK TO w`},
	} {
		if *p.stmt, err = w.prepare(ctx, p.sql); err != nil {
			return nil, errors.Join(err, w.closeConn())
		}
	}
	go w.loop()
	return w, nil
}

// prepare prepares query on the write connection, for the writes to run.
func (w *writer) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := w.conn.PrepareContext(ctx, query)
	if err == nil {
		w.stmts = append(w.stmts, st)
	}
	return st, err
}

// do runs f in a transaction on the write connection and returns once that
// transaction is durable, or with f's error, in which case nothing f did is
// kept. f runs on the writer's goroutine, with a context of the writer's own:
// cancelling the statement of one write in the middle would make SQLite roll
// back the whole batch. A ctx done before f's turn skips f; done later, do
// returns ctx's error at once, and f's outcome is unknown to the caller, as
// with any timeout (the writer may be waiting for another process's lock).
func (w *writer) do(ctx context.Context, f func(ctx context.Context, c *sql.Conn) error) error {
	wr := &write{ctx: ctx, run: f, done: make(chan error, 1)}
	select {
	case w.queue <- wr:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.closing:
		return errClosed
	}
	select {
	case err := <-wr.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *writer) loop() {
	defer close(w.stopped)
	batch := make([]*write, 0, maxBatch)
	for {
		select {
		case wr := <-w.queue:
			batch = append(batch[:0], wr)
		case <-w.closing:
			return
		}
		// Every write that queued behind the last commit joins this one.
	more:
		for len(batch) < maxBatch {
			select {
			case wr := <-w.queue:
				batch = append(batch, wr)
			default:
				break more
			}
		}
		w.run(batch)
		clear(batch) // let the answered writes go
	}
}

// errLost means SQLite rolled back the whole transaction of a batch, as it does
// on some errors (a full disk, an I/O error): none of its writes is kept.
var errLost = errors.New("the batch's transaction was lost")

// run commits batch in one transaction and answers each of its writes.
func (w *writer) run(batch []*write) {
	ctx := context.Background()
	if _, err := w.begin.ExecContext(ctx); err != nil {
		answer(batch, err)
		return
	}
	kept := make([]*write, 0, len(batch))
	for i, wr := range batch {
		err := wr.ctx.Err()
		if err == nil {
			err = w.apply(ctx, wr.run)
		}
		switch {
		case errors.Is(err, errLost):
			_, _ = w.rollback.ExecContext(ctx) // in case SQLite left it open
			answer(kept, err)
			answer(batch[i:], err)
			return
		case err != nil:
			wr.done <- err
		default:
			kept = append(kept, wr)
		}
	}
	_, err := w.commit.ExecContext(ctx)
	if err != nil {
		_, _ = w.rollback.ExecContext(ctx) // a failed COMMIT can leave the transaction open
	}
	answer(kept, err)
}

// apply runs f inside a savepoint, which undoes what f did if it fails.
func (w *writer) apply(ctx context.Context, f func(context.Context, *sql.Conn) error) error {
	if _, err := w.savepoint.ExecContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", errLost, err)
	}
	err := f(ctx, w.conn)
	if err != nil {
		if _, uerr := w.undo.ExecContext(ctx); uerr != nil {
			return fmt.Errorf("%w: %w", errLost, errors.Join(err, uerr))
		}
	}
	if _, rerr := w.release.ExecContext(ctx); rerr != nil {
		return fmt.Errorf("%w: %w", errLost, errors.Join(err, rerr))
	}
	return err
}

func answer(ws []*write, err error) {
	for _, wr := range ws {
		wr.done <- err
	}
}

// close stops the writer, once the batch in hand is answered, and releases the
// write connection; a write after close fails with errClosed.
func (w *writer) close() error {
	w.once.Do(func() {
		close(w.closing)
		<-w.stopped
		w.err = w.closeConn()
	})
	return w.err
}

func (w *writer) closeConn() error {
	var errs []error
	for _, st := range w.stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(append(errs, w.conn.Close())...)
}
