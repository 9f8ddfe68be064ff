package store_test

import (
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		return openPostgres(t, storetest.PostgresURL(t), store.WithClock(now))
	})
}

func BenchmarkPostgres(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openPostgres(b, storetest.PostgresURL(b)) })
}

func openPostgres(tb testing.TB, url string, opts ...store.Option) *store.Postgres {
	tb.Helper()
	s, err := store.OpenPostgres(tb.Context(), url, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
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
			s, err := store.OpenPostgres(t.Context(), url)
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
	want := []string{"00001_schema.sql", "00002_rate_limits.sql"}
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
	if err != nil || !slices.Equal(versions, []int64{0, 1, 2}) {
		t.Errorf("goose_db_version = %v, %v; want versions 0, 1, 2 once each", versions, err)
	}
}

// TestPostgresUnreachable: a database that cannot be reached is ErrUnavailable,
// which the server answers with 503, not a 500.
func TestPostgresUnreachable(t *testing.T) {
	storetest.PostgresURL(t) // the PostgreSQL tests run, or skip, together
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = store.OpenPostgres(t.Context(), "postgres://nobody@"+addr+"/none?connect_timeout=2")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("OpenPostgres of a closed port: %v, want ErrUnavailable", err)
	}
}
