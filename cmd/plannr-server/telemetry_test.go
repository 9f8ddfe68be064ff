package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/buildinfo"
	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

// TestMetricsAddress: /metrics is served beside the API by default, where a
// scrape is a request like any other, and with -metrics-addr on that address
// alone; either counts exactly the API's requests.
func TestMetricsAddress(t *testing.T) {
	const listed = `plannr_http_requests_total{method="GET",route="/api/v1/oauth/connections",status="200"}`
	const scraped = `plannr_http_requests_total{method="GET",route="/metrics",status="200"}`
	const notThere = `plannr_http_requests_total{method="GET",route="unmatched",status="404"}`
	tests := []struct {
		name          string
		metricsAddr   string
		first, second metricstest.Samples // what two scrapes in a row find
	}{
		{"beside the API", "", metricstest.Samples{listed: 2}, metricstest.Samples{listed: 2, scraped: 1}},
		// The API's server counts the GET /metrics it refused; the scrapes go elsewhere.
		{"on an address of its own", "127.0.0.1:0", metricstest.Samples{listed: 2, notThere: 1}, metricstest.Samples{listed: 2, notThere: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, printed, stop := startServer(t, config{db: ":memory:", fixtures: exampleFixtures, rateLimit: 500, rateWindow: time.Minute, metricsAddr: tt.metricsAddr})
			defer stop()
			metricsURL := base + "/metrics"
			if tt.metricsAddr != "" {
				metricsURL = strings.TrimPrefix(printed[0], "metrics on ")
				if !strings.HasPrefix(metricsURL, "http://127.0.0.1:") || metricsURL == base+"/metrics" {
					t.Fatalf("printed %q", printed)
				}
				// The API's address serves no metrics, and the metrics' address no API.
				for _, url := range []string{base + "/metrics", strings.TrimSuffix(metricsURL, "/metrics") + connections} {
					resp, err := http.Get(url)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 404 || string(body) != `{"message":"The route could not be found."}`+"\n" {
						t.Errorf("GET %s: %d %s", url, resp.StatusCode, body)
					}
				}
			}
			alice := newClient(t, base, aliceToken)
			for range 2 {
				if resp, err := alice.ListOAuthConnectionsWithResponse(context.Background()); err != nil || resp.StatusCode() != 200 {
					t.Fatalf("list: %v %v", err, resp)
				}
			}
			first := metricstest.Scrape(t, metricsURL, "plannr_http_requests_total")
			if !maps.Equal(first, tt.first) {
				t.Errorf("first scrape:\n%s\nwant:\n%s", first, tt.first)
			}
			if second := metricstest.Scrape(t, metricsURL, "plannr_http_requests_total"); !maps.Equal(second, tt.second) {
				t.Errorf("second scrape:\n%s\nwant:\n%s", second, tt.second)
			}
			// The store's calls and the runtime's metrics are there too.
			if got := metricstest.Scrape(t, metricsURL, "plannr_store_operation_duration_seconds"); got[`plannr_store_operation_duration_seconds_count{operation="list_connections"}`] != 2 {
				t.Errorf("store metrics:\n%s", got)
			}
			if got := metricstest.Scrape(t, metricsURL, "go_goroutines"); len(got) != 1 {
				t.Errorf("no Go runtime metrics: %v", got)
			}
			bi := buildinfo.Read()
			build := metricstest.Samples{fmt.Sprintf(`plannr_build_info{goversion=%q,revision=%q,version=%q}`, bi.GoVersion, bi.Revision, bi.Version): 1}
			if got := metricstest.Scrape(t, metricsURL, "plannr_build_info"); !maps.Equal(got, build) {
				t.Errorf("build info:\n%s\nwant:\n%s", got, build)
			}
		})
	}
}

