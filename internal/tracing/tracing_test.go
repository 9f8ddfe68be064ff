package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/httpapi"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/internal/tracing"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

const (
	token    = "demo-token"
	connPath = "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe"
	// A caller's span, as its traceparent header names it.
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceparent = "00-" + callerTrace + "-00f067aa0ba902b7-01"
)

// startTraced serves plannr-server's handler over the demo user, traced with tp.
func startTraced(t *testing.T, tp *sdktrace.TracerProvider) string {
	t.Helper()
	st := memory.New()
	if err := st.Seed(context.Background(), *fixtures.Demo(token)); err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewHandler(httpapi.Config{Store: st, Options: []server.Option{server.WithoutLogging()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tracing.Handler(h, tp))
	t.Cleanup(srv.Close)
	return srv.URL
}

func send(t *testing.T, method, url, body string, header http.Header) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestSpans: each request gives one server span, named after the route the
// server matched (never the raw path) and holding the answer's status; a
// traceparent continues the caller's trace; probes give none.
func TestSpans(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	base := startTraced(t, tp)
	auth := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	withParent := http.Header{"Authorization": {"Bearer " + token}, "Traceparent": {traceparent}}
	tests := []struct {
		method, path, body string
		header             http.Header
		status             int
		span               string // "" for none
		parentTrace        string
	}{
		{"PUT", connPath, `{"label":"x"}`, auth, 200, "PUT /api/v1/oauth/connections/{oauthConnection_uuid}", ""},
		{"GET", "/api/v1/oauth/connections", "", withParent, 200, "GET /api/v1/oauth/connections", callerTrace},
		{"PUT", connPath, `{"label":42}`, auth, 422, "PUT /api/v1/oauth/connections/{oauthConnection_uuid}", ""},
		{"DELETE", connPath, "", nil, 401, "DELETE /api/v1/oauth/connections/{oauthConnection_uuid}", ""},
		{"GET", "/api/v1/" + token, "", nil, 404, "GET", ""},
		{"GET", "/openapi.yaml", "", nil, 200, "GET /openapi.yaml", ""},
		{"GET", "/healthz", "", nil, 200, "", ""},
		{"GET", "/readyz", "", nil, 200, "", ""},
	}
	for _, tt := range tests {
		exporter.Reset()
		if got := send(t, tt.method, base+tt.path, tt.body, tt.header); got != tt.status {
			t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, got, tt.status)
		}
		spans := exporter.GetSpans()
		if tt.span == "" {
			if len(spans) != 0 {
				t.Errorf("%s %s: %d spans, want none", tt.method, tt.path, len(spans))
			}
			continue
		}
		if len(spans) != 1 {
			t.Fatalf("%s %s: %d spans, want 1", tt.method, tt.path, len(spans))
		}
		s := spans[0]
		status, _ := attr(s.Attributes, "http.response.status_code")
		if s.Name != tt.span || status.AsInt64() != int64(tt.status) {
			t.Errorf("%s %s: span %q status %v, want %q %d", tt.method, tt.path, s.Name, status.AsInterface(), tt.span, tt.status)
		}
		if parent := s.Parent.TraceID().String(); tt.parentTrace != "" && (parent != tt.parentTrace || s.SpanContext.TraceID().String() != tt.parentTrace) {
			t.Errorf("%s %s: trace %s, parent's %s; want the caller's %s", tt.method, tt.path, s.SpanContext.TraceID(), parent, tt.parentTrace)
		}
		if strings.Contains(s.Name, token) {
			t.Errorf("the span's name holds the raw path: %q", s.Name)
		}
	}
}

func attr(attrs []attribute.KeyValue, key string) (attribute.Value, bool) {
	for _, a := range attrs {
		if string(a.Key) == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestFromEnv: no endpoint, no tracing; with one, the spans reach it over
// OTLP/HTTP, here a collector stand-in on loopback, when the provider shuts
// down.
func TestFromEnv(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	if tp, err := tracing.FromEnv(context.Background(), "plannr-server"); tp != nil || err != nil {
		t.Fatalf("without an endpoint: %v, %v; want no provider", tp, err)
	}

	var mu sync.Mutex
	var received []*collectortrace.ExportTraceServiceRequest
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			t.Errorf("the collector got %s %s", r.Method, r.URL.Path)
		}
		mu.Lock()
		received = append(received, &req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(nil)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "")
	tp, err := tracing.FromEnv(context.Background(), "plannr-server")
	if err != nil || tp == nil {
		t.Fatalf("with an endpoint: %v, %v", tp, err)
	}
	base := startTraced(t, tp)
	send(t, "GET", base+"/api/v1/oauth/connections", "", http.Header{"Authorization": {"Bearer " + token}})
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	var names, services []string
	for _, req := range received {
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					services = append(services, a.Value.GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
	}
	if strings.Join(names, ",") != "GET /api/v1/oauth/connections" || strings.Join(services, ",") != "plannr-server" {
		t.Errorf("the collector got spans %q of services %q", names, services)
	}
}

// TestFromEnvRefusesAMalformedEndpoint: an endpoint the exporter would ignore,
// for its default, is an error that names the variable and its value, rather
// than tracing to somewhere else.
func TestFromEnvRefusesAMalformedEndpoint(t *testing.T) {
	tests := []struct {
		endpoint, traces string
		want             string // the error holds it
	}{
		{endpoint: "127.0.0.1:4318", want: `OTEL_EXPORTER_OTLP_ENDPOINT="127.0.0.1:4318"`},
		{endpoint: "localhost:4318", want: `OTEL_EXPORTER_OTLP_ENDPOINT="localhost:4318"`},
		{endpoint: "/v1/traces", want: `OTEL_EXPORTER_OTLP_ENDPOINT="/v1/traces"`},
		{endpoint: "grpc://collector:4317", want: `OTEL_EXPORTER_OTLP_ENDPOINT="grpc://collector:4317"`},
		{endpoint: "http://", want: `OTEL_EXPORTER_OTLP_ENDPOINT="http://"`},
		{traces: "collector:4318/v1/traces", want: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="collector:4318/v1/traces"`},
		// A good traces endpoint does not excuse a bad general one.
		{endpoint: "127.0.0.1:4318", traces: "http://127.0.0.1:4318/v1/traces", want: `OTEL_EXPORTER_OTLP_ENDPOINT="127.0.0.1:4318"`},
		// A password in the value is never shown, parsed or not.
		{endpoint: "grpc://user:s3cret@collector:4317", want: `OTEL_EXPORTER_OTLP_ENDPOINT="grpc://user:xxxxx@collector:4317"`},
		{endpoint: "user:s3cret@collector:4317", want: `OTEL_EXPORTER_OTLP_ENDPOINT=(not shown`},
	}
	for _, tt := range tests {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", tt.endpoint)
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", tt.traces)
		tp, err := tracing.FromEnv(context.Background(), "plannr-server")
		if tp != nil {
			_ = tp.Shutdown(context.Background())
		}
		if tp != nil || err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: a provider %t, error %v; want no provider and an error naming %s", tt.want, tp != nil, err, tt.want)
		}
	}
}

// noImpl is an implementation that no request of TestSpansHoldTheRecordedStatus reaches.
type noImpl struct{ gen.StrictServerInterface }

// TestSpansHoldTheRecordedStatus: a span holds the status the server logged
// and counted, where that is not the one written: a client that hangs up is
// a 499 and no error, although the server writes its 503 into the closed
// connection; a panic after the answer started is a 500, an error, although
// a 200 went out before the connection was cut.
func TestSpansHoldTheRecordedStatus(t *testing.T) {
	waiting := make(chan struct{}, 1)
	hangs := func(ctx context.Context, _ string) (server.Identity, error) {
		waiting <- struct{}{}
		<-ctx.Done()
		return server.Identity{}, ctx.Err()
	}
	panics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "half")
		w.(http.Flusher).Flush()
		panic("boom")
	})
	s, err := server.New(noImpl{}, server.WithAuth(hangs), server.WithHandler("/page", panics), server.WithoutLogging())
	if err != nil {
		t.Fatal(err)
	}
	exporter := tracetest.NewInMemoryExporter()
	srv := httptest.NewServer(tracing.Handler(s, sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))))
	defer srv.Close()

	tests := []struct {
		name, path string
		hangUp     bool
		status     int64
		code       codes.Code
	}{
		{"a client gone", "/api/v1/oauth/connections", true, server.StatusClientClosedRequest, codes.Unset},
		{"a panic after the answer started", "/page", false, http.StatusInternalServerError, codes.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exporter.Reset()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			if tt.hangUp {
				go func() { <-waiting; cancel() }()
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Fatalf("answered whole: %d", resp.StatusCode)
				}
			}
			var spans tracetest.SpanStubs
			for deadline := time.Now().Add(5 * time.Second); len(spans) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				spans = exporter.GetSpans()
			}
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			status, _ := attr(spans[0].Attributes, "http.response.status_code")
			if status.AsInt64() != tt.status || spans[0].Status.Code != tt.code {
				t.Errorf("span status code %v, status %v; want %d, %v", status.AsInterface(), spans[0].Status, tt.status, tt.code)
			}
		})
	}
}
