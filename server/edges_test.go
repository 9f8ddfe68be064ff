package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// noter is a server.StatusNoter that passes on the status it is told.
type noter struct {
	http.ResponseWriter
	status chan<- int
}

func (n noter) NoteStatus(status int) { n.status <- status }

// TestClientGoneIs499: a client that hangs up while its request waits (on an
// AuthFunc, a RateLimiter, an operation) is not the server's failure: its
// line is at INFO with status 499, it is counted as 499, a StatusNoter in
// front is told 499, and nothing is reported as a broken answer.
func TestClientGoneIs499(t *testing.T) {
	waiting := make(chan struct{}, 1)
	hangs := func(ctx context.Context, _ string) (server.Identity, error) {
		waiting <- struct{}{}
		<-ctx.Done()
		return server.Identity{}, ctx.Err()
	}
	var logs logtest.Buffer
	reg := prometheus.NewRegistry()
	s, err := server.New(&capture{}, server.WithAuth(hangs), server.WithMetrics(reg),
		server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		server.WithResponseValidation(server.ResponseValidation{Report: func(_ *http.Request, err error) { t.Errorf("reported: %v", err) }}))
	if err != nil {
		t.Fatal(err)
	}
	noted := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(noter{w, noted}, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/oauth/connections", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	go func() { <-waiting; cancel() }()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the request was answered")
	}
	select {
	case status := <-noted:
		if status != server.StatusClientClosedRequest {
			t.Errorf("the StatusNoter was told %d", status)
		}
	case <-time.After(5 * time.Second):
		t.Error("the StatusNoter was told nothing")
	}
	var line string
	for deadline := time.Now().Add(5 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		line = logs.String()
	}
	if !strings.Contains(line, "level=INFO") || !strings.Contains(line, "status=499") {
		t.Errorf("log line %q, want INFO with status 499", line)
	}
	got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total")
	if n := got[`plannr_http_requests_total{method="GET",route="/api/v1/oauth/connections",status="499"}`]; n != 1 {
		t.Errorf("requests counted %v, want one 499", got)
	}
}

// TestReadyzHasADeadline: a readiness check that hangs (a database that does
// not answer) makes /readyz answer 503 within the server's timeout.
func TestReadyzHasADeadline(t *testing.T) {
	srv := start(t, &capture{}, server.WithTimeout(100*time.Millisecond),
		server.WithReadiness(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }))
	start := time.Now()
	resp, body := do(t, "GET", srv.URL+"/readyz", nil, "")
	if resp.StatusCode != 503 || !strings.Contains(body, "not ready") {
		t.Errorf("%d %s, want 503 not ready", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("/readyz took %v", d)
	}
}

// TestSpecBehindATLSProxy: the spec's first server is the origin the client
// used, https when a proxy that ended TLS says so.
func TestSpecBehindATLSProxy(t *testing.T) {
	srv := start(t, &capture{})
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tt := range []struct {
		header http.Header
		want   string
	}{
		{nil, "http://" + host},
		{http.Header{"X-Forwarded-Proto": {"https"}}, "https://" + host},
		{http.Header{"X-Forwarded-Proto": {"HTTPS, http"}}, "https://" + host},
		{http.Header{"Forwarded": {`for=192.0.2.60;proto=https;by=203.0.113.43`}}, "https://" + host},
		{http.Header{"X-Forwarded-Proto": {"http"}}, "http://" + host},
	} {
		_, spec := do(t, "GET", srv.URL+"/openapi.yaml", tt.header, "")
		doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
		if err != nil {
			t.Fatal(err)
		}
		if got := doc.Servers[0].URL; got != tt.want {
			t.Errorf("%v: first server %s, want %s", tt.header, got, tt.want)
		}
	}
}

// behind is a RateLimiter whose clock is lag behind the server's: a
// database's, say, that times the window for every replica.
type behind struct {
	lag   time.Duration
	left  time.Duration
	limit int
}

func (b behind) Allow(context.Context, string) (server.RateLimit, error) {
	now := time.Now().Add(-b.lag)
	return server.RateLimit{Limit: b.limit, Reset: now.Add(b.left), Now: now}, nil
}

// TestRetryAfterByTheLimitersClock: Retry-After and X-RateLimit-Reset say
// what is left of the window by the clock that times it, so that a client
// that waits exactly Retry-After finds the window open, whatever the
// limiter's clock says of the time.
func TestRetryAfterByTheLimitersClock(t *testing.T) {
	srv := start(t, &capture{}, server.WithRateLimiter(behind{lag: 3 * time.Second, left: 2 * time.Second, limit: 5}))
	resp, body := do(t, "GET", srv.URL+"/api/v1/oauth/connections", http.Header{"Authorization": {"Bearer " + token}}, "")
	if resp.StatusCode != 429 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %s, want 2: the window's 2 s left, not 2 s minus the clocks' 3 s apart", got)
	}
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	reset, _ := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if d := reset - date.Unix(); d < 2 || d > 3 {
		t.Errorf("X-RateLimit-Reset %d is %d s after the answer's Date, want 2 (rounded up)", reset, d)
	}
}

