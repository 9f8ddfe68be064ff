package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// plainError is what net/http writes itself for an error before any handler
// runs; a page that sends it as its own body must reach the client as sent.
const plainError = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"

// serveOnListener serves a kit server, with a text/plain page at /page, on
// the listener that listen wraps ln in, over loopback TCP, and returns its
// address.
func serveOnListener(t *testing.T, listen func(*server.Server, net.Listener) net.Listener, opts ...server.Option) string {
	t.Helper()
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, plainError)
	})
	opts = append([]server.Option{server.WithAuth(anyToken), server.WithoutLogging(), server.WithHandler("/page", page)}, opts...)
	s, err := server.New(nothing{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, MaxHeaderBytes: 1 << 10}
	go func() { _ = srv.Serve(listen(s, ln)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// unobserved is the package's Listener, which no server observes.
func unobserved(_ *server.Server, ln net.Listener) net.Listener { return server.Listener(ln) }

// observed is the server's own Listener.
func observed(s *server.Server, ln net.Listener) net.Listener { return s.Listener(ln) }

// netHTTPError is a request that net/http answers itself, before any
// handler runs, and what its answer through a Listener is.
type netHTTPError struct {
	name, request string
	status        int
	message       string
	reason        string // net/http's, in the log line of Server.Listener
}

// netHTTPErrors are the requests that net/http answers itself, one of each
// cause.
func netHTTPErrors() []netHTTPError {
	msgs := apispec.MessagesOf()
	return []netHTTPError{
		{"headers over MaxHeaderBytes", "GET /api/v1/oauth/connections HTTP/1.1\r\nHost: plannr\r\nX-Big: " +
			strings.Repeat("a", 64<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge, msgs.HeadersTooLarge,
			"431 Request Header Fields Too Large"},
		{"malformed request line", "GET\r\n\r\n", http.StatusBadRequest, msgs.BadRequest, "400 Bad Request"},
		{"no Host", "GET /api/v1/oauth/connections HTTP/1.1\r\n\r\n", http.StatusBadRequest, msgs.BadRequest,
			"400 Bad Request: missing required Host header"},
		{"unsupported transfer coding", "PUT /api/v1/oauth/connections/x HTTP/1.1\r\nHost: plannr\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
			http.StatusNotImplemented, msgs.NotImplemented, "Unsupported transfer encoding"},
		{"unsupported HTTP version", "GET /api/v1/oauth/connections HTTP/2.0\r\nHost: plannr\r\n\r\n",
			http.StatusHTTPVersionNotSupported, msgs.VersionNotSupported, "505 HTTP Version Not Supported: unsupported protocol version"},
		{"an Expect other than 100-continue", "GET /api/v1/oauth/connections HTTP/1.1\r\nHost: plannr\r\nExpect: teapot\r\n\r\n",
			http.StatusExpectationFailed, msgs.ExpectationFailed, "417 Expectation Failed: an Expect header other than 100-continue"},
		{"an Expect of HTTP/1.0", "PUT /api/v1/oauth/connections/x HTTP/1.0\r\nHost: plannr\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}",
			http.StatusExpectationFailed, msgs.ExpectationFailed, "417 Expectation Failed: an Expect header other than 100-continue"},
		{"an Expect on HEAD", "HEAD /api/v1/oauth/connections HTTP/1.1\r\nHost: plannr\r\nExpect: teapot\r\n\r\n",
			http.StatusExpectationFailed, msgs.ExpectationFailed, "417 Expectation Failed: an Expect header other than 100-continue"},
	}
}

// sendRaw sends request over a new connection to addr and returns the
// answer, its body read, and checks that the connection is closed after it.
func sendRaw(t *testing.T, addr, request string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(c, request) }() // the server may answer before it has read all
	br := bufio.NewReader(c)
	// A HEAD's answer has no body; its Content-Length is that of a GET's.
	var req *http.Request
	if strings.HasPrefix(request, http.MethodHead+" ") {
		req = &http.Request{Method: http.MethodHead}
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Close {
		t.Error("no Connection: close")
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the answer: %q, %v; want the connection closed", rest, err)
	}
	return resp, body
}

// TestListenerAnswersNetHTTPErrorsInJSON sends, over TCP, the requests that
// net/http answers itself before any handler runs: each answer is the API's
// JSON error with the spec's message, and the connection is closed after it.
// Through the package's Listener, no server names it: no X-Request-Id.
func TestListenerAnswersNetHTTPErrorsInJSON(t *testing.T) {
	addr := serveOnListener(t, unobserved)
	for _, tt := range netHTTPErrors() {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := sendRaw(t, addr, tt.request)
			want, _ := json.Marshal(map[string]string{"message": tt.message})
			wantBody := string(want)
			if resp.Request != nil && resp.Request.Method == http.MethodHead {
				wantBody = ""
			}
			if resp.StatusCode != tt.status || strings.TrimSpace(string(body)) != wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, wantBody)
			}
			for name, value := range map[string]string{"Content-Type": "application/json",
				"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Request-Id": ""} {
				if got := resp.Header.Get(name); got != value {
					t.Errorf("%s: %q, want %q", name, got, value)
				}
			}
			if n := int64(len(want) + 1); resp.ContentLength != n { // the body, and its newline
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, n)
			}
		})
	}
}

