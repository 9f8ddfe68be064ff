package httpapi_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/httpapi"
	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

const (
	listRoute = "/api/v1/oauth/connections"
	connRoute = "/api/v1/oauth/connections/{oauthConnection_uuid}"
)

// faulty fails its next ListConnections once failNext is set, and holds
// UpdateConnection, while hold is set, until release is closed.
type faulty struct {
	store.Store
	failNext atomic.Bool
	hold     bool
	entered  chan struct{}
	release  chan struct{}
}

func newFaulty() *faulty {
	return &faulty{
		Store:   memory.New(),
		entered: make(chan struct{}),
		release: make(chan struct{}),
	}
}

func (f *faulty) ListConnections(ctx context.Context, owner plannroauth.UserID) ([]plannroauth.Connection, error) {
	if f.failNext.Swap(false) {
		return nil, errors.New("disk unplugged")
	}
	return f.Store.ListConnections(ctx, owner)
}

func (f *faulty) UpdateConnection(ctx context.Context, owner plannroauth.UserID, id uuid.UUID, update func(*plannroauth.Connection)) (plannroauth.Connection, error) {
	if f.hold {
		f.entered <- struct{}{}
		<-f.release
	}
	return f.Store.UpdateConnection(ctx, owner, id, update)
}

// newMeasuredServer is newServer with its metrics in a registry of their own,
// served by a second server, as plannr-server -metrics-addr does: a scrape
// then counts nothing itself.
func newMeasuredServer(t *testing.T, cfg httpapi.Config) (s *testServer, metricsURL string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Metrics = reg
	s = newServer(t, cfg)
	m := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(m.Close)
	return s, m.URL
}

// TestMetricsCountTheRequestsSent sends requests of every kind and finds each
// counted once, by route, method and status, with the store's calls behind
// them, and nothing in flight once they are answered.
func TestMetricsCountTheRequestsSent(t *testing.T) {
	st := newFaulty()
	s, metricsURL := newMeasuredServer(t, httpapi.Config{Store: st, Options: []server.Option{server.WithRateLimiter(server.NewFixedWindow(4, time.Hour))}})
	list := request{method: "GET", path: listRoute, token: aliceToken}
	steps := []struct {
		req      request
		failList bool
		want     int
	}{
		{req: list, want: 200},
		{req: list, want: 200},
		{req: put(connPath+aliceConn, `{"label":"x"}`), want: 200},
		{req: request{method: "DELETE", path: connPath + bobConn, token: aliceToken}, want: 404}, // plannroauth.ErrNotFound: no store error
		{req: list, want: 429}, // alice's fifth request in the window
		{req: request{method: "PUT", path: connPath + aliceConn, token: bobToken, contentType: "application/json", body: `{"label":42}`}, want: 422},
		{req: request{method: "GET", path: listRoute, token: bobToken}, failList: true, want: 500},
		{req: request{method: "GET", path: listRoute, token: "nobody"}, want: 401},
		{req: request{method: "PUT", path: connPath + aliceConn, contentType: "application/json", body: `{}`}, want: 401},
		{req: request{method: "GET", path: "/api/v1/" + aliceToken}, want: 404},
		{req: request{method: "BREW", path: listRoute}, want: 405},
		{req: request{method: "POST", path: listRoute}, want: 405},
		{req: request{method: "GET", path: "/healthz"}, want: 200},
		{req: request{method: "GET", path: "/readyz"}, want: 200},
	}
	for i, step := range steps {
		st.failNext.Store(step.failList)
		if got := s.do(t, step.req); got.status != step.want {
			t.Fatalf("step %d, %s %s: status %d, want %d: %s", i, step.req.method, step.req.path, got.status, step.want, got.body)
		}
	}

	requests := func(route, method, status string) string {
		return `plannr_http_requests_total{method="` + method + `",route="` + route + `",status="` + status + `"}`
	}
	durations := func(route, method string) string {
		return `plannr_http_request_duration_seconds_count{method="` + method + `",route="` + route + `"}`
	}
	want := metricstest.Samples{
		requests(listRoute, "GET", "200"):    2,
		requests(connRoute, "PUT", "200"):    1,
		requests(connRoute, "DELETE", "404"): 1,
		requests(listRoute, "GET", "429"):    1,
		requests(connRoute, "PUT", "422"):    1,
		requests(listRoute, "GET", "500"):    1,
		requests(listRoute, "GET", "401"):    1,
		requests(connRoute, "PUT", "401"):    1,
		requests("unmatched", "GET", "404"):  1, // never the raw path, which holds a token here
		requests(listRoute, "OTHER", "405"):  1,
		requests(listRoute, "POST", "405"):   1,
		requests("/healthz", "GET", "200"):   1,
		requests("/readyz", "GET", "200"):    1,
		durations(listRoute, "GET"):          5,
		durations(connRoute, "PUT"):          3,
		durations(connRoute, "DELETE"):       1,
		durations("unmatched", "GET"):        1,
		durations(listRoute, "OTHER"):        1,
		durations(listRoute, "POST"):         1,
		durations("/healthz", "GET"):         1,
		durations("/readyz", "GET"):          1,
		`plannr_http_requests_in_flight{}`:   0,
		`plannr_http_rate_limited_total{}`:   1,
	}
	if got := metricstest.Scrape(t, metricsURL, "plannr_http_"); !maps.Equal(got, want) {
		t.Errorf("HTTP metrics:\n%s\nwant:\n%s", got, want)
	}

	// Every request with a token was authenticated against the store, the 429
	// too; only the rest reached the other operations.
	calls := map[string]float64{"user_by_token": 8, "list_connections": 3, "update_label": 1, "delete_connection": 1, "ready": 1, "seed": 0, "empty": 0, "close": 0}
	want = metricstest.Samples{}
	for op, n := range calls {
		want[`plannr_store_operation_duration_seconds_count{operation="`+op+`"}`] = n
		want[`plannr_store_operation_errors_total{operation="`+op+`"}`] = 0
	}
	want[`plannr_store_operation_errors_total{operation="list_connections"}`] = 1
	if got := metricstest.Scrape(t, metricsURL, "plannr_store_"); !maps.Equal(got, want) {
		t.Errorf("store metrics:\n%s\nwant:\n%s", got, want)
	}
}

// TestMetricsInFlight holds a request in the store: it is in flight, and not
// yet counted, until it is answered.
func TestMetricsInFlight(t *testing.T) {
	st := newFaulty()
	st.hold = true
	s, metricsURL := newMeasuredServer(t, httpapi.Config{Store: st})
	answered := make(chan int)
	go func() {
		req, _ := http.NewRequest("PUT", s.URL+connPath+aliceConn, strings.NewReader(`{"label":"x"}`))
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-st.entered
	during := metricstest.Scrape(t, metricsURL, "plannr_http_")
	close(st.release)
	if status := <-answered; status != 200 {
		t.Fatalf("PUT: status %d", status)
	}
	after := metricstest.Scrape(t, metricsURL, "plannr_http_")

	done := `plannr_http_requests_total{method="PUT",route="` + connRoute + `",status="200"}`
	for _, tt := range []struct {
		name             string
		got              metricstest.Samples
		inFlight, counts float64
	}{
		{"while the store holds it", during, 1, 0},
		{"once answered", after, 0, 1},
	} {
		if tt.got[`plannr_http_requests_in_flight{}`] != tt.inFlight || tt.got[done] != tt.counts {
			t.Errorf("%s: in flight %v, counted %v; want %v, %v", tt.name, tt.got[`plannr_http_requests_in_flight{}`], tt.got[done], tt.inFlight, tt.counts)
		}
	}
}