// TestOperationMiddleware: WithOperationMiddleware runs around every
// operation, the PUT of a body the compiled checks accept included, with the
// generated operation's name, the typed request and the request's path
// values, and can replace the answer; the last given runs outermost.
func TestOperationMiddleware(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	mw := func(next gen.StrictHandlerFunc, op string) gen.StrictHandlerFunc {
		return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
			mu.Lock()
			seen = append(seen, op)
			if _, put := req.(gen.UpdateOAuthConnectionRequestObject); put {
				seen = append(seen, r.PathValue("oauthConnection_uuid"))
			}
			mu.Unlock()
			if put, ok := req.(gen.UpdateOAuthConnectionRequestObject); ok && put.Body.Label.MustGet() == "intercepted" {
				return gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
			}
			return next(ctx, w, r, req)
		}
	}
	named := func(name string) gen.StrictMiddlewareFunc {
		return func(next gen.StrictHandlerFunc, _ string) gen.StrictHandlerFunc {
			return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
				mu.Lock()
				seen = append(seen, name)
				mu.Unlock()
				return next(ctx, w, r, req)
			}
		}
	}
	impl := &capture{update: gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}}
	for _, opts := range [][]server.Option{nil, {server.WithoutCompiledChecks()}} {
		seen, impl.body = nil, gen.UpdateOAuthConnectionRequest{}
		srv := start(t, impl, append(opts, server.WithOperationMiddleware(mw, nil))...)
		auth := http.Header{"Authorization": {"Bearer " + token}}
		do(t, "GET", srv.URL+"/api/v1/oauth/connections", auth, "")
		do(t, "DELETE", srv.URL+connPath, auth, "")
		put(t, srv.URL+connPath, `{"label":"x"}`)
		if impl.body.Label.MustGet() != "x" {
			t.Errorf("%v: the PUT did not reach the operation", opts)
		}
		put(t, srv.URL+connPath, `{"label":"intercepted"}`)
		if impl.body.Label.MustGet() != "x" {
			t.Errorf("%v: the middleware's answer did not stand in for the operation's", opts)
		}
		id := strings.TrimPrefix(connPath, "/api/v1/oauth/connections/")
		want := []string{"ListOAuthConnections", "DeleteOAuthConnection", "UpdateOAuthConnection", id, "UpdateOAuthConnection", id}
		if strings.Join(seen, " ") != strings.Join(want, " ") {
			t.Errorf("%v: the middleware saw %v, want %v", opts, seen, want)
		}
		seen = nil
		srv = start(t, impl, append(opts, server.WithOperationMiddleware(named("first"), named("last")))...)
		do(t, "GET", srv.URL+"/api/v1/oauth/connections", auth, "")
		put(t, srv.URL+connPath, `{"label":"x"}`)
		if got := strings.Join(seen, " "); got != "last first last first" {
			t.Errorf("%v: the middleware ran in the order %q, want the last given outermost", opts, got)
		}
	}
}

// TestCloseWaitsForRequests: Close returns only once the requests being
// answered have returned, and the implementation sees none after it.
func TestCloseWaitsForRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var after bool
	var mu sync.Mutex
	impl := &hold{entered: entered, release: release, closedFlag: &after, mu: &mu}
	s, err := server.New(impl, server.WithAuth(anyToken), server.WithoutLogging())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	released := false
	defer func() { // before srv.Close, which waits for the held request
		if !released {
			close(release)
		}
	}()
	auth := http.Header{"Authorization": {"Bearer " + token}}
	answered := make(chan int)
	go func() {
		resp, _ := do(t, "GET", srv.URL+"/api/v1/oauth/connections", auth, "")
		answered <- resp.StatusCode
	}()
	<-entered
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a request was being answered")
	case <-time.After(100 * time.Millisecond):
	}
	// Meanwhile a new request is answered 503 at once, the liveness probe's
	// too: it does not wait with Close.
	for _, path := range []string{"/api/v1/oauth/connections", "/healthz"} {
		got := make(chan int, 1)
		go func() {
			resp, _ := do(t, "GET", srv.URL+path, auth, "")
			got <- resp.StatusCode
		}()
		select {
		case status := <-got:
			if status != http.StatusServiceUnavailable {
				t.Errorf("%s while Close waits: %d, want 503", path, status)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s while Close waits: no answer, it waits with Close", path)
		}
	}
	close(release)
	released = true
	if status := <-answered; status != 200 {
		t.Errorf("the request running at Close: %d, want its answer, 200", status)
	}
	<-closed
	mu.Lock()
	after = true
	mu.Unlock()
	if resp, body := do(t, "GET", srv.URL+"/api/v1/oauth/connections", auth, ""); resp.StatusCode != 503 || !strings.Contains(body, "Service Unavailable") {
		t.Errorf("after Close: %d %s, want 503", resp.StatusCode, body)
	}
}

