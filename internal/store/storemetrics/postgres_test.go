package storemetrics_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storemetrics"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

var _ storemetrics.Pooled = (*store.Postgres)(nil)

// TestPostgresPool: the PostgreSQL store's pool statistics are collected
// with its calls, and move as it is used.
func TestPostgresPool(t *testing.T) {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "2")
	u.RawQuery = q.Encode()
	pg, err := store.OpenPostgres(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	before := pg.PoolStat().AcquireCount() // the migrations' acquires
	st, metricsURL := serve(t, pg)
	for range 3 {
		if _, err := st.Empty(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := metricstest.Scrape(t, metricsURL, "plannr_db_pool_")
	if got[`plannr_db_pool_max_connections{}`] != 2 || got[`plannr_db_pool_acquires_total{}`] != float64(before+3) ||
		got[`plannr_db_pool_connections{state="acquired"}`] != 0 || got[`plannr_db_pool_connections{state="idle"}`] < 1 {
		t.Errorf("pool metrics after 3 calls (%d acquires before):\n%s", before, got)
	}
	if calls := metricstest.Scrape(t, metricsURL, "plannr_store_operation_duration_seconds"); calls[`plannr_store_operation_duration_seconds_count{operation="empty"}`] != 3 {
		t.Errorf("store metrics:\n%s", calls)
	}
}
