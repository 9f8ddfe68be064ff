package storemetrics_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storemetrics"
)

// serve instruments st into a registry of its own, served over loopback.
func serve(t *testing.T, st store.Store) (*storemetrics.Store, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	measured, err := storemetrics.Instrument(st, reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return measured, srv.URL
}

// calls calls each method of a store once, by its operation's label.
var calls = []struct {
	op   string
	call func(context.Context, store.Store) error
}{
	{"user_by_token", func(ctx context.Context, st store.Store) error {
		_, err := st.UserByToken(ctx, store.HashToken("nobody"))
		return err
	}},
	{"list_connections", func(ctx context.Context, st store.Store) error { _, err := st.ListConnections(ctx, 1); return err }},
	{"update_label", func(ctx context.Context, st store.Store) error {
		_, err := st.UpdateLabel(ctx, 1, uuid.New(), store.LabelUpdate{Keep: true})
		return err
	}},
	{"delete_connection", func(ctx context.Context, st store.Store) error { return st.DeleteConnection(ctx, 1, uuid.New()) }},
	{"seed", func(ctx context.Context, st store.Store) error { return st.Seed(ctx, store.Seed{}) }},
	{"empty", func(ctx context.Context, st store.Store) error { _, err := st.Empty(ctx); return err }},
	{"ready", func(ctx context.Context, st store.Store) error { return st.Ready(ctx) }},
	{"close", func(_ context.Context, st store.Store) error { return st.Close() }},
}

// TestEveryMethodIsMeasured calls each method once, on a store that answers
// and on one that fails, and finds that call, and only it, counted under its
// operation, and a failure counted only when the store failed: not found is
// an answer.
func TestEveryMethodIsMeasured(t *testing.T) {
	closed, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "closed.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		store  store.Store
		failed map[string]bool // operations that fail
	}{
		{"answering", store.NewMemory(), map[string]bool{}},
		{"closed SQLite", closed, map[string]bool{"user_by_token": true, "list_connections": true, "update_label": true,
			"delete_connection": true, "seed": true, "empty": true, "ready": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, url := serve(t, tt.store)
			want := metricstest.Samples{}
			for _, c := range calls {
				want[`plannr_store_operation_duration_seconds_count{operation="`+c.op+`"}`] = 0
				want[`plannr_store_operation_errors_total{operation="`+c.op+`"}`] = 0
			}
			for _, c := range calls {
				err := c.call(context.Background(), st)
				if (err != nil && !errors.Is(err, store.ErrNotFound)) != tt.failed[c.op] {
					t.Fatalf("%s: error %v", c.op, err)
				}
				want[`plannr_store_operation_duration_seconds_count{operation="`+c.op+`"}`] = 1
				if tt.failed[c.op] {
					want[`plannr_store_operation_errors_total{operation="`+c.op+`"}`] = 1
				}
				if got := metricstest.Scrape(t, url, "plannr_store_"); !maps.Equal(got, want) {
					t.Fatalf("after %s:\n%s\nwant:\n%s", c.op, got, want)
				}
			}
		})
	}
}

// pooled is a store over a pgxpool.Pool, as the PostgreSQL store is.
type pooled struct {
	*store.Memory
	pool *pgxpool.Pool
}

func (p pooled) PoolStat() *pgxpool.Stat { return p.pool.Stat() }

// TestPoolStatistics reads a real pool's statistics: one whose server accepts
// the connection and then says nothing, so that an acquire is still
// constructing a connection when its context gives up.
func TestPoolStatistics(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg, err := pgxpool.ParseConfig("postgres://plannr@" + silent.Addr().String() + "/plannr?pool_max_conns=3&connect_timeout=30")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, url := serve(t, pooled{store.NewMemory(), pool})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := pool.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire from a silent server: %v", err)
	}
	want := metricstest.Samples{
		`plannr_db_pool_max_connections{}`:                                  3,
		`plannr_db_pool_connections{state="acquired"}`:                      0,
		`plannr_db_pool_connections{state="idle"}`:                          0,
		`plannr_db_pool_connections{state="constructing"}`:                  1,
		`plannr_db_pool_acquires_total{}`:                                   0,
		`plannr_db_pool_acquire_seconds_total{}`:                            0,
		`plannr_db_pool_empty_acquires_total{}`:                             0,
		`plannr_db_pool_empty_acquire_wait_seconds_total{}`:                 0,
		`plannr_db_pool_canceled_acquires_total{}`:                          1,
		`plannr_db_pool_new_connections_total{}`:                            1, // counted as it starts
		`plannr_db_pool_destroyed_connections_total{reason="max_lifetime"}`: 0,
		`plannr_db_pool_destroyed_connections_total{reason="max_idle"}`:     0,
	}
	if got := metricstest.Scrape(t, url, "plannr_db_pool_"); !maps.Equal(got, want) {
		t.Errorf("pool metrics:\n%s\nwant:\n%s", got, want)
	}
}
