package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/sqlite"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "test.db"))
	})
}

func BenchmarkSQLite(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openSQLite(b, filepath.Join(b.TempDir(), "bench.db")) })
}

var fundment = plannroauth.Provider{Name: "fundment", Label: "Fundment", LogoURL: "https://a.example/l.png", AuthorizationURL: "https://a.example/auth"}

// oneConnection is alice, with the connection id.
func oneConnection(id uuid.UUID) plannroauth.Data {
	return plannroauth.Data{
		Providers: []plannroauth.Provider{fundment},
		Accounts: []plannroauth.Account{{Token: "alice", Connections: []plannroauth.Connection{
			{UUID: id, Provider: fundment, CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)},
		}}},
	}
}

func TestSQLitePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "persist.db")
	ctx := t.Context()
	label := "Kept"
	updated := time.Date(2025, 7, 1, 9, 0, 0, 123456789, time.UTC)
	kept := uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe")
	gone := uuid.MustParse("2f1c0a4e-5d3b-4f6a-9c8e-7b1d2e3f4a5b")
	seed := plannroauth.Data{
		Providers: []plannroauth.Provider{fundment},
		Accounts: []plannroauth.Account{{Token: "alice", Location: time.UTC, Connections: []plannroauth.Connection{
			{UUID: kept, Provider: fundment, CreatedAt: updated.Add(-time.Hour), UpdatedAt: updated.Add(-time.Hour)},
			{UUID: gone, Provider: fundment, CreatedAt: updated, UpdatedAt: updated},
		}}},
	}

	s := openSQLite(t, path)
	if err := s.Seed(ctx, seed); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByToken(ctx, plannroauth.HashToken("alice"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.UpdateConnection(ctx, u.ID, kept, storetest.Relabel(label))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConnection(ctx, u.ID, gone); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openSQLite(t, path)
	if err := s.Seed(ctx, seed); err != nil { // as a restart with the same fixtures does
		t.Fatal(err)
	}
	got, err := s.ListConnections(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].UUID != kept || got[0].Label == nil || *got[0].Label != label ||
		got[0].UpdatedAt.Format(time.RFC3339Nano) != want.UpdatedAt.Format(time.RFC3339Nano) {
		t.Errorf("after reopening, ListConnections = %+v, want only %+v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var integrity string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check = %q, %v; want ok", integrity, err)
	}
	var version int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil || version != sqlite.SchemaVersion {
		t.Errorf("user_version = %d, %v; want %d", version, err, sqlite.SchemaVersion)
	}
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "newer.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `PRAGMA user_version = 1000`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(t.Context(), path); err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer program: no error")
	}
}

func openSQLite(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestSQLiteFileNames opens databases by the kinds of name people pass to -db:
// the default, plannr.db, is relative to the working directory.
func TestSQLiteFileNames(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, name := range []string{"plannr.db", "./sub/../rel.db", filepath.Join(dir, "abs.db"), "with ?# and space.db"} {
		t.Run(name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), name)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Seed(t.Context(), plannroauth.Data{Accounts: []plannroauth.Account{{Token: "t"}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, filepath.Base(name))); err != nil {
				t.Errorf("the database is not where its name says: %v", err)
			}
		})
	}
}

// TestSQLiteUnopenable: a -db that cannot be opened is refused by an error
// that names it and says why, where SQLite says only "unable to open
// database file (14)" or "attempt to write a readonly database (8)"; and
// nothing is created.
func TestSQLiteUnopenable(t *testing.T) {
	tests := []struct {
		name string
		// path makes the -db in dir, which it may change.
		path func(t *testing.T, dir string) string
		want string // %s is dir
		// asRoot says that root can open it all the same: the test skips.
		asRoot bool
	}{
		{name: "in a directory that does not exist", path: func(t *testing.T, dir string) string { return filepath.Join(dir, "missing", "plannr.db") },
			want: "the directory %s/missing does not exist"},
		{name: "a directory", path: func(t *testing.T, dir string) string { return dir }, want: "%s is a directory"},
		{name: "under a file", path: func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "file"), 0o644)
			return filepath.Join(dir, "file", "plannr.db")
		}, want: "%s/file is not a directory"},
		{name: "a file without permission", path: func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "plannr.db"), 0o444)
			return filepath.Join(dir, "plannr.db")
		}, want: "open %s/plannr.db: permission denied", asRoot: true},
		{name: "in a directory without permission", path: func(t *testing.T, dir string) string {
			chmod(t, dir, 0o555)
			return filepath.Join(dir, "plannr.db")
		}, want: "the directory %s must be writable", asRoot: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.asRoot && os.Geteuid() == 0 {
				t.Skip("root may open it all the same")
			}
			dir := t.TempDir()
			path := tt.path(t, dir)
			before, _ := os.ReadDir(dir)
			s, err := sqlite.Open(t.Context(), path)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if want := fmt.Sprintf(tt.want, dir); !strings.Contains(err.Error(), "open "+path+": ") || !strings.Contains(err.Error(), want) {
				t.Errorf("error %q, want one naming %s and saying %q", err, path, want)
			}
			if after, _ := os.ReadDir(dir); len(after) != len(before) {
				t.Errorf("%d files in the directory, %d before", len(after), len(before))
			}
		})
	}
}

// writeFile creates an empty file at path of mode perm.
func writeFile(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, nil, perm); err != nil {
		t.Fatal(err)
	}
}

// chmod sets dir's mode to perm, and back to 0o755 when t ends, so that
// t.TempDir can remove it.
func chmod(t *testing.T, dir string, perm os.FileMode) {
	t.Helper()
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
}