// hold answers a list once release is closed, and fails the test if called
// once closedFlag is set.
type hold struct {
	capture
	entered, release chan struct{}
	closedFlag       *bool
	mu               *sync.Mutex
}

func (h *hold) ListOAuthConnections(ctx context.Context, req gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	h.mu.Lock()
	after := *h.closedFlag
	h.mu.Unlock()
	if after {
		panic("the implementation was called after Close")
	}
	h.entered <- struct{}{}
	<-h.release
	return h.capture.ListOAuthConnections(ctx, req)
}

// TestRequestLineAsSlogMakesIt: the request's log line carries what
// log.LogAttrs would give its handler: the time the request ended, the call
// site in observe as its source, and no line below the handler's level.
func TestRequestLineAsSlogMakesIt(t *testing.T) {
	var logs strings.Builder
	h := slog.NewJSONHandler(&logs, &slog.HandlerOptions{AddSource: true})
	srv := start(t, &capture{}, server.WithLogger(slog.New(h)))
	before := time.Now()
	do(t, "GET", srv.URL+"/api/v1/oauth/connections", http.Header{"Authorization": {"Bearer " + token}}, "")
	var line struct {
		Time   time.Time
		Level  string
		Msg    string
		Status int
		Source struct{ Function, File string }
	}
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
		t.Fatalf("%v: %s", err, logs.String())
	}
	if line.Msg != "request" || line.Level != "INFO" || line.Status != http.StatusOK ||
		line.Time.Before(before.Truncate(time.Millisecond)) || line.Time.After(time.Now()) ||
		!strings.HasPrefix(line.Source.Function, "github.com/plannr-toolkit/plannr-oauth/server.observe") || filepath.Base(line.Source.File) != "observe.go" {
		t.Errorf("log line %+v from %s", line, logs.String())
	}

	logs.Reset()
	quiet := start(t, &capture{}, server.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	do(t, "GET", quiet.URL+"/api/v1/oauth/connections", http.Header{"Authorization": {"Bearer " + token}}, "")
	if logs.Len() != 0 {
		t.Errorf("an INFO line reached a WARN handler: %s", logs.String())
	}
}

// funcs answers the list and the PUT with its functions where it has them,
// and otherwise as capture does.
type funcs struct {
	capture
	list   func(ctx context.Context) (gen.ListOAuthConnectionsResponseObject, error)
	update func(ctx context.Context) (gen.UpdateOAuthConnectionResponseObject, error)
}

func (f *funcs) ListOAuthConnections(ctx context.Context, req gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	if f.list == nil {
		return f.capture.ListOAuthConnections(ctx, req)
	}
	return f.list(ctx)
}

func (f *funcs) UpdateOAuthConnection(ctx context.Context, req gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	if f.update == nil {
		return f.capture.UpdateOAuthConnection(ctx, req)
	}
	return f.update(ctx)
}

