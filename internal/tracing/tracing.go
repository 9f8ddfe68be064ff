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
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
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
// Trace Context) names a caller's span continues the caller's trace. Where h
// is a server of package server, a span holds the status the server logs and
// counts the request with (server.StatusNoter), not the one otelhttp sees
// written: 499, and no error, for a client gone, under the 503 written.
func Handler(h http.Handler, tp trace.TracerProvider) http.Handler {
	return otelhttp.NewHandler(noteStatus(h), "",
		otelhttp.WithTracerProvider(provider{tp}),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		otelhttp.WithFilter(func(r *http.Request) bool { return !untraced[r.URL.Path] }))
}

// otelhttp sets a span's status code and status from the status it saw
// written, after h has returned, and ends the span itself; the span is the
// one place left to put the recorded status over them. provider and tracer
// make otelhttp's spans serverSpans, and noteStatus hands h a writer that
// passes the recorded status to the request's.

type provider struct{ trace.TracerProvider }

func (p provider) Tracer(name string, options ...trace.TracerOption) trace.Tracer {
	return tracer{p.TracerProvider.Tracer(name, options...)}
}

type tracer struct{ trace.Tracer }

func (t tracer) Start(ctx context.Context, name string, options ...trace.SpanStartOption) (context.Context, trace.Span) {
	ctx, span := t.Tracer.Start(ctx, name, options...)
	s := &serverSpan{Span: span}
	return trace.ContextWithSpan(ctx, s), s
}

// serverSpan is a request's span, which ends with the status the server
// recorded, once it has one.
type serverSpan struct {
	trace.Span
	status int // 0 until the server notes it
}

// SetStatus is otelhttp's, of the status written, which End replaces.
func (s *serverSpan) SetStatus(code codes.Code, description string) {
	if s.status == 0 {
		s.Span.SetStatus(code, description)
	}
}

// End sets the status the server recorded, also for a request whose
// connection was cut, of which otelhttp sets none: a server span's error is a
// 5xx, as the semantic conventions have it.
func (s *serverSpan) End(options ...trace.SpanEndOption) {
	if s.status != 0 {
		s.Span.SetAttributes(semconv.HTTPResponseStatusCode(s.status))
		if s.status >= http.StatusInternalServerError {
			s.Span.SetStatus(codes.Error, "")
		}
	}
	s.Span.End(options...)
}

// noteStatus gives h, for a request with a serverSpan, a writer that notes
// the status the server records in the span.
func noteStatus(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if span, ok := trace.SpanFromContext(r.Context()).(*serverSpan); ok {
			w = &statusNoter{w, span}
		}
		h.ServeHTTP(w, r)
	})
}

// statusNoter is a server.StatusNoter.
type statusNoter struct {
	http.ResponseWriter
	span *serverSpan
}

func (n *statusNoter) NoteStatus(status int) { n.span.status = status }

// Unwrap lets http.ResponseController reach the writer under it.
func (n *statusNoter) Unwrap() http.ResponseWriter { return n.ResponseWriter }
