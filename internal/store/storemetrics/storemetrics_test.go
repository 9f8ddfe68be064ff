package storemetrics_test

import (
	"context"
	"errors"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/sqlite"
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
		_, err := st.UserByToken(ctx, plannroauth.HashToken("nobody"))
		return err
	}},
	{"list_connections", func(ctx context.Context, st store.Store) error { _, err := st.ListConnections(ctx, 1); return err }},
	{"update_label", func(ctx context.Context, st store.Store) error {
		_, err := st.UpdateConnection(ctx, 1, uuid.New(), func(*plannroauth.Connection) {})
		return err
	}},
	{"delete_connection", func(ctx context.Context, st store.Store) error { return st.DeleteConnection(ctx, 1, uuid.New()) }},
	{"seed", func(ctx context.Context, st store.Store) error { return st.Seed(ctx, plannroauth.Data{}) }},
	{"empty", func(ctx context.Context, st store.Store) error { _, err := st.Empty(ctx); return err }},
	{"ready", func(ctx context.Context, st store.Store) error { return st.Ready(ctx) }},
	{"close", func(_ context.Context, st store.Store) error { return st.Close() }},
}

// TestEveryMethodIsMeasured calls each method once, on a store that answers
// and on one that fails, and finds that call, and only it, counted under its
// operation, and a failure counted only when the store failed: not found is
// an answer.
func TestEveryMethodIsMeasured(t *testing.T) {
	closed, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "closed.db"))
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
		{"answering", memory.New(), map[string]bool{}},
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
				if (err != nil && !errors.Is(err, plannroauth.ErrNotFound)) != tt.failed[c.op] {
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
