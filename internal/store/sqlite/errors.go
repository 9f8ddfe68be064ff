package sqlite

import (
	"errors"
	"fmt"

	modernc "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

// sqliteError wraps err, from the operation op, with plannroauth.ErrUnavailable
// when it says that the database is locked for the moment rather than that the
// request was wrong.
func sqliteError(op string, err error) error {
	if locked(err) {
		return fmt.Errorf("store: %s: %w: %w", op, plannroauth.ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// locked reports whether err is SQLITE_BUSY or SQLITE_LOCKED, or one of their
// extended codes: busy_timeout ran out while another connection, most likely
// another process on the same file, held a lock. It ends once that one commits
// or rolls back, so a later request may succeed.
func locked(err error) bool {
	var sqliteErr *modernc.Error
	if !errors.As(err, &sqliteErr) {
		return false
	}
	// An extended code keeps its primary code in the low byte.
	switch sqliteErr.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}
