package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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

// whyUnopenable says why SQLite could not open or create the database at
// path, an absolute one, when err is its "unable to open database file" or
// "attempt to write a readonly database", which say neither: "" for another
// error. The cause is found by looking at the path, which changes nothing.
func whyUnopenable(path string, err error) string {
	var sqliteErr *modernc.Error
	if !errors.As(err, &sqliteErr) {
		return ""
	}
	if code := sqliteErr.Code() & 0xff; code != sqlite3.SQLITE_CANTOPEN && code != sqlite3.SQLITE_READONLY {
		return ""
	}
	dir := filepath.Dir(path)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("the directory %s does not exist", dir)
	case err != nil:
		return err.Error() // os names the path: "stat /srv/db: permission denied"
	case !fi.IsDir():
		return fmt.Sprintf("%s is not a directory", dir)
	}
	switch fi, err := os.Stat(path); {
	case err == nil && fi.IsDir():
		return fmt.Sprintf("%s is a directory", path)
	case err == nil:
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err.Error() // "open /srv/plannr.db: permission denied"
		}
		_ = f.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return err.Error()
	}
	// The file is missing, to be created, or one this process may write: what
	// is left is the directory, where SQLite creates the file, and in WAL mode
	// its -wal and -shm files, even to read.
	return fmt.Sprintf("the directory %s must be writable: SQLite keeps the database's -wal and -shm files there", dir)
}
