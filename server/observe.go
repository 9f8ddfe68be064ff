package server

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/routers"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/histogram"
	"github.com/plannr-toolkit/plannr-oauth/internal/nilcheck"
	"github.com/plannr-toolkit/plannr-oauth/internal/promreg"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// What the server tells of each request: its log line (observe) and its
// metrics (WithMetrics).

// StatusNoter is an http.ResponseWriter that wants the status its request
// is logged and counted with: given to ServeHTTP (of a Server, or of
// NewPages's handler), it is told, once the answer is done and before
// ServeHTTP returns or cuts the connection. That status is the final one
// written (an informational 1xx before it, such as 103 Early Hints, goes to
// the client as net/http sends it, and is no request's status), but for two:
// a client gone before its answer is StatusClientClosedRequest, under the 503
// written (which net/http cannot tell from the 503 a client waiting on a
// server shutting down must get), and a panic after the answer started is
// 500, under the status sent before the connection was cut.
// Middleware in front of the server, a tracer say, records it rather than
// the status it saw written, to agree with the server's log and metrics.
type StatusNoter interface {
	http.ResponseWriter
	NoteStatus(status int)
}

// observer is what tells of a server's answers: the IDs it names them by,
// its log and its metrics. A Server's handler (observe) and its Listener
// share it, so that net/http's own errors are told as its other answers are.
type observer struct {
	log     *slog.Logger
	metrics *metrics
	ids     *requestIDs
}

func newObserver(cfg config) *observer {
	return &observer{log: cfg.logger, metrics: cfg.metrics, ids: newRequestIDs()}
}

