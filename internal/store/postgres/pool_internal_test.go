package postgres

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
)

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
	reg := prometheus.NewRegistry()
	reg.MustRegister(poolCollector{pool.Stat})
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	url := srv.URL

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