// errorBody is the body of an error whose message is message.
func errorBody(t *testing.T, message string) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// TestCanceledWhileTheClientWaits: a context.Canceled that is not the
// client's leaving (an operation's own cancel, an errgroup's or a store's, a
// RateLimiter's, an AuthFunc's, the http.Server's BaseContext cancelled on
// SIGTERM) is answered 503 in JSON, as the spec's default declares a
// dependency that gave up, and no check of the answer refuses it: never the
// empty 200 of an answer not written, which a PUT that stored nothing would
// pass for a success.
func TestCanceledWhileTheClientWaits(t *testing.T) {
	cancelled := fmt.Errorf("store: %w", context.Canceled)
	tests := []struct {
		name string
		// update is the PUT's operation; stopBase cancels the context the
		// http.Server gives every request (BaseContext).
		update func(ctx context.Context, stopBase context.CancelFunc) (gen.UpdateOAuthConnectionResponseObject, error)
		opts   []server.Option
		logged int // the status of the request's log line
	}{
		{name: "the operation cancels a context of its own", update: func(ctx context.Context, _ context.CancelFunc) (gen.UpdateOAuthConnectionResponseObject, error) {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return nil, fmt.Errorf("store: %w", ctx.Err())
		}, logged: 503},
		{name: "the RateLimiter fails with context.Canceled", opts: []server.Option{server.WithRateLimiter(failing{cancelled})}, logged: 503},
		{name: "the AuthFunc fails with context.Canceled", opts: []server.Option{server.WithAuth(func(context.Context, string) (server.Identity, error) {
			return server.Identity{}, cancelled
		})}, logged: 503},
		// net/http cannot tell this from a client that left: the line says
		// 499, and the client, still there, gets the 503.
		{name: "BaseContext cancelled", update: func(ctx context.Context, stopBase context.CancelFunc) (gen.UpdateOAuthConnectionResponseObject, error) {
			stopBase()
			<-ctx.Done()
			return nil, ctx.Err()
		}, logged: server.StatusClientClosedRequest},
	}
	want := errorBody(t, apispec.MessagesOf().Unavailable)
	for _, tt := range tests {
		for _, refuse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, Refuse %v", tt.name, refuse), func(t *testing.T) {
				base, stopBase := context.WithCancel(context.Background())
				defer stopBase()
				impl := &funcs{update: func(ctx context.Context) (gen.UpdateOAuthConnectionResponseObject, error) {
					if tt.update == nil {
						t.Error("the operation was called")
						return nil, nil
					}
					return tt.update(ctx, stopBase)
				}}
				var logged logtest.Statuses
				s, err := server.New(impl, append([]server.Option{server.WithAuth(anyToken), server.WithLogger(slog.New(&logged)),
					server.WithResponseValidation(server.ResponseValidation{Refuse: refuse, Report: func(_ *http.Request, err error) { t.Errorf("reported: %v", err) }}),
				}, tt.opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewUnstartedServer(s)
				srv.Config.BaseContext = func(net.Listener) context.Context { return base }
				srv.Start()
				defer srv.Close()
				resp, body := put(t, srv.URL+connPath, `{"label":"x"}`)
				if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Content-Type") != "application/json" || body != want {
					t.Errorf("%d %q %q, want 503 %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
				}
				if logged.Count(tt.logged) != 1 {
					t.Errorf("the request was not logged with status %d", tt.logged)
				}
			})
		}
	}
}

// TestInvalidStatusIsA500: an operation's answer with a status net/http
// cannot send (its WriteHeader panics below 100 and above 999) is a panic
// like any other: the JSON 500, logged as a 500, whether answers are checked
// or not. Never the empty 200 of an answer not written, nor, checked, the
// answer with its status made 200.
func TestInvalidStatusIsA500(t *testing.T) {
	want := errorBody(t, apispec.MessagesOf().ServerError)
	validations := map[string][]server.Option{
		"unchecked":   nil,
		"report only": {server.WithResponseValidation(server.ResponseValidation{Report: func(*http.Request, error) {}})},
		"Refuse":      {server.WithResponseValidation(server.ResponseValidation{Refuse: true, Report: func(*http.Request, error) {}})},
	}
	for _, status := range []int{0, 99, 1000} {
		for name, opts := range validations {
			t.Run(fmt.Sprintf("%d, %s", status, name), func(t *testing.T) {
				impl := &funcs{update: func(context.Context) (gen.UpdateOAuthConnectionResponseObject, error) {
					return gen.UpdateOAuthConnectiondefaultJSONResponse{StatusCode: status, Body: gen.Error{Message: apispec.MessagesOf().ServerError}}, nil
				}}
				var logged logtest.Statuses
				srv := start(t, impl, append(opts, server.WithLogger(slog.New(&logged)))...)
				resp, body := put(t, srv.URL+connPath, `{"label":"x"}`)
				if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" || body != want {
					t.Errorf("%d %q %q, want 500 %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
				}
				if logged.Count(http.StatusInternalServerError) != 1 {
					t.Errorf("the request was not logged with status 500")
				}
			})
		}
	}
}