// observe wraps the whole server: it names the request (X-Request-Id), sets the
// headers every answer carries, turns a panic into a logged 500 in JSON, and logs
// one line per request. The line never holds a token, a label or a body.
//
// A panic after the answer's status has gone out (a page that panics halfway
// through its body) can no longer be a 500: the connection is cut
// (http.ErrAbortHandler), so that the client sees a broken answer rather
// than a short one that looks whole, and the request is logged at ERROR and
// counted as the 500 it is, whatever status was sent. A handler's own panic
// with http.ErrAbortHandler cuts the connection as it asks, and is logged and
// counted so too.
//
// It is never inlined, so that its log line's source (HandlerOptions.AddSource)
// is server.observe's, whatever server it makes.
//
//go:noinline
func observe(o *observer, next http.Handler) http.Handler {
	log, m, ids := o.log, o.metrics, o.ids
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = ids.next()
		}
		rec := &recorder{ResponseWriter: w, req: r, route: unmatched, id: [1]string{id}}
		h := w.Header()
		h["X-Request-Id"] = rec.id[:] // its value shared as noStore's is, in the recorder's allocation
		noStoreNoSniff(h)

		defer func() {
			cut := false
			switch p := recover(); {
			case p == http.ErrAbortHandler:
				// A handler's own way to cut the connection (httputil.ReverseProxy's,
				// when its upstream breaks off): no stack to log, but a failure all
				// the same, logged and counted as the others.
				rec.status, rec.err, cut = http.StatusInternalServerError, http.ErrAbortHandler, true
			case p != nil:
				log.ErrorContext(r.Context(), "panic", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if rec.status == 0 {
					WriteError(rec, r, apierror.ServerError)
				} else {
					rec.status, cut = http.StatusInternalServerError, true
				}
			case rec.failed:
				rec.status, cut = http.StatusInternalServerError, true
			case rec.short() && r.Context().Err() == nil:
				// The handler's failure, as a body too long is (Write).
				rec.err = fmt.Errorf("the body ended after %d bytes of the Content-Length %d", rec.written, rec.length)
				rec.status, cut = http.StatusInternalServerError, true
			}
			// A handler that wrote nothing answered net/http's empty 200.
			status := cmp.Or(rec.status, http.StatusOK)
			end := time.Now()
			took := end.Sub(start)
			m.answered(r.Method, rec.route, status, took)
			if n, ok := w.(StatusNoter); ok {
				n.NoteStatus(status)
			}
			level := levelOf(status)
			// The record log.LogAttrs would make, but for its two costs: the
			// time, which is end, and the caller's pc, which is always this
			// line's and is found once.
			if h := log.Handler(); h.Enabled(r.Context(), level) {
				line := slog.NewRecord(end, level, "request", logPC.get())
				line.AddAttrs(
					slog.String("method", r.Method),
					slog.String("route", rec.route),
					slog.Int("status", status),
					slog.Duration("duration", took),
					slog.String("request_id", id),
				)
				if rec.err != nil {
					line.AddAttrs(slog.String("error", rec.err.Error()))
				}
				_ = h.Handle(r.Context(), line)
			}
			if cut {
				// net/http closes the connection without a word on its log.
				panic(http.ErrAbortHandler)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// logPC is the pc of the request's log line, as slog gives it to a handler
// (for HandlerOptions.AddSource): the call site that makes the line.
var logPC callerPC

// callerPC is the pc of one call site, found by runtime.Callers the first
// time, where slog finds it on every line (with the clock read it saves, 0.9
// of BenchmarkPUTMeasured's 14.5 µs).
type callerPC struct{ pc atomic.Uintptr }

// get returns the pc of its caller's call site. Every call must come from
// one and the same site.
func (c *callerPC) get() uintptr {
	if pc := c.pc.Load(); pc != 0 {
		return pc
	}
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:]) // skip runtime.Callers and get
	c.pc.Store(pcs[0])
	return pcs[0]
}

// The values of the headers every answer carries, shared rather than allocated
// per request as Header.Set would. Sharing is safe because no one writes into a
// header's slice: Set and Del replace it, and Add appends to a slice that is
// full, which copies it.
var (
	noStore = []string{"no-store"}
	noSniff = []string{"nosniff"}
)

// noStoreNoSniff sets the headers of every answer on h. Answers hold users'
// data: no cache may keep them, no browser may guess a type other than the
// one declared.
func noStoreNoSniff(h http.Header) {
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = noSniff
}

// recorder remembers the route the request matched, the status a handler
// sent, and the unexpected error behind a 5xx (apierror.Noter). It answers
// 500 in place of a status the operation does not declare (refuse).
type recorder struct {
	http.ResponseWriter
	req   *http.Request
	route string
	// operation is the spec's operation the request matched, nil for none.
	operation *routers.Route
	status    int
	err       error
	id        [1]string // the X-Request-Id header's value
	// refused: an answer of an undeclared status was replaced; its body goes nowhere.
	refused bool
	// failed: an error came after the answer began (breakOff), and the
	// connection is to be cut.
	failed bool
	// length is the Content-Length the handler set as of its status, -1 for
	// none, and written the bytes of body written (short).
	length, written int64
}

// answer is one of the kit's writers that an answer is written to: the
// recorder, or the writer that holds the answer until it is checked.
type answer interface {
	// begun reports whether the answer has begun: a final status, a byte of
	// its body or a flush came.
	begun() bool
	// fail ends an answer begun, for an error that came after it: what the
	// client gets instead is the writer's to say.
	fail()
}

// answerOf returns the first of the kit's writers among w and those it
// wraps, or nil.
func answerOf(w http.ResponseWriter) answer {
	for {
		switch a := w.(type) {
		case *recorder:
			return a
		case *captured:
			return a
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}

func (r *recorder) begun() bool { return r.status != 0 }

// fail has the connection cut once the handler returns: the status has gone
// out, or will with what was written, and only a broken answer tells the
// client that it is not the one it seems.
func (r *recorder) fail() { r.failed = true }

// unmatched is the route of a log line for a request that matched none: never
// the raw path of an unknown URL, which may hold anything a client put there.
const unmatched = "unmatched"

// setRoute names the route of the request that w answers, for its log line,
// and the operation it matched, if any, whose statuses WriteError keeps to.
func setRoute(w http.ResponseWriter, route string, operation *routers.Route) {
	if route == "" {
		route = unmatched
	}
	if rec := recorderOf(w); rec != nil {
		rec.route, rec.operation = route, operation
	}
}

// recorderOf returns the recorder among w and the writers it wraps, or nil.
func recorderOf(w http.ResponseWriter) *recorder {
	for {
		if rec, ok := w.(*recorder); ok {
			return rec
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}

func (r *recorder) NoteError(err error) { r.err = err }

// clientGone records that the client went away before the answer: the
// request is logged and counted as StatusClientClosedRequest, not as the
// server's failure.
func (r *recorder) clientGone() {
	if r.status == 0 {
		r.status = StatusClientClosedRequest
	}
}

func (r *recorder) WriteHeader(status int) {
	validStatus(status)
	if informational(status) {
		// Not the answer's status: net/http sends it at once, and the
		// answer follows.
		r.ResponseWriter.WriteHeader(status)
		return
	}
	if r.status == 0 {
		if r.operation != nil && !validation.Declares(r.operation, status) {
			r.refuse(status)
			return
		}
		r.status, r.length = status, contentLength(r.ResponseWriter.Header())
	}
	r.ResponseWriter.WriteHeader(status)
}

// contentLength is the Content-Length of h as net/http takes it at
// WriteHeader, -1 for none.
func contentLength(h http.Header) int64 {
	v := h["Content-Length"]
	if len(v) == 0 {
		return -1
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// short reports whether the answer's body ended before the Content-Length
// the handler set, which net/http answers by closing the connection: the
// client's answer is broken. A HEAD's, a 204's and a 304's answer have no
// body to fall short.
func (r *recorder) short() bool {
	return r.written < r.length && r.req.Method != http.MethodHead &&
		r.status != http.StatusNoContent && r.status != http.StatusNotModified
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK) // as net/http would, and checked as any status
	}
	if r.refused {
		return len(b), nil
	}
	n, err := r.ResponseWriter.Write(b)
	r.written += int64(n)
	if err == http.ErrContentLength && !r.failed {
		// A body longer than the Content-Length the handler set: net/http
		// sends none of the rest and closes the connection, a broken answer,
		// which is the handler's failure however it takes the error.
		breakOff(r, r, r.req, err)
	}
	return n, err
}

// FlushError sends what was written so far; a flush before WriteHeader sends
// a 200, as net/http's does, which the recorder records, and checks as any
// status: the answer has started.
func (r *recorder) FlushError() error {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(r.ResponseWriter).Flush()
}

// Flush is FlushError for handlers that flush through http.Flusher, as most do.
func (r *recorder) Flush() { _ = r.FlushError() }

// Unwrap lets http.ResponseController reach the connection's own writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// validStatus panics, as net/http's WriteHeader does, on a status that has
// no three digits, before a writer of the server's records it: recorded, it
// would keep observe's recovery from writing its JSON 500, and net/http would
// send an empty 200.
func validStatus(status int) {
	if status < 100 || status > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", status))
	}
}

// informational reports whether status is an interim answer, such as 103
// Early Hints, which net/http sends at once, with the headers set so far, and
// follows with the final one: any 1xx but 101 Switching Protocols, after
// which no other answer comes (net/http's response.WriteHeader).
func informational(status int) bool {
	return status >= 100 && status <= 199 && status != http.StatusSwitchingProtocols
}

// levelOf is the level of an answer's request line: ERROR for a 5xx, which
// an operator must look at, INFO for the rest.
func levelOf(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// requestIDs hands out IDs that are unique without a random read per request: a
// random prefix per process and a counter.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &requestIDs{prefix: hex.EncodeToString(b) + "-"}
}

// next returns a new ID in one allocation, where prefix + FormatUint would take
// two.
func (g *requestIDs) next() string {
	var b [48]byte
	return string(strconv.AppendUint(append(b[:0], g.prefix...), g.n.Add(1), 10))
}

// validRequestID accepts a caller's ID only if it is short and plain, so that it
// cannot forge log lines.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// WithMetrics counts the server's requests in reg, for Prometheus:
//
//	plannr_http_requests_total{route, method, status}    counter
//	    requests answered, by route, method and status code (499 for a
//	    client that went away before its answer)
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
// make series without end. net/http's own errors, which Server.Listener
// tells of, are counted in plannr_http_requests_total alone, under route
// "unmatched" and the empty method, as no method was read.
//
// reg is usually a *prometheus.Registry, served with promhttp.HandlerFor:
// through WithHandler("/metrics", ...) beside the API, or on an address of its
// own. prometheus.WrapRegistererWithPrefix and WrapRegistererWith rename the
// metrics or add labels to them. Servers given the same reg count into the
// same metrics. A nil reg counts nothing, as without the option; a nil
// pointer in reg (a (*prometheus.Registry)(nil)), which would panic at the
// first metric registered, fails New, Wrap and NewPages.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(c *config) error {
		if reg == nil {
			c.metrics = nil
			return nil
		}
		if err := nilcheck.Error("the registry", reg); err != nil {
			return fmt.Errorf("WithMetrics: %w", err)
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
	duration    *histogram.Vec
	inFlight    *inFlight
	rateLimited prometheus.Counter

	// series holds the request counter and duration histogram of each
	// route, method and status met so far, which the vectors would find
	// again for each request by hashing the labels and taking a read lock
	// that two cores contend for. A new one is added to a copy of the map
	// under adding; a request reads the map without a lock.
	series atomic.Pointer[map[seriesKey]requestSeries]
	adding sync.Mutex
}

type seriesKey struct {
	route, method string
	status        int
}

type requestSeries struct {
	requests prometheus.Counter
	duration *histogram.Series
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
	// A histogram that two cores observe into without contending for a
	// compare-and-swap, as they would for prometheus.Histogram's sum.
	m.duration, errs[1] = promreg.Register(reg, histogram.New("plannr_http_request_duration_seconds",
		"Time from an HTTP request's arrival at the server to the end of its answer, by route and method.",
		durationBuckets, "route", "method"))
	m.inFlight, errs[2] = promreg.Register(reg, &inFlight{desc: prometheus.NewDesc("plannr_http_requests_in_flight",
		"HTTP requests being answered now.", nil, nil)})
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.n.Add(1)
		defer m.inFlight.n.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// inFlight is plannr_http_requests_in_flight, a gauge that a request moves
// with one atomic add each way, where prometheus.Gauge's Inc and Dec are
// compare-and-swap loops on a float's bits, which two cores that count at
// once make retry. Servers on one registry share it, as they would share a
// Gauge (promreg.Register).
type inFlight struct {
	n    atomic.Int64
	desc *prometheus.Desc
}

func (g *inFlight) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *inFlight) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(g.n.Load()))
}

// answered counts a request that matched route, was answered status, and
// took took.
func (m *metrics) answered(method, route string, status int, took time.Duration) {
	if m == nil {
		return
	}
	rs := m.seriesOf(seriesKey{route, methodLabel(method), status})
	rs.requests.Inc()
	rs.duration.Observe(took)
}

// seriesOf returns the series of k, from the vectors the first time.
func (m *metrics) seriesOf(k seriesKey) requestSeries {
	if all := m.series.Load(); all != nil {
		if rs, ok := (*all)[k]; ok {
			return rs
		}
	}
	m.adding.Lock()
	defer m.adding.Unlock()
	all := map[seriesKey]requestSeries{}
	if old := m.series.Load(); old != nil {
		maps.Copy(all, *old)
	}
	// headerValue's strings, which are made once, rather than a new one per series.
	rs := requestSeries{m.requests.WithLabelValues(k.route, k.method, headerValue(k.status)[0]), m.duration.With(k.route, k.method)}
	all[k] = rs
	m.series.Store(&all)
	return rs
}

// answeredUnread counts an answer of status that net/http gave before any
// handler read its request (Server.Listener): its route is unmatched, its
// method the empty label, and its duration is not observed, as its start is
// not known.
func (m *metrics) answeredUnread(status int) {
	if m != nil {
		m.requests.WithLabelValues(unmatched, "", headerValue(status)[0]).Inc()
	}
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