// TestMetricsAddressAnswersAsThePage: on -metrics-addr, /metrics and any
// other path answer as they do beside the API: GET and HEAD only, a JSON 405
// with Allow for any other method, a JSON 404 elsewhere, every answer with
// the headers every answer carries, and one log line a request.
func TestMetricsAddressAnswersAsThePage(t *testing.T) {
	beside, _, stopBeside := startServer(t, config{db: ":memory:", rateLimit: 500, rateWindow: time.Minute})
	defer stopBeside()
	var logs logtest.Buffer
	_, printed, stopApart := startServerLogging(t, config{db: ":memory:", rateLimit: 500, rateWindow: time.Minute, metricsAddr: "127.0.0.1:0"},
		slog.New(slog.NewTextHandler(&logs, nil)))
	defer stopApart()
	apart := strings.TrimSuffix(strings.TrimPrefix(printed[0], "metrics on "), "/metrics")

	requests := []struct{ method, path string }{
		{"GET", "/metrics"}, {"HEAD", "/metrics"}, {"PUT", "/metrics"}, {"DELETE", "/metrics"},
		{"OPTIONS", "/metrics"}, {"POST", "/metrics"}, {"GET", "/nope"}, {"OPTIONS", "/nope"},
	}
	// answer is what must agree: the status, the headers but those of one
	// answer alone, and an error's body.
	answer := func(base, method, path string) string {
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s%s: no X-Request-Id", method, base, path)
		}
		for _, name := range []string{"X-Request-Id", "Date", "Content-Length"} {
			resp.Header.Del(name)
		}
		if resp.StatusCode == http.StatusOK {
			body = nil // the metrics, which differ from one scrape to the next
		}
		return fmt.Sprintf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
	for _, rq := range requests {
		if got, want := answer(apart, rq.method, rq.path), answer(beside, rq.method, rq.path); got != want {
			t.Errorf("%s %s on -metrics-addr:\n%s\nbeside the API:\n%s", rq.method, rq.path, got, want)
		}
	}
	// A request net/http cannot parse is JSON too, with its id and its line.
	c, err := net.Dial("tcp", strings.TrimPrefix(apart, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/json" || id == "" {
		t.Errorf("a malformed request on -metrics-addr: %d %v, want a JSON 400 with an X-Request-Id", resp.StatusCode, resp.Header)
	}
	stopApart() // every line is written
	if n := strings.Count(logs.String(), "msg=request "); n != len(requests)+1 {
		t.Errorf("%d request lines for %d requests:\n%s", n, len(requests)+1, logs.String())
	}
	if line := " msg=request route=unmatched status=400 request_id=" + id + " "; !strings.Contains(logs.String(), line) {
		t.Errorf("no line%s... in the log:\n%s", line, logs.String())
	}
}

// TestPoolMetrics: on PostgreSQL, /metrics holds the pool's statistics.
func TestPoolMetrics(t *testing.T) {
	base, _, stop := startServer(t, config{db: storetest.PostgresURL(t), fixtures: exampleFixtures, rateLimit: 500, rateWindow: time.Minute})
	defer stop()
	if resp, err := newClient(t, base, aliceToken).ListOAuthConnectionsWithResponse(context.Background()); err != nil || resp.StatusCode() != 200 {
		t.Fatalf("list: %v %v", err, resp)
	}
	got := metricstest.Scrape(t, base+"/metrics", "plannr_db_pool_")
	if got[`plannr_db_pool_max_connections{}`] < 1 || got[`plannr_db_pool_acquires_total{}`] < 1 {
		t.Errorf("pool metrics:\n%s", got)
	}
}

// TestTracingFromTheEnvironment: with OTEL_EXPORTER_OTLP_ENDPOINT set, the
// server's spans reach that endpoint by the time it has shut down.
func TestTracingFromTheEnvironment(t *testing.T) {
	var mu sync.Mutex
	var exported []byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/v1/traces" {
			exported = append(exported, body...)
		}
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")

	base, _, stop := startServer(t, config{db: ":memory:", fixtures: exampleFixtures, rateLimit: 500, rateWindow: time.Minute})
	if resp, err := newClient(t, base, aliceToken).ListOAuthConnectionsWithResponse(context.Background()); err != nil || resp.StatusCode() != 200 {
		t.Fatalf("list: %v %v", err, resp)
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	// The span's name is a string of the protobuf body, as written.
	if !bytes.Contains(exported, []byte("GET /api/v1/oauth/connections")) {
		t.Errorf("the collector got no span of the request: %q", exported)
	}
}

// TestTracingErrorsGoToTheLog: OpenTelemetry's errors (here, a collector
// that refuses the spans) are lines of the server's log, at WARN, never lines
// of their own on stderr that break its format.
func TestTracingErrorsGoToTheLog(t *testing.T) {
	refused := make(chan struct{}, 1)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "no room", http.StatusInternalServerError) // an error the exporter does not retry
		select {
		case refused <- struct{}{}:
		default:
		}
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "10") // ms: the batch goes out at once, not at shutdown

	p := startProcess(t, "-db", ":memory:", "-fixtures", exampleFixtures)
	if status, _ := get(t, &http.Client{}, p.base, connections, aliceToken); status != http.StatusOK {
		t.Fatalf("GET: %d", status)
	}
	select {
	case <-refused:
	case <-time.After(10 * time.Second):
		t.Fatal("no span was exported")
	}
	time.Sleep(2 * logFlushInterval) // for the error to be handled
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("exit: %v", err)
	}
	logs := strings.TrimSuffix(p.stderr.String(), "\n")
	for _, line := range strings.Split(logs, "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a line not of the log: %q", line)
		}
	}
	if !strings.Contains(logs, `level=WARN msg="tracing: OpenTelemetry failed" error=`) {
		t.Errorf("the export's error is not in the log:\n%s", logs)
	}
}