// TestClosedIs503Checked: after Close, every request is answered the 503
// that Close documents, also with Refuse, which must not take it for an
// answer the spec forbids: on a path of no operation, with a method of none,
// on a page of the server's.
func TestClosedIs503Checked(t *testing.T) {
	s, err := server.New(&capture{}, server.WithAuth(anyToken), server.WithoutLogging(),
		server.WithResponseValidation(server.ResponseValidation{Refuse: true, Report: func(_ *http.Request, err error) { t.Errorf("reported: %v", err) }}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.Close()
	want := errorBody(t, apispec.MessagesOf().Unavailable)
	auth := http.Header{"Authorization": {"Bearer " + token}}
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/api/v1/oauth/connections", want},
		{"PUT", connPath, want},
		{"HEAD", "/api/v1/oauth/connections", ""},
		{"GET", "/nope", want},
		{"HEAD", "/nope", ""},
		{"PATCH", "/api/v1/oauth/connections", want},
		{"OPTIONS", connPath, want},
		{"GET", "/healthz", want},
	} {
		resp, body := do(t, tt.method, srv.URL+tt.path, auth, "")
		if resp.StatusCode != http.StatusServiceUnavailable || body != tt.body {
			t.Errorf("%s %s: %d %q, want 503 %q", tt.method, tt.path, resp.StatusCode, body, tt.body)
		}
	}
}

// TestUndeclaredErrorIsA500: an error that WriteError would answer with a
// status its operation does not declare (plannroauth.ErrNotFound from the
// list, which has no 404) is the implementation's bug: the spec's 500,
// logged at ERROR with the error. A declared one is answered as it maps.
func TestUndeclaredErrorIsA500(t *testing.T) {
	notFound := func(context.Context) (gen.ListOAuthConnectionsResponseObject, error) {
		return nil, fmt.Errorf("store: %w", plannroauth.ErrNotFound)
	}
	serverError := errorBody(t, apispec.MessagesOf().ServerError)
	tests := []struct {
		name, method, path string
		impl               *funcs
		opts               []server.Option
		status             int
		body               string
	}{
		{"the list's ErrNotFound", "GET", "/api/v1/oauth/connections", &funcs{list: notFound}, nil, 500, serverError},
		{"the list's ErrNotFound, to a HEAD", "HEAD", "/api/v1/oauth/connections", &funcs{list: notFound}, nil, 500, ""},
		{"an AuthFunc's ErrNotFound, on the list", "GET", "/api/v1/oauth/connections", &funcs{}, []server.Option{
			server.WithAuth(func(context.Context, string) (server.Identity, error) {
				return server.Identity{}, plannroauth.ErrNotFound
			}),
		}, 500, serverError},
		{"the PUT's ErrNotFound, declared", "PUT", connPath, &funcs{update: func(context.Context) (gen.UpdateOAuthConnectionResponseObject, error) {
			return nil, plannroauth.ErrNotFound
		}}, nil, 404, errorBody(t, apispec.MessagesOf().NotFound)},
		{"the list's ErrUnauthenticated, declared", "GET", "/api/v1/oauth/connections", &funcs{list: func(context.Context) (gen.ListOAuthConnectionsResponseObject, error) {
			return nil, server.ErrUnauthenticated
		}}, nil, 401, errorBody(t, apispec.MessagesOf().Unauthenticated)},
	}
	for _, tt := range tests {
		for _, checked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, checked %v", tt.name, checked), func(t *testing.T) {
				var logs logtest.Buffer
				opts := append([]server.Option{server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, tt.opts...)
				if checked {
					opts = append(opts, server.WithResponseValidation(server.ResponseValidation{Refuse: true, Report: func(_ *http.Request, err error) { t.Errorf("reported: %v", err) }}))
				}
				srv := start(t, tt.impl, opts...)
				resp, body := do(t, tt.method, srv.URL+tt.path, http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}, `{}`)
				if resp.StatusCode != tt.status || body != tt.body {
					t.Errorf("%d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
				}
				if line := logs.String(); tt.status == 500 && (!strings.Contains(line, "level=ERROR") || !strings.Contains(line, "status=500") || !strings.Contains(line, plannroauth.ErrNotFound.Error())) {
					t.Errorf("log line %q, want an ERROR 500 with the error", line)
				}
			})
		}
	}
}

// TestPanicAfterTheAnswerStarted: a panic before anything is sent is
// answered the JSON 500; one after the status went out cannot be, and cuts
// the connection, so that the client sees a broken answer, never a complete
// one that is short. Either is the server's failure: logged at ERROR as a 500
// and counted as one, with nothing from net/http on its own log.
func TestPanicAfterTheAnswerStarted(t *testing.T) {
	serverError := errorBody(t, apispec.MessagesOf().ServerError)
	tests := []struct {
		name         string
		write, flush bool // before the panic
		abort        bool // the panic is the handler's http.ErrAbortHandler
	}{
		{"before the answer", false, false, false},
		{"after the status and some of the body", true, false, false},
		{"after a flush", true, true, false},
		{"after a flush of nothing, which sends the status", false, true, false},
		{"the handler's own abort, before the answer", false, false, true},
		{"the handler's own abort, after some of the body", true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.write {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusOK)
					_, _ = w.Write([]byte(`{"items":[1,2,`))
				}
				if tt.flush {
					_ = http.NewResponseController(w).Flush()
				}
				if tt.abort {
					panic(http.ErrAbortHandler)
				}
				panic("boom")
			})
			var logs, netHTTP logtest.Buffer
			reg := prometheus.NewRegistry()
			s, err := server.New(&capture{}, server.WithAuth(anyToken), server.WithMetrics(reg),
				server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), server.WithHandler("/page", page))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(s)
			srv.Config.ErrorLog = log.New(&netHTTP, "", 0)
			srv.Start()
			defer srv.Close()

			resp, err := http.Get(srv.URL + "/page")
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			started := tt.write || tt.flush || tt.abort // an abort cuts the connection whenever it comes
			if started && err == nil {
				t.Errorf("the client got a complete answer: %d %q", resp.StatusCode, body)
			}
			if !started && (err != nil || resp.StatusCode != 500 || string(body) != serverError) {
				t.Errorf("got %v %q, want the JSON 500", err, body)
			}
			srv.Close() // every line is written
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "msg=request ") {
					line = l
				}
			}
			if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "status=500") {
				t.Errorf("request line %q, want ERROR with status 500", line)
			}
			got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total")
			if want := (metricstest.Samples{`plannr_http_requests_total{method="GET",route="/page",status="500"}`: 1}); !maps.Equal(got, want) {
				t.Errorf("counted %v, want %v", got, want)
			}
			if l := netHTTP.String(); l != "" {
				t.Errorf("net/http logged %q", l)
			}
		})
	}
}

