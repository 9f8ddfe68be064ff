package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// script is what the fuzzer has an implementation do: its bytes, read in
// turn, 0 once they run out.
type script struct {
	mu sync.Mutex
	b  []byte
}

func (s *script) next() byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

// statuses are the statuses a script writes: declared ones, undeclared ones,
// interim ones and net/http's edges.
var statuses = []int{200, 204, 100, 103, 101, 301, 304, 400, 401, 404, 405, 413, 415, 418, 422, 429, 500, 503, 599, 999}

// headers are the headers a script sets: of the answer it composes, and the
// server's own.
var headers = [][2]string{
	{"Content-Type", "text/plain"}, {"Content-Length", "3"}, {"Location", "/elsewhere"},
	{"Set-Cookie", "a=b"}, {"X-Custom", "1"}, {"Content-Type", "application/json"},
	{"Retry-After", "1"}, {"X-Ratelimit-Limit", "-1"}, {"Cache-Control", "public"},
}

// act does what the script's next steps say, on w, until one ends them.
func (s *script) act(w http.ResponseWriter) error {
	for range 6 {
		switch s.next() % 9 {
		case 0:
			return nil
		case 1:
			h := headers[int(s.next())%len(headers)]
			w.Header().Set(h[0], h[1])
		case 2:
			w.WriteHeader(statuses[int(s.next())%len(statuses)])
		case 3:
			_, _ = io.WriteString(w, `{"message":"written"}`)
		case 4:
			_, _ = io.WriteString(w, "text")
		case 5:
			_ = http.NewResponseController(w).Flush()
		case 6:
			return s.err()
		case 7:
			panic("boom")
		case 8:
			panic(http.ErrAbortHandler)
		}
	}
	return nil
}

// err is the error the script's next byte names.
func (s *script) err() error {
	return []error{
		errors.New("disk full"), plannroauth.ErrNotFound, server.ErrUnauthenticated,
		server.ErrUnavailable, context.DeadlineExceeded, plannroauth.ErrCanceled,
		fmt.Errorf("wrapped: %w", plannroauth.ErrNotFound),
	}[int(s.next())%7]
}

// scripted is a response object of every operation, written by its script.
type scripted struct{ s *script }

func (r scripted) VisitUpdateOAuthConnectionResponse(w http.ResponseWriter) error { return r.s.act(w) }
func (r scripted) VisitDeleteOAuthConnectionResponse(w http.ResponseWriter) error { return r.s.act(w) }
func (r scripted) VisitListOAuthConnectionsResponse(w http.ResponseWriter) error  { return r.s.act(w) }

// scriptedImpl answers every operation as its script says: with a response
// object, generated or scripted, an error, nothing, or a panic.
type scriptedImpl struct{ s *script }

func (i scriptedImpl) answer(generated ...any) (any, error) {
	switch i.s.next() % 6 {
	case 0:
		return generated[int(i.s.next())%len(generated)], nil
	case 1:
		return scripted(i), nil
	case 2:
		return nil, i.s.err()
	case 3:
		return nil, nil
	case 4:
		panic("boom")
	default:
		return generated[0], i.s.err() // a response and an error: the error wins
	}
}

func (i scriptedImpl) UpdateOAuthConnection(context.Context, gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	status := statuses[int(i.s.next())%len(statuses)]
	r, err := i.answer(gen.UpdateOAuthConnection200JSONResponse{},
		gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound},
		gen.UpdateOAuthConnectiondefaultJSONResponse{StatusCode: status, Body: gen.Error{Message: "default"}})
	obj, _ := r.(gen.UpdateOAuthConnectionResponseObject)
	return obj, err
}

func (i scriptedImpl) DeleteOAuthConnection(context.Context, gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	status := statuses[int(i.s.next())%len(statuses)]
	r, err := i.answer(gen.DeleteOAuthConnection204Response{},
		gen.DeleteOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound},
		gen.DeleteOAuthConnectiondefaultJSONResponse{StatusCode: status, Body: gen.Error{Message: "default"}})
	obj, _ := r.(gen.DeleteOAuthConnectionResponseObject)
	return obj, err
}

