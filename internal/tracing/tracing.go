// Package tracing traces plannr-server's requests with OpenTelemetry: one
// server span per request (otelhttp), named after the route the server
// matched, such as "PUT /api/v1/oauth/connections/{oauthConnection_uuid}"
// (package server leaves it in Request.Pattern), with the answer's status
// code; exported over OTLP/HTTP.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// FromEnv returns a tracer provider that batches spans and exports them over
// OTLP/HTTP, or nil, for no tracing, unless OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. The exporter and the SDK read the
// other OTEL_* variables of the specification themselves
// (OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES,
// ...); OTEL_SERVICE_NAME, if set, replaces service. Shut the provider down
// to send the spans it still holds.
//
// An endpoint that is not an absolute http(s) URL, as the specification
// requires, is an error: the exporter would ignore it and send the spans to
// its default, https://localhost:4318, while the server says it traces.
func FromEnv(ctx context.Context, service string) (*sdktrace.TracerProvider, error) {
	set := false
	for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The value as given, but for a password it may hold: one the URL
			// parses as its user's is masked, and a value with a user that
			// does not parse so is not shown.
			shown := strconv.Quote(v)
			switch {
			case err == nil && u.User != nil:
				shown = strconv.Quote(u.Redacted())
			case strings.Contains(v, "@"):
				shown = "(not shown: it may hold a password)"
			}
			return nil, fmt.Errorf("%s=%s is not an absolute http(s) URL, such as http://localhost:4318", name, shown)
		}
		set = true
	}
	if !set {
		return nil, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, err
	}
	// Later detectors win: the environment's service name over service.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, err
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)), nil
}

// untraced are the pages that load balancers and scrapers ask for every few
// seconds: a span each would bury the requests worth reading.
var untraced = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// Handler traces each request that h answers with tp, but for those of
// /healthz, /readyz and /metrics. A request whose traceparent header (W3C
// Trace Context) names a caller's span continues the caller's trace.
func Handler(h http.Handler, tp trace.TracerProvider) http.Handler {
	return otelhttp.NewHandler(h, "",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		otelhttp.WithFilter(func(r *http.Request) bool { return !untraced[r.URL.Path] }))
}