// fixedLimiter answers every request with its RateLimit.
type fixedLimiter server.RateLimit

func (f fixedLimiter) Allow(context.Context, string) (server.RateLimit, error) {
	return server.RateLimit(f), nil
}

// TestUntellableRateLimitIsA500: a RateLimit that the X-RateLimit-* headers
// cannot tell as the spec has them (a Limit below 1, a Remaining below 0 or
// over the Limit, a zero Reset, which would say -62135596800) is a failure of
// the limiter, as its error is: the spec's 500, the field named in the log
// line. One at the edges of what the spec allows is told, and its answer
// passes the check.
func TestUntellableRateLimitIsA500(t *testing.T) {
	reset := time.Now().Add(time.Minute)
	for _, tt := range []struct {
		name  string
		rl    server.RateLimit
		cause string
	}{
		{"zero Reset", server.RateLimit{Allowed: true, Limit: 10, Remaining: 9}, "RateLimit.Reset is zero"},
		{"zero Reset, refused", server.RateLimit{Limit: 10}, "RateLimit.Reset is zero"},
		{"zero Reset on the limiter's clock", server.RateLimit{Allowed: true, Limit: 10, Remaining: 9, Now: time.Now()}, "RateLimit.Reset is zero"},
		{"Reset before 1970", server.RateLimit{Allowed: true, Limit: 10, Remaining: 9, Reset: time.Unix(-10, 0)}, "RateLimit.Reset"},
		{"zero RateLimit", server.RateLimit{Allowed: true}, "RateLimit.Limit 0"},
		{"negative Limit", server.RateLimit{Allowed: true, Limit: -1, Reset: reset}, "RateLimit.Limit -1"},
		{"negative Remaining", server.RateLimit{Allowed: true, Limit: 5, Remaining: -3, Reset: reset}, "RateLimit.Remaining -3"},
		{"Remaining over Limit", server.RateLimit{Allowed: true, Limit: 5, Remaining: 6, Reset: reset}, "RateLimit.Remaining 6"},
	} {
		for _, v := range validations {
			t.Run(tt.name+", "+v, func(t *testing.T) {
				report := func(_ *http.Request, err error) { t.Errorf("reported: %v", err) }
				opts := append(validation(v, report), server.WithRateLimiter(fixedLimiter(tt.rl)))
				answerIsA500(t, &capture{}, nil, opts, "GET", "/api/v1/oauth/connections", tt.cause)
			})
		}
	}
	for _, tt := range []struct {
		name   string
		rl     server.RateLimit
		status int
	}{
		{"the last request of a window", server.RateLimit{Allowed: true, Limit: 1, Remaining: 0, Reset: reset}, 200},
		{"a window untouched", server.RateLimit{Allowed: true, Limit: 5, Remaining: 5, Reset: reset}, 200},
		{"refused", server.RateLimit{Limit: 1, Reset: reset}, 429},
		{"refused, the window past", server.RateLimit{Limit: 1, Reset: time.Now().Add(-time.Minute)}, 429},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := start(t, &capture{}, server.WithRateLimiter(fixedLimiter(tt.rl)), server.WithResponseValidation(server.ResponseValidation{
				Refuse: true, Report: func(_ *http.Request, err error) { t.Errorf("reported: %v", err) },
			}))
			if resp, body := do(t, "GET", srv.URL+"/api/v1/oauth/connections", http.Header{"Authorization": {"Bearer " + token}}, ""); resp.StatusCode != tt.status {
				t.Errorf("%d %s, want %d", resp.StatusCode, body, tt.status)
			}
		})
	}
}