func (i scriptedImpl) ListOAuthConnections(context.Context, gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	status := statuses[int(i.s.next())%len(statuses)]
	r, err := i.answer(gen.ListOAuthConnections200JSONResponse{Body: gen.OAuthConnectionList{Data: []gen.OAuthConnection{}}},
		gen.ListOAuthConnectionsdefaultJSONResponse{StatusCode: status, Body: gen.Error{Message: "default"}})
	obj, _ := r.(gen.ListOAuthConnectionsResponseObject)
	return obj, err
}

// statusLog keeps the kit's request lines, in order.
type statusLog struct {
	mu   sync.Mutex
	seen []line
}

// line is a request line: its status and error.
type line struct {
	status int
	err    string
}

func (l *statusLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *statusLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *statusLog) WithGroup(string) slog.Handler            { return l }
func (l *statusLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "request" {
		return nil
	}
	var ln line
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "status":
			ln.status = int(a.Value.Int64())
		case "error":
			ln.err = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.seen = append(l.seen, ln)
	l.mu.Unlock()
	return nil
}

func (l *statusLog) take() []line {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := l.seen
	l.seen = nil
	return seen
}

// scriptedServer is a server of scriptedImpl in one validation mode and on
// one path to an operation, with its log, metrics and net/http's own log.
type scriptedServer struct {
	url     string
	mode    string // its validation and path, for messages
	refuse  bool
	log     *statusLog
	metrics string
	netHTTP *logtest.Buffer
}