// TestListenerLeavesAnswersAlone: a handler's text/plain answer, even one
// whose body is net/http's error word for word, and the next request on the
// same connection, reach the client as the handler wrote them, through
// either Listener: with the one X-Request-Id the server gave it.
func TestListenerLeavesAnswersAlone(t *testing.T) {
	for name, listen := range map[string]func(*server.Server, net.Listener) net.Listener{
		"server.Listener": unobserved, "Server.Listener": observed} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", serveOnListener(t, listen))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for range 2 {
				if _, err := io.WriteString(c, "GET /page HTTP/1.1\r\nHost: plannr\r\nX-Request-Id: mine\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || string(body) != plainError {
					t.Errorf("got %d %q %q, want the page as written", resp.StatusCode, resp.Header.Get("Content-Type"), body)
				}
				if ids := resp.Header.Values("X-Request-Id"); len(ids) != 1 || ids[0] != "mine" {
					t.Errorf("X-Request-Id %q, want the caller's alone", ids)
				}
			}
		})
	}
}

// TestServerListenerObserves: through Server.Listener, each of net/http's
// own errors is told as the server's other answers are: a new X-Request-Id
// of the server's, the server's request line in its log, with that id, route
// unmatched, the status and net/http's reason but no method (none was read),
// and a count in its metrics under route "unmatched" and an empty method. An
// answer of the server's own, on the same listener, is logged and counted
// once, as without it.
func TestServerListenerObserves(t *testing.T) {
	var logs logtest.Buffer
	reg := prometheus.NewRegistry()
	addr := serveOnListener(t, observed, server.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), server.WithMetrics(reg))
	tests := netHTTPErrors()
	ids := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := sendRaw(t, addr, tt.request)
			id := resp.Header.Get("X-Request-Id")
			if resp.StatusCode != tt.status || id == "" || ids[id] || len(resp.Header.Values("X-Request-Id")) != 1 {
				t.Fatalf("%d, X-Request-Id %q; want %d and one new id", resp.StatusCode, resp.Header.Values("X-Request-Id"), tt.status)
			}
			ids[id] = true
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			line := logLineOf(t, logs.String(), id)
			level := "INFO"
			if tt.status >= 500 {
				level = "ERROR"
			}
			want := map[string]any{"level": level, "msg": "request", "route": "unmatched",
				"status": float64(tt.status), "request_id": id, "error": tt.reason}
			delete(line, "time")
			if !reflect.DeepEqual(line, want) {
				t.Errorf("log line %v, want %v", line, want)
			}
		})
	}
	// An answer of the server's own, on the same listener.
	if resp, _ := sendRaw(t, addr, "GET /nope HTTP/1.1\r\nHost: plannr\r\nConnection: close\r\n\r\n"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: %d, want 404", resp.StatusCode)
	}

	requests := func(method string, status int) string {
		return `plannr_http_requests_total{method="` + method + `",route="unmatched",status="` + strconv.Itoa(status) + `"}`
	}
	want := metricstest.Samples{requests("GET", http.StatusNotFound): 1}
	for _, tt := range tests {
		want[requests("", tt.status)]++
	}
	if got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total"); !maps.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	durations := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_request_duration_seconds")
	if want := (metricstest.Samples{`plannr_http_request_duration_seconds_count{method="GET",route="unmatched"}`: 1}); !maps.Equal(durations, want) {
		t.Errorf("durations, of the server's answer alone:\n%s\nwant:\n%s", durations, want)
	}
	if n := strings.Count(logs.String(), `"msg":"request"`); n != len(tests)+1 {
		t.Errorf("%d request lines, want %d:\n%s", n, len(tests)+1, logs.String())
	}
}

// TestPagesListenerObserves: NewPages's Listener tells of net/http's own
// errors in the pages' log, as Server.Listener does in a Server's.
func TestPagesListenerObserves(t *testing.T) {
	var logs logtest.Buffer
	p, err := server.NewPages(server.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p}
	go func() { _ = srv.Serve(p.Listener(ln)) }()
	t.Cleanup(func() { _ = srv.Close() })
	resp, _ := sendRaw(t, ln.Addr().String(), "GET\r\n\r\n")
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusBadRequest || id == "" {
		t.Fatalf("%d, X-Request-Id %q; want 400 and an id", resp.StatusCode, id)
	}
	if line := logLineOf(t, logs.String(), id); line["status"] != float64(http.StatusBadRequest) || line["route"] != "unmatched" {
		t.Errorf("log line %v, want 400 of route unmatched", line)
	}
}

// logLineOf returns the one JSON line of logs whose request_id is id.
func logLineOf(t *testing.T, logs, id string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if line["request_id"] == id {
			if found != nil {
				t.Fatalf("two lines of request %s:\n%s", id, logs)
			}
			found = line
		}
	}
	if found == nil {
		t.Fatalf("no line of request %s:\n%s", id, logs)
	}
	return found
}