// TestEmptyAnswerIsLoggedAsSent: a page that writes nothing gets net/http's
// empty 200, and its log line and count say 200, alike.
func TestEmptyAnswerIsLoggedAsSent(t *testing.T) {
	var logs logtest.Buffer
	reg := prometheus.NewRegistry()
	s, err := server.New(&capture{}, server.WithAuth(anyToken), server.WithMetrics(reg),
		server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		server.WithHandler("/page", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	resp, _ := do(t, "GET", srv.URL+"/page", nil, "")
	srv.Close() // every line is written
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want net/http's 200", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "route=/page status=200 ") {
		t.Errorf("log %q, want the request's line with status=200", logs.String())
	}
	got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total")
	if want := (metricstest.Samples{`plannr_http_requests_total{method="GET",route="/page",status="200"}`: 1}); !maps.Equal(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
}

// TestEarlyHintsPassThrough: an informational answer before the final one
// (103 Early Hints with its Link) goes to the client as it is, as net/http
// sends it, and is not the request's status: neither checked against the
// spec nor recorded. The log line, the metrics and a StatusNoter in front
// tell the final 200, and net/http logs no superfluous WriteHeader.
func TestEarlyHintsPassThrough(t *testing.T) {
	hints := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"data":[]}`)
	})
	for _, tt := range []struct{ name, path, route string }{
		{"Wrap's handler", "/api/v1/oauth/connections", "/api/v1/oauth/connections"},
		{"a WithHandler page", "/page", "/page"},
	} {
		for _, v := range validations {
			t.Run(tt.name+", "+v, func(t *testing.T) {
				var logs, netHTTP logtest.Buffer
				reg := prometheus.NewRegistry()
				opts := append([]server.Option{server.WithAuth(anyToken), server.WithMetrics(reg), server.WithHandler("/page", hints),
					server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))},
					validation(v, func(_ *http.Request, err error) { t.Errorf("reported: %v", err) })...)
				s, err := server.Wrap(hints, opts...)
				if err != nil {
					t.Fatal(err)
				}
				noted := make(chan int, 1)
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s.ServeHTTP(noter{w, noted}, r)
				}))
				srv.Config.ErrorLog = log.New(&netHTTP, "", 0)
				srv.Start()
				defer srv.Close()

				var interim []string
				ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
					Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
						interim = append(interim, fmt.Sprintf("%d %s", code, h.Get("Link")))
						return nil
					},
				})
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+tt.path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := []string{"103 </style.css>; rel=preload"}; !slices.Equal(interim, want) {
					t.Errorf("interim answers %q, want %q", interim, want)
				}
				if err != nil || resp.StatusCode != 200 || string(body) != `{"data":[]}` {
					t.Errorf("got %d %q (%v), want the 200", resp.StatusCode, body, err)
				}
				if status := <-noted; status != 200 {
					t.Errorf("the StatusNoter was told %d", status)
				}
				srv.Close() // every line is written
				if line := logs.String(); !strings.Contains(line, "level=INFO") || !strings.Contains(line, "status=200") {
					t.Errorf("log %q, want one INFO line with status 200", line)
				}
				got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total")
				if want := (metricstest.Samples{fmt.Sprintf(`plannr_http_requests_total{method="GET",route=%q,status="200"}`, tt.route): 1}); !maps.Equal(got, want) {
					t.Errorf("counted %v, want %v", got, want)
				}
				if l := netHTTP.String(); l != "" {
					t.Errorf("net/http logged %q", l)
				}
			})
		}
	}
}

// listAnswer is a list's answer written by hand.
type listAnswer func(w http.ResponseWriter) error

func (l listAnswer) VisitListOAuthConnectionsResponse(w http.ResponseWriter) error { return l(w) }

// TestAnswerBrokenOff: an error returned once the answer has begun (a
// response object that wrote its status, and part of its body, then failed;
// Wrap's handler that calls WriteError after writing) can no longer be
// answered: it is the implementation's bug, as a panic then is. When the
// answer is held to be checked, nothing of it has gone out, and the JSON 500
// takes its place; otherwise the connection is cut, so that the client sees
// a broken answer, never a 204 that says the work was done or the error's
// body after the answer's start (a 200 whose body reads
// `{"data":[{"message":"Server Error"}`). A body longer or shorter than the
// Content-Length the handler set is its failure too, which net/http answers
// by closing the connection, checked or not. Either way the request is
// logged at ERROR with the cause and counted as a 500, and net/http logs no
// superfluous WriteHeader.
func TestAnswerBrokenOff(t *testing.T) {
	partial := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"data":[`)
	}
	deleted := func(err error) halfway {
		return func(w http.ResponseWriter) error {
			w.WriteHeader(http.StatusNoContent)
			return err
		}
	}
	lengthOf := func(n string) gen.ListOAuthConnectionsResponseObject {
		return listAnswer(func(w http.ResponseWriter) error {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", n)
			_, _ = io.WriteString(w, `{"data":[]}`) // its error unread, as handlers often leave it
			return nil
		})
	}
	const began = "after the answer began"
	tests := []struct {
		name, method, path string
		impl               gen.StrictServerInterface
		wrapped            http.HandlerFunc
		cause              string // in the log line
		cut                bool   // even when the answer is held to be checked
	}{
		{"a list's error", "GET", "/api/v1/oauth/connections", &answers{list: listAnswer(func(w http.ResponseWriter) error {
			partial(w)
			return fmt.Errorf("encoding failed")
		})}, nil, began, false},
		{"a DELETE's error", "DELETE", connPath, &answers{del: deleted(fmt.Errorf("encoding failed"))}, nil, began, false},
		{"a DELETE's ErrNotFound", "DELETE", connPath, &answers{del: deleted(plannroauth.ErrNotFound)}, nil, began, false},
		{"Wrap's handler", "GET", "/api/v1/oauth/connections", nil, func(w http.ResponseWriter, r *http.Request) {
			partial(w)
			server.WriteError(w, r, fmt.Errorf("encoding failed"))
		}, began, false},
		{"a body longer than its Content-Length", "GET", "/api/v1/oauth/connections", &answers{list: lengthOf("3")}, nil, "declared Content-Length", true},
		{"a body shorter than its Content-Length", "GET", "/api/v1/oauth/connections", &answers{list: lengthOf("100")}, nil, "the body ended after 11 bytes of the Content-Length 100", true},
	}
	serverError := errorBody(t, apispec.MessagesOf().ServerError)
	for _, tt := range tests {
		for _, v := range validations {
			t.Run(tt.name+", "+v, func(t *testing.T) {
				var logs, netHTTP logtest.Buffer
				reg := prometheus.NewRegistry()
				opts := append([]server.Option{server.WithAuth(anyToken), server.WithMetrics(reg),
					server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, validation(v, func(*http.Request, error) {})...)
				var s *server.Server
				var err error
				if tt.wrapped != nil {
					s, err = server.Wrap(tt.wrapped, opts...)
				} else {
					s, err = server.New(tt.impl, opts...)
				}
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewUnstartedServer(s)
				srv.Config.ErrorLog = log.New(&netHTTP, "", 0)
				srv.Start()
				defer srv.Close()

				req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if v == "unchecked" || tt.cut {
					if err == nil {
						t.Errorf("the client got a complete answer: %d %q", resp.StatusCode, body)
					}
				} else if err != nil || resp.StatusCode != http.StatusInternalServerError || string(body) != serverError {
					t.Errorf("got %v %q, want the JSON 500", err, body)
				}
				srv.Close() // every line is written
				if line := logs.String(); !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "status=500") ||
					!strings.Contains(line, tt.cause) {
					t.Errorf("log %q, want an ERROR 500 with %q", line, tt.cause)
				}
				got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total")
				series := fmt.Sprintf(`plannr_http_requests_total{method=%q,route=%q,status="500"}`, tt.method, routeOf(tt.path))
				if want := (metricstest.Samples{series: 1}); !maps.Equal(got, want) {
					t.Errorf("counted %v, want %v", got, want)
				}
				if l := netHTTP.String(); l != "" {
					t.Errorf("net/http logged %q", l)
				}
			})
		}
	}
}

// routeOf is the spec's path template of path, a path of the tests.
func routeOf(path string) string {
	if path == connPath {
		return "/api/v1/oauth/connections/{oauthConnection_uuid}"
	}
	return path
}

// TestRetryAfterOfAFarReset: a limiter that shuts a caller out for good, with
// a Reset centuries ahead (past the 292 years a time.Duration holds), is told
// as it is: Retry-After is the whole wait, never the 1 s of a sum that
// overflowed, which would have the client try again at once.
func TestRetryAfterOfAFarReset(t *testing.T) {
	for _, years := range []int{1, 291, 292, 400} {
		for _, clock := range []string{"the server's", "the limiter's"} {
			t.Run(fmt.Sprintf("%d years, %s clock", years, clock), func(t *testing.T) {
				now := time.Now()
				rl := server.RateLimit{Limit: 1, Reset: now.AddDate(years, 0, 0)}
				if clock == "the limiter's" {
					rl.Now = now
				}
				srv := start(t, &capture{}, server.WithRateLimiter(fixedLimiter(rl)))
				resp, body := do(t, "GET", srv.URL+"/api/v1/oauth/connections", http.Header{"Authorization": {"Bearer " + token}}, "")
				if resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("%d %s, want 429", resp.StatusCode, body)
				}
				wait, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64)
				want := rl.Reset.Unix() - now.Unix()
				if err != nil || wait < want || wait > want+2 {
					t.Errorf("Retry-After %q, want about %d: the window closes %d years from now", resp.Header.Get("Retry-After"), want, years)
				}
			})
		}
	}
}