// FuzzImplementation has an implementation do, in an order and with values
// the fuzzer chooses, what an implementation can (answer with a generated
// response object, write its own answer, set headers, flush, fail, panic,
// answer nothing), behind each validation mode and each path to an
// operation (the PUT's fast handler, operation middleware, the generated
// handlers, Wrap's handler), and holds the kit to its promises whatever it does: the server
// lives on; every answer that reaches the client has a status its operation
// declares; under Refuse an error is JSON with a message; the request is
// logged once and counted once, with the status the client got (or the 500
// or 499 of an answer broken off); and no panic reaches net/http.
func FuzzImplementation(f *testing.F) {
	for _, seed := range []string{
		"\x00\x00\x00\x00", "\x02\x00\x00\x01\x02\x04\x04", "\x02\x02\x00\x05\x02\x0d\x04\x05\x07",
		"\x01\x05\x00\x01\x02\x01\x00\x02\x05", "\x00\x08\x03\x01\x01\x03\x02\x0c", "\x03\x04\x00\x02\x05",
		"\x02\x01\x00\x01\x01\x06\x02\x07", "\x01\x02\x00\x04", "\x00\x07\x02\x03",
	} {
		f.Add([]byte(seed))
	}
	var s script
	var servers []scriptedServer
	passOn := func(next gen.StrictHandlerFunc, _ string) gen.StrictHandlerFunc {
		return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
			if s.next()%2 == 1 {
				if err := s.act(w); err != nil {
					return nil, err
				}
			}
			return next(ctx, w, r, req)
		}
	}
	// Wrap's handler does as the script says, and hands its error to WriteError.
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.act(w); err != nil {
			server.WriteError(w, r, err)
		}
	})
	paths := []struct {
		name string
		opts []server.Option
		wrap bool
	}{
		{"fast", nil, false},
		{"middleware", []server.Option{server.WithOperationMiddleware(passOn)}, false},
		{"generated", []server.Option{server.WithoutCompiledChecks()}, false},
		{"Wrap", nil, true},
	}
	for _, mode := range validations {
		for _, path := range paths {
			ss := scriptedServer{mode: mode + " " + path.name, refuse: mode == "Refuse", log: &statusLog{}, netHTTP: &logtest.Buffer{}}
			reg := prometheus.NewRegistry()
			opts := append(append([]server.Option{server.WithAuth(anyToken), server.WithoutRateLimit(),
				server.WithMetrics(reg), server.WithLogger(slog.New(ss.log))}, validation(mode, func(*http.Request, error) {})...), path.opts...)
			srv, err := server.New(scriptedImpl{&s}, opts...)
			if path.wrap {
				srv, err = server.Wrap(wrapped, opts...)
			}
			if err != nil {
				f.Fatal(err)
			}
			hs := httptest.NewUnstartedServer(srv)
			hs.Config.ErrorLog = log.New(ss.netHTTP, "", 0)
			hs.Start()
			f.Cleanup(hs.Close)
			ss.url = hs.URL
			ss.metrics = metricsOf(f, reg)
			servers = append(servers, ss)
		}
	}
	requests := []struct{ method, path, body string }{
		{"PUT", connPath, `{"label":"x"}`},
		{"DELETE", connPath, ""},
		{"GET", "/api/v1/oauth/connections", ""},
		{"HEAD", "/api/v1/oauth/connections", ""},
	}
	last := map[*scriptedServer]metricstest.Samples{} // each server's counts after the last request
	// A connection of its own for each request: net/http retries a request
	// whose reused connection was cut, which would be logged twice.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		rq := requests[int(b[0])%len(requests)]
		ss := &servers[int(b[1])%len(servers)]
		s.mu.Lock()
		s.b = b[2:]
		s.mu.Unlock()
		method := rq.method
		if method == "HEAD" {
			method = "GET"
		}
		op, _ := apispec.OperationOf(method, routeOf(rq.path))

		req, _ := http.NewRequest(rq.method, ss.url+rq.path, strings.NewReader(rq.body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}

		seen := ss.log.take()
		for i := 0; len(seen) == 0 && i < 100; i++ { // a cut connection's line may come after the client saw the cut
			time.Sleep(time.Millisecond)
			seen = ss.log.take()
		}
		if len(seen) != 1 {
			t.Fatalf("logged %v, want one request line", seen)
		}
		now := metricstest.Scrape(t, ss.metrics, "plannr_http_requests_total")
		counted := maps.Clone(now)
		for k, v := range last[ss] {
			if counted[k] -= v; counted[k] == 0 {
				delete(counted, k)
			}
		}
		last[ss] = now
		logged := seen[0]
		series := fmt.Sprintf(`plannr_http_requests_total{method=%q,route=%q,status="%d"}`, rq.method, op.Path, logged.status)
		if len(counted) != 1 || counted[series] != 1 {
			t.Errorf("counted %v, want one %s", counted, series)
		}
		if logged.err != "" && logged.status < 500 && logged.status != server.StatusClientClosedRequest {
			t.Errorf("%s %s: logged %d with the error %q, which the client never heard of", ss.mode, rq.method, logged.status, logged.err)
		}
		if l := ss.netHTTP.String(); strings.Contains(l, "panic") {
			t.Errorf("net/http logged %q", l)
		}
		brokenOff := logged.status == http.StatusInternalServerError || logged.status == server.StatusClientClosedRequest
		if err != nil {
			if !brokenOff {
				t.Errorf("%s %s: the connection was cut (%v), logged %d", ss.mode, rq.method, err, logged.status)
			}
			return
		}
		if logged.status != resp.StatusCode && !brokenOff {
			// Only an answer broken off once it began may differ: as a 500
			// for a panic or an error, as a 499 with the client gone (for a
			// HEAD, or a body whole at the cut, the client cannot tell).
			t.Errorf("%s %s: the client got %d, logged %+v", ss.mode, rq.method, resp.StatusCode, logged)
		}
		if resp.StatusCode < 500 && op.Op.Responses.Status(resp.StatusCode) == nil {
			t.Errorf("%s %s: answered %d %q, which %s does not declare", ss.mode, rq.method, resp.StatusCode, body, op.ID)
		}
		if ss.refuse && resp.StatusCode >= 400 && rq.method != "HEAD" {
			mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			var e struct{ Message *string }
			if mt != "application/json" || json.Unmarshal(body, &e) != nil || e.Message == nil {
				t.Errorf("%s %s: error %d %q %q, want JSON with a message", ss.mode, rq.method, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
	})
}
