package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plannr-toolkit/plannr-oauth/internal/promreg"
)

// WithMetrics counts the server's requests in reg, for Prometheus:
//
//	plannr_http_requests_total{route, method, status}    counter
//	    requests answered, by route, method and status code
//	plannr_http_request_duration_seconds{route, method}  histogram
//	    from the request's arrival at the server to the end of its answer
//	plannr_http_requests_in_flight                       gauge
//	    requests being answered now (a scrape of this server's own /metrics
//	    counts itself)
//	plannr_http_rate_limited_total                       counter
//	    requests the RateLimiter refused, each answered 429
//
// route is the template of the spec's path that the request matched, such as
// /api/v1/oauth/connections/{oauthConnection_uuid}, also for a 405; the path
// of a page of the server's own, such as /healthz, or the prefix of a subtree
// such as /docs/; and "unmatched" for any other path, whose raw form, which
// holds whatever a client put there, is never a label. method is one of the
// methods of RFC 9110 and RFC 5789 (GET, HEAD, POST, PUT, PATCH, DELETE,
// OPTIONS, CONNECT, TRACE), and OTHER for any other, so that no client can
// make series without end.
//
// reg is usually a *prometheus.Registry, served with promhttp.HandlerFor:
// through WithHandler("/metrics", ...) beside the API, or on an address of its
// own. prometheus.WrapRegistererWithPrefix and WrapRegistererWith rename the
// metrics or add labels to them. Servers given the same reg count into the
// same metrics. A nil reg counts nothing, as without the option.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(c *config) error {
		if reg == nil {
			c.metrics = nil
			return nil
		}
		m, err := newMetrics(reg)
		if err != nil {
			return fmt.Errorf("WithMetrics: %w", err)
		}
		c.metrics = m
		return nil
	}
}

// metrics are the server's Prometheus metrics. A nil *metrics counts nothing,
// so that the request path calls it without asking.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	rateLimited prometheus.Counter
}

// durationBuckets reach below prometheus.DefBuckets, whose least is 5 ms: a
// request over an in-memory or SQLite store takes well under that.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	var m metrics
	var errs [4]error
	m.requests, errs[0] = promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plannr_http_requests_total",
		Help: "HTTP requests answered, by route (the spec's path template, the server's page, or unmatched), method and status code.",
	}, []string{"route", "method", "status"}))
	m.duration, errs[1] = promreg.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "plannr_http_request_duration_seconds",
		Help:    "Time from an HTTP request's arrival at the server to the end of its answer, by route and method.",
		Buckets: durationBuckets,
	}, []string{"route", "method"}))
	m.inFlight, errs[2] = promreg.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "plannr_http_requests_in_flight",
		Help: "HTTP requests being answered now.",
	}))
	m.rateLimited, errs[3] = promreg.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "plannr_http_rate_limited_total",
		Help: "HTTP requests that the rate limiter refused, each answered 429.",
	}))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return &m, nil
}

// countInFlight counts the requests that h is answering.
func (m *metrics) countInFlight(h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return promhttp.InstrumentHandlerInFlight(m.inFlight, h)
}

// answered counts a request that started at start, matched route, and was
// answered status.
func (m *metrics) answered(method, route string, status int, start time.Time) {
	if m == nil {
		return
	}
	if status == 0 {
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	method = methodLabel(method)
	// headerValue's strings, which are made once, rather than a new one per request.
	m.requests.WithLabelValues(route, method, headerValue(status)[0]).Inc()
	m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
}

// refused counts a request that the rate limiter refused.
func (m *metrics) refused() {
	if m != nil {
		m.rateLimited.Inc()
	}
}

// methodLabel is method if it is a standard one, and "OTHER" otherwise: a
// label's values must be few, and a client can send any method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}
