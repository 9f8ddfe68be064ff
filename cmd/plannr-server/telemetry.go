package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"

	"github.com/plannr-toolkit/plannr-oauth/internal/buildinfo"
	"github.com/plannr-toolkit/plannr-oauth/internal/tracing"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// startMetrics makes the registry of the server's metrics, with the Go
// runtime's and the process's, and serves it at /metrics: with
// cfg.metricsAddr, on a server of its own, which it starts (srv, to shut down
// after the API's); without, beside the API, through the options it returns.
func startMetrics(cfg config, stdout io.Writer, log *slog.Logger) (reg *prometheus.Registry, opts []server.Option, srv *http.Server, err error) {
	reg = prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoGauge(buildinfo.Read()))
	page := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if cfg.metricsAddr == "" {
		return reg, []server.Option{server.WithHandler("/metrics", page)}, nil, nil
	}
	// The page answers as it would beside the API, with its log line, but
	// uncounted: the metrics count the API's requests.
	h, err := server.NewPages(server.WithHandler("/metrics", page), server.WithLogger(log))
	if err != nil {
		return nil, nil, nil, err
	}
	ln, err := net.Listen("tcp", cfg.metricsAddr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("-metrics-addr: %w", err)
	}
	srv = newHTTPServer(h, log, cfg.limits)
	go func() { _ = srv.Serve(h.Listener(ln)) }() // net/http's own errors in JSON, logged by h
	fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", ln.Addr())
	return reg, nil, srv, nil
}

// buildInfoGauge is plannr_build_info, always 1, labelled with what runs: a
// dashboard joins it to other series to see which version a replica serves,
// during a rollout say.
func buildInfoGauge(bi buildinfo.Info) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "plannr_build_info",
		Help:        "The build of plannr-server that runs: its version, VCS revision and Go version. Always 1.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	})
	g.Set(1)
	return g
}

// traced returns h traced with OpenTelemetry if the environment names an
// OTLP endpoint (tracing.FromEnv), and h itself otherwise; stop sends the
// spans still held, within timeout. OpenTelemetry's errors, such as an
// export the collector refused, are WARN lines of log: they cost spans, not
// answers. (Its default handler would write them to stderr with the log
// package, outside the log's format.)
func traced(ctx context.Context, h http.Handler, log *slog.Logger, timeout time.Duration) (_ http.Handler, stop func(), err error) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: OpenTelemetry failed", "error", err)
	}))
	tp, err := tracing.FromEnv(ctx, "plannr-server")
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	if tp == nil {
		return h, func() {}, nil
	}
	log.Info("tracing requests to the OTLP endpoint of the environment")
	return tracing.Handler(h, tp), func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			log.Warn("tracing: spans lost at shutdown", "error", err)
		}
	}, nil
}