// TestSQLiteReady: a database file deleted, moved or replaced under a running
// store makes it not ready, since every later write would be lost with it.
func TestSQLiteReady(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"moved", func(t *testing.T, path string) {
			if err := os.Rename(path, path+".moved"); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced", func(t *testing.T, path string) {
			other := filepath.Join(t.TempDir(), "other.db")
			openSQLite(t, other).Close()
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ready.db")
			s := openSQLite(t, path)
			defer s.Close()
			if err := s.Ready(t.Context()); err != nil {
				t.Fatalf("Ready before: %v", err)
			}
			tt.change(t, path)
			if err := s.Ready(t.Context()); err == nil {
				t.Error("Ready: nil, want an error")
			}
		})
	}
	t.Run("closed", func(t *testing.T) {
		s := openSQLite(t, filepath.Join(t.TempDir(), "closed.db"))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(t.Context()); err == nil {
			t.Error("Ready of a closed store: nil, want an error")
		}
	})
}

// BenchmarkSQLiteReady is the cost of a /readyz on SQLite.
func BenchmarkSQLiteReady(b *testing.B) {
	s := openSQLite(b, filepath.Join(b.TempDir(), "ready.db"))
	defer s.Close()
	for b.Loop() {
		if err := s.Ready(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSQLiteGroupCommit: writes that queue while the writer waits share its
// next transaction, and so its fsync. Another connection holds the write lock
// while the writes queue; each commit appends at least one frame to the WAL,
// so the frames added bound the commits.
func TestSQLiteGroupCommit(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "group.db")
	s := openSQLite(t, path)
	defer s.Close()
	kept := uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe")
	if err := s.Seed(ctx, oneConnection(kept)); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByToken(ctx, plannroauth.HashToken("alice"))
	if err != nil {
		t.Fatal(err)
	}

	holder := holdWriteLock(t, path) // takes no frame
	var pageSize int64
	if err := holder.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	frames := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return (fi.Size() - 32) / (24 + pageSize)
	}
	before := frames()

	const n = 32
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			label := fmt.Sprint("label ", i)
			_, errs[i] = s.UpdateConnection(ctx, u.ID, kept, storetest.Relabel(label))
		})
	}
	time.Sleep(200 * time.Millisecond) // for the writes to queue
	if _, err := holder.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if added := frames() - before; added > n/4 {
		t.Errorf("%d concurrent writes added %d frames to the WAL: at least that many commits, want at most %d", n, added, n/4)
	}
}

// BenchmarkSQLiteConcurrentUpdateLabel is the durable path under 32 concurrent
// writers, as the load test's connections: what group commit is for.
func BenchmarkSQLiteConcurrentUpdateLabel(b *testing.B) {
	s := openSQLite(b, filepath.Join(b.TempDir(), "bench.db"))
	defer s.Close()
	id := uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe")
	if err := s.Seed(b.Context(), oneConnection(id)); err != nil {
		b.Fatal(err)
	}
	u, err := s.UserByToken(b.Context(), plannroauth.HashToken("alice"))
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// A new label each time: an UPDATE that changes nothing has nothing to fsync.
			label := fmt.Sprint("label ", n.Add(1))
			if _, err := s.UpdateConnection(b.Context(), u.ID, id, storetest.Relabel(label)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestSQLiteReadyKeepsItsDeadline: while another process holds the write lock,
// Ready answers by its context's deadline, not busy_timeout's 5 s, for a
// readiness probe to report within its own.
func TestSQLiteReadyKeepsItsDeadline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	s := openSQLite(t, path)
	defer s.Close()
	holder := holdWriteLock(t, path)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Ready(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ready with the write lock held elsewhere: %v, want the deadline's error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Ready took %v, past its deadline of 100ms", d)
	}
	if _, err := holder.ExecContext(t.Context(), `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); err != nil {
		t.Errorf("Ready once the lock is released: %v", err)
	}
}

// holdWriteLock takes the write lock of the database at path on a connection
// of its own, as another process would, until it runs ROLLBACK.
func holdWriteLock(t *testing.T, path string) *sql.Conn {
	t.Helper()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	holder, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	if _, err := holder.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	return holder
}

// TestSQLiteLockedIsUnavailable: a write that cannot take the write lock
// another process holds within busy_timeout fails with
// plannroauth.ErrUnavailable, a 503, not with a bare SQLITE_BUSY, a 500;
// reads go on, and so do writes once the lock is released.
func TestSQLiteLockedIsUnavailable(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "locked.db")
	s, err := sqlite.OpenWithBusyTimeout(ctx, path, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe")
	if err := s.Seed(ctx, oneConnection(id)); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByToken(ctx, plannroauth.HashToken("alice"))
	if err != nil {
		t.Fatal(err)
	}
	update := func() error {
		_, err := s.UpdateConnection(ctx, u.ID, id, storetest.Relabel("Locked"))
		return err
	}

	holder := holdWriteLock(t, path)
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"update connection", update, plannroauth.ErrUnavailable},
		{"delete connection", func() error { return s.DeleteConnection(ctx, u.ID, id) }, plannroauth.ErrUnavailable},
		{"seed", func() error { return s.Seed(ctx, oneConnection(id)) }, plannroauth.ErrUnavailable},
		{"ready", func() error { return s.Ready(ctx) }, plannroauth.ErrUnavailable},
		{"user by token", func() error { _, err := s.UserByToken(ctx, plannroauth.HashToken("alice")); return err }, nil},
		{"list connections", func() error { _, err := s.ListConnections(ctx, u.ID); return err }, nil},
		{"empty", func() error { _, err := s.Empty(ctx); return err }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("with the write lock held elsewhere: %v, want %v", err, tt.want)
			}
		})
	}

	if _, err := holder.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if err := update(); err != nil {
		t.Errorf("an update once the lock is released: %v", err)
	}
}
