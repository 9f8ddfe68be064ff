package server_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// panicky panics on a delete, which the kit answers 500.
type panicky struct{ capture }

func (*panicky) DeleteOAuthConnection(context.Context, gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	panic("disk on fire")
}

// metricsOf serves reg's metrics on a server of their own, so that a scrape
// counts nothing itself.
func metricsOf(t testing.TB, reg *prometheus.Registry) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// countedWithPattern serves impl, counted in a registry of its own, behind a
// handler that reads Request.Pattern after each answer, as otelhttp does.
func countedWithPattern(t *testing.T, impl gen.StrictServerInterface) (s *server.Server, url string, reg *prometheus.Registry, pattern *string) {
	t.Helper()
	reg = prometheus.NewRegistry()
	s, err := server.New(impl, server.WithAuth(anyToken), server.WithoutLogging(), server.WithMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	pattern = new(string)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r)
		*pattern = r.Pattern
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL, reg, pattern
}

// TestMetricsAndPattern: a request is counted once under the route it
// matched, which the kit also leaves in Request.Pattern for the middleware in
// front of it; a client can make no new route or method label.
func TestMetricsAndPattern(t *testing.T) {
	_, url, reg, pattern := countedWithPattern(t, &panicky{})
	auth := http.Header{"Authorization": {"Bearer " + token}}
	tests := []struct {
		method, path string
		header       http.Header
		status       int
		pattern      string
	}{
		{"HEAD", "/api/v1/oauth/connections", auth, 200, "/api/v1/oauth/connections"},
		{"DELETE", connPath, auth, 500, "/api/v1/oauth/connections/{oauthConnection_uuid}"},
		{"OPTIONS", connPath, nil, 204, "/api/v1/oauth/connections/{oauthConnection_uuid}"},
		{"get", "/api/v1/oauth/connections", auth, 405, "/api/v1/oauth/connections"},
		{"BREW", "/coffee/" + token, nil, 404, ""},
		{"GET", "/docs/", nil, 404, ""}, // without WithDocs, no page
		{"GET", "/healthz", nil, 200, "/healthz"},
	}
	for _, tt := range tests {
		*pattern = "stale"
		resp, body := do(t, tt.method, url+tt.path, tt.header, "")
		if resp.StatusCode != tt.status || *pattern != tt.pattern {
			t.Errorf("%s %s: %d %s, Pattern %q; want %d, %q", tt.method, tt.path, resp.StatusCode, body, *pattern, tt.status, tt.pattern)
		}
	}
	requests := func(route, method, status string) string {
		return `plannr_http_requests_total{method="` + method + `",route="` + route + `",status="` + status + `"}`
	}
	want := metricstest.Samples{
		requests("/api/v1/oauth/connections", "HEAD", "200"):                           1,
		requests("/api/v1/oauth/connections/{oauthConnection_uuid}", "DELETE", "500"):  1, // the panic's answer
		requests("/api/v1/oauth/connections/{oauthConnection_uuid}", "OPTIONS", "204"): 1,
		requests("/api/v1/oauth/connections", "OTHER", "405"):                          1,
		requests("unmatched", "OTHER", "404"):                                          1,
		requests("unmatched", "GET", "404"):                                            1,
		requests("/healthz", "GET", "200"):                                             1,
	}
	if got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total"); !maps.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestClosedCountsTheRoute: a closed server's 503 is counted, and left in
// Request.Pattern, under the route the request is for, as any other answer
// is: during a shutdown, when its metrics are watched most, an API route's
// or /healthz's 503s are not "unmatched".
func TestClosedCountsTheRoute(t *testing.T) {
	s, url, reg, pattern := countedWithPattern(t, &capture{})
	s.Close()
	auth := http.Header{"Authorization": {"Bearer " + token}}
	for _, tt := range []struct{ method, path, pattern string }{
		{"GET", "/api/v1/oauth/connections", "/api/v1/oauth/connections"},
		{"DELETE", connPath, "/api/v1/oauth/connections/{oauthConnection_uuid}"},
		{"GET", "/healthz", "/healthz"},
		{"GET", "/nope", ""},
	} {
		*pattern = "stale"
		if resp, body := do(t, tt.method, url+tt.path, auth, ""); resp.StatusCode != http.StatusServiceUnavailable || *pattern != tt.pattern {
			t.Errorf("%s %s after Close: %d %s, Pattern %q; want 503, %q", tt.method, tt.path, resp.StatusCode, body, *pattern, tt.pattern)
		}
	}
	requests := func(route, method string) string {
		return `plannr_http_requests_total{method="` + method + `",route="` + route + `",status="503"}`
	}
	want := metricstest.Samples{
		requests("/api/v1/oauth/connections", "GET"):                           1,
		requests("/api/v1/oauth/connections/{oauthConnection_uuid}", "DELETE"): 1,
		requests("/healthz", "GET"):                                            1,
		requests("unmatched", "GET"):                                           1,
	}
	if got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total"); !maps.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestMetricsRegistry: servers given one registry count into the same
// metrics; a registry whose names are taken by other metrics is refused.
func TestMetricsRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		srv := start(t, &capture{}, server.WithMetrics(reg))
		do(t, "GET", srv.URL+"/healthz", nil, "")
	}
	got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total")
	if want := (metricstest.Samples{`plannr_http_requests_total{method="GET",route="/healthz",status="200"}`: 2}); !maps.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	// In flight, one server's request and the other's scrape: one gauge.
	release, entered := make(chan struct{}), make(chan struct{})
	slow := start(t, &capture{}, server.WithMetrics(reg), server.WithHandler("/slow", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(entered)
		<-release
	})))
	scraper := start(t, &capture{}, server.WithMetrics(reg), server.WithHandler("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.Get(slow.URL + "/slow"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	_, page := do(t, "GET", scraper.URL+"/metrics", nil, "")
	close(release)
	<-done
	if !strings.Contains(page, "\nplannr_http_requests_in_flight 2\n") {
		t.Errorf("in flight on two servers of one registry, not 2:\n%s", page)
	}

	taken := prometheus.NewRegistry()
	taken.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "plannr_http_requests_total", Help: "Another meaning."}))
	_, err := server.New(&capture{}, server.WithAuth(anyToken), server.WithMetrics(taken))
	if err == nil || !strings.Contains(err.Error(), "WithMetrics") {
		t.Errorf("a taken name: err = %v", err)
	}
}

// WithMetrics counts requests into a registry that the server serves beside
// the API, at /metrics.
func ExampleWithMetrics() {
	reg := prometheus.NewRegistry()
	h, err := server.New(connections{}, server.WithAuth(lookup), server.WithoutLogging(),
		server.WithMetrics(reg),
		server.WithHandler("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	show("GET", srv.URL+"/api/v1/oauth/connections", "alice-token", "")
	show("GET", srv.URL+"/api/v1/oauth/connections", "mallory-token", "")
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(page), "\n") {
		if strings.HasPrefix(line, "plannr_http_requests_total{") || strings.HasPrefix(line, "plannr_http_requests_in_flight ") {
			fmt.Println(line)
		}
	}
	// Output:
	// listing the connections of Alice
	// 200 {"data":[]}
	// 401 {"message":"Unauthenticated."}
	// plannr_http_requests_in_flight 1
	// plannr_http_requests_total{method="GET",route="/api/v1/oauth/connections",status="200"} 1
	// plannr_http_requests_total{method="GET",route="/api/v1/oauth/connections",status="401"} 1
}
