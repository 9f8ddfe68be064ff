package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

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
