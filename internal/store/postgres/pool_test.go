package postgres_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/postgres"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

// TestPostgresPool: the PostgreSQL store's pool statistics are collected, and
// move as it is used.
func TestPostgresPool(t *testing.T) {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "2")
	u.RawQuery = q.Encode()
	pg, err := postgres.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	before := pg.PoolStat().AcquireCount() // the migrations' acquires
	reg := prometheus.NewRegistry()
	reg.MustRegister(pg.Collector())
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	metricsURL := srv.URL
	for range 3 {
		if _, err := pg.Empty(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := metricstest.Scrape(t, metricsURL, "plannr_db_pool_")
	if got[`plannr_db_pool_max_connections{}`] != 2 || got[`plannr_db_pool_acquires_total{}`] != float64(before+3) ||
		got[`plannr_db_pool_connections{state="acquired"}`] != 0 || got[`plannr_db_pool_connections{state="idle"}`] < 1 {
		t.Errorf("pool metrics after 3 calls (%d acquires before):\n%s", before, got)
	}
}
