package postgres_test

import (
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/postgres"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

func TestPostgres(t *testing.T) {
	storetest.RequirePostgres(t) // skip once, not in each test of the suite
	storetest.Run(t, func(t *testing.T) store.Store {
		return openPostgres(t, storetest.PostgresURL(t))
	})
}

func BenchmarkPostgres(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openPostgres(b, storetest.PostgresURL(b)) })
}

func openPostgres(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), url)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestPostgresSchemeInAnyCase: RFC 3986 compares schemes case-insensitively,
// and Open does too, where pgx alone would read the URL as key=value settings.
func TestPostgresSchemeInAnyCase(t *testing.T) {
	for _, scheme := range []string{"Postgres", "POSTGRESQL"} {
		t.Run(scheme, func(t *testing.T) {
			_, rest, _ := strings.Cut(storetest.PostgresURL(t), "://")
			s := openPostgres(t, scheme+"://"+rest)
			defer s.Close()
			if empty, err := s.Empty(t.Context()); !empty || err != nil {
				t.Errorf("Empty() = %v, %v on a new database", empty, err)
			}
		})
	}
}

// TestPostgresReplicasMigrateOnce opens one new database from several
// processes' worth of stores at once, as replicas starting together do: the
// advisory lock lets one migrate, and the others find the schema up to date.
func TestPostgresReplicasMigrateOnce(t *testing.T) {
	url := storetest.PostgresURL(t)
	const replicas = 4
	migrated := make([][]string, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Error(err)
				return
			}
			migrated[i] = s.Migrated()
			s.Close()
		})
	}
	wg.Wait()
	var applied []string
	for _, m := range migrated {
		applied = append(applied, m...)
	}
	// Every file, in order; goose numbers them from 1, after its own 0.
	files, err := os.ReadDir("migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	wantVersions := []int64{0}
	for i, f := range files {
		want = append(want, f.Name())
		wantVersions = append(wantVersions, int64(i+1))
	}
	if !slices.Equal(applied, want) {
		t.Errorf("the replicas applied %q together, want %q once", applied, want)
	}

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, _ := conn.Query(t.Context(), `SELECT version_id FROM goose_db_version ORDER BY id`) // CollectRows reports its error
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || !slices.Equal(versions, wantVersions) {
		t.Errorf("goose_db_version = %v, %v; want versions %v once each", versions, err, wantVersions)
	}
}

// TestPostgresOpenErrors: a database that cannot be reached is ErrUnavailable,
// which the server answers with 503, not a 500; and no error, which the server
// prints, shows the URL's password.
func TestPostgresOpenErrors(t *testing.T) {
	storetest.PostgresURL(t) // the PostgreSQL tests run, or skip, together
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now
	const password = "S3cretPassw0rd"
	tests := []struct {
		name, url   string
		unavailable bool
	}{
		{"closed port", "postgres://plannr:" + password + "@" + closed + "/none?connect_timeout=2", true},
		{"bad pool size", "postgres://plannr:" + password + "@" + closed + "/none?pool_max_conns=many", false},
		{"bad port", "postgres://plannr:" + password + "@127.0.0.1:5432:1/none", false},
		// pgx would cut at the first @ and take the rest for the host.
		{"unencoded @ in the password", "postgres://plannr:x@" + password + "@" + closed + "/none?connect_timeout=2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(t.Context(), tc.url)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if errors.Is(err, plannroauth.ErrUnavailable) != tc.unavailable {
				t.Errorf("%v: errors.Is ErrUnavailable = %v, want %v", err, !tc.unavailable, tc.unavailable)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
