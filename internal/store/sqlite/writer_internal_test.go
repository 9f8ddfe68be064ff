package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriterBatch runs one batch as the writer would: a write that fails is
// undone alone, a write cancelled before its turn does not run, and the others
// are committed together.
func TestWriterBatch(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "batch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	insert := func(name string) func(context.Context, *sql.Conn) error {
		return func(ctx context.Context, c *sql.Conn) error {
			_, err := c.ExecContext(ctx, `INSERT INTO providers (name, label, logo_url, authorization_url) VALUES (?, 'L', 'u', 'u')`, name)
			return err
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	tests := []struct {
		name string
		ctx  context.Context
		run  func(context.Context, *sql.Conn) error
		want string // in the error; "" for none
	}{
		{"first", ctx, insert("first"), ""},
		{"fails after a change", ctx, func(ctx context.Context, c *sql.Conn) error {
			if err := insert("undone")(ctx, c); err != nil {
				return err
			}
			return errors.New("broken")
		}, "broken"},
		{"cancelled", cancelled, func(context.Context, *sql.Conn) error { ran = true; return nil }, context.Canceled.Error()},
		{"statement fails", ctx, insert("first"), "UNIQUE constraint failed"},
		{"last", ctx, insert("last"), ""},
	}
	batch := make([]*write, len(tests))
	for i, tt := range tests {
		batch[i] = &write{ctx: tt.ctx, run: tt.run, done: make(chan error, 1)}
	}
	// The writer's loop waits for the queue, which no one sends to here.
	s.wr.run(batch)
	for i, tt := range tests {
		err := <-batch[i].done
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	if ran {
		t.Error("the cancelled write ran")
	}
	var names string
	if err := s.r.QueryRowContext(ctx, `SELECT group_concat(name, ' ') FROM (SELECT name FROM providers ORDER BY name)`).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if names != "first last" {
		t.Errorf("providers after the batch: %q, want %q", names, "first last")
	}
	// The writer goes on.
	if err := s.wr.do(ctx, insert("after")); err != nil {
		t.Errorf("a write after the batch: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.wr.do(ctx, insert("closed")); !errors.Is(err, errClosed) {
		t.Errorf("a write after Close: %v, want %v", err, errClosed)
	}
}
