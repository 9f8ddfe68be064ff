//go:build unix

package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/internal/baseline"
	"github.com/plannr-toolkit/plannr-oauth/internal/httpapi"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// The benchmarks put the real handler (impl=full: routing, authentication,
// kin-openapi validation, the generated strict handler, the Service, a log line
// through a real slog handler) beside the hand-written one of package baseline
// (impl=baseline), over the same in-memory store, in one run: compare each pair,
// e.g. with benchstat -col /impl. BENCHMARKS.md has the numbers and how to read
// them.
//
// Besides sec/op, the wall time, each reports cpu-sec/op: the CPU time of the
// whole process (garbage collector included) per request. A neighbour on a
// shared machine stretches the first and barely moves the second, and it is
// the second that sets how many requests a busy server answers.

const benchToken = "bench-token"

// benchPUT is the seed's example request.
const benchPUT = `{"label":"My Fundment Account 2"}`

func BenchmarkPUT(b *testing.B) {
	benchPair(b, http.MethodPut, connPath+aliceConn, benchPUT, http.StatusOK)
}

func BenchmarkList(b *testing.B) {
	benchPair(b, http.MethodGet, "/api/v1/oauth/connections", "", http.StatusOK)
}

// BenchmarkPUTRejected is a PUT whose label is one character too long: 422.
func BenchmarkPUTRejected(b *testing.B) {
	benchPair(b, http.MethodPut, connPath+aliceConn, `{"label":"`+strings.Repeat("a", plannroauth.LabelMaxLength()+1)+`"}`, http.StatusUnprocessableEntity)
}

// BenchmarkPUTRateLimited is BenchmarkPUT's full stack with the rate limiter
// on, as plannr-server runs by default: the limiter's cost, which the baseline
// does not have. A window of a nanosecond opens anew for every request, so
// that the limit is never reached.
func BenchmarkPUTRateLimited(b *testing.B) {
	h, err := httpapi.NewHandler(httpapi.Config{Store: benchStore(b), Options: []server.Option{
		server.WithRateLimiter(server.NewFixedWindow(server.DefaultRateLimit, time.Nanosecond)), server.WithLogger(discardLogger())}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=full", func(b *testing.B) { measure(b, h, http.MethodPut, connPath+aliceConn, benchPUT, http.StatusOK) })
}

// BenchmarkPUTMeasured is BenchmarkPUT's full stack with metrics on, as
// plannr-server runs: the cost of counting the request and timing its store
// calls.
func BenchmarkPUTMeasured(b *testing.B) {
	h, err := httpapi.NewHandler(httpapi.Config{Store: benchStore(b), Metrics: prometheus.NewRegistry(),
		Options: []server.Option{server.WithoutRateLimit(), server.WithLogger(discardLogger())}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=full", func(b *testing.B) { measure(b, h, http.MethodPut, connPath+aliceConn, benchPUT, http.StatusOK) })
}

func benchPair(b *testing.B, method, path, body string, want int) {
	handlers := []struct {
		name string
		make func(store.Store) http.Handler
	}{
		{"baseline", func(st store.Store) http.Handler { return baseline.Handler(st, nil) }},
		{"full", func(st store.Store) http.Handler {
			h, err := httpapi.NewHandler(httpapi.Config{Store: st, Options: []server.Option{
				server.WithoutRateLimit(), // as plannr-server -rate-limit 0, which the load test runs
				server.WithLogger(discardLogger()),
			}})
			if err != nil {
				b.Fatal(err)
			}
			return h
		}},
	}
	for _, hh := range handlers {
		b.Run("impl="+hh.name, func(b *testing.B) {
			measure(b, hh.make(benchStore(b)), method, path, body, want)
		})
	}
}

// benchStore is a store with the demo user, of benchToken.
func benchStore(b *testing.B) store.Store {
	st := memory.New()
	if err := st.Seed(context.Background(), *fixtures.Demo(benchToken)); err != nil {
		b.Fatal(err)
	}
	return st
}

// measure runs b over h, reporting allocations and CPU time besides wall time.
func measure(b *testing.B, h http.Handler, method, path, body string, want int) {
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		w := serve(h, method, path, body)
		if w.Code != want {
			b.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// discardLogger is a real slog handler writing to io.Discard, so that
// formatting the log line is paid for.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// serve is one request of a benchmark: a new request and recorder each time, as
// a server has, which every handler pays for alike.
func serve(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+benchToken)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// BenchmarkHarness is what serve costs around a handler that does nothing: the
// part of every other benchmark that is neither handler's doing.
func BenchmarkHarness(b *testing.B) {
	b.ReportAllocs()
	nothing := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	start := cpuTime()
	for b.Loop() {
		serve(nothing, http.MethodPut, connPath+aliceConn, benchPUT)
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time the process has used so far, in all its threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
