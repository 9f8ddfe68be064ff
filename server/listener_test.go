package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// plainError is what net/http writes itself for an error before any handler
// runs; a page that sends it as its own body must reach the client as sent.
const plainError = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"

// serveOnListener serves a kit server, with a text/plain page at /page, on
// server.Listener over loopback TCP, and returns its address.
func serveOnListener(t *testing.T) string {
	t.Helper()
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, plainError)
	})
	s, err := server.New(nothing{}, server.WithAuth(anyToken), server.WithoutLogging(), server.WithHandler("/page", page))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, MaxHeaderBytes: 1 << 10}
	go func() { _ = srv.Serve(server.Listener(ln)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestListenerAnswersNetHTTPErrorsInJSON sends, over TCP, the requests that
// net/http answers itself before any handler runs: each answer is the API's
// JSON error with the spec's message, and the connection is closed after it.
func TestListenerAnswersNetHTTPErrorsInJSON(t *testing.T) {
	addr := serveOnListener(t)
	msgs := apispec.MessagesOf()
	tests := []struct {
		name, request string
		status        int
		message       string
	}{
		{"headers over MaxHeaderBytes", "GET /api/v1/oauth/connections HTTP/1.1\r\nHost: plannr\r\nX-Big: " +
			strings.Repeat("a", 64<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge, msgs.HeadersTooLarge},
		{"malformed request line", "GET\r\n\r\n", http.StatusBadRequest, msgs.BadRequest},
		{"no Host", "GET /api/v1/oauth/connections HTTP/1.1\r\n\r\n", http.StatusBadRequest, msgs.BadRequest},
		{"unsupported transfer coding", "PUT /api/v1/oauth/connections/x HTTP/1.1\r\nHost: plannr\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
			http.StatusNotImplemented, msgs.NotImplemented},
		{"unsupported HTTP version", "GET /api/v1/oauth/connections HTTP/2.0\r\nHost: plannr\r\n\r\n",
			http.StatusHTTPVersionNotSupported, msgs.VersionNotSupported},
		{"an Expect other than 100-continue", "GET /api/v1/oauth/connections HTTP/1.1\r\nHost: plannr\r\nExpect: teapot\r\n\r\n",
			http.StatusExpectationFailed, msgs.ExpectationFailed},
		{"an Expect of HTTP/1.0", "PUT /api/v1/oauth/connections/x HTTP/1.0\r\nHost: plannr\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}",
			http.StatusExpectationFailed, msgs.ExpectationFailed},
		{"an Expect on HEAD", "HEAD /api/v1/oauth/connections HTTP/1.1\r\nHost: plannr\r\nExpect: teapot\r\n\r\n",
			http.StatusExpectationFailed, msgs.ExpectationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			go func() { _, _ = io.WriteString(c, tt.request) }() // the server may answer before it has read all
			br := bufio.NewReader(c)
			// A HEAD's answer has no body; its Content-Length is that of a GET's.
			head := strings.HasPrefix(tt.request, http.MethodHead+" ")
			var req *http.Request
			if head {
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
			want, _ := json.Marshal(map[string]string{"message": tt.message})
			wantBody := string(want)
			if head {
				wantBody = ""
			}
			if resp.StatusCode != tt.status || strings.TrimSpace(string(body)) != wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, wantBody)
			}
			for name, value := range map[string]string{"Content-Type": "application/json",
				"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
				if got := resp.Header.Get(name); got != value {
					t.Errorf("%s: %q, want %q", name, got, value)
				}
			}
			if !resp.Close {
				t.Error("no Connection: close")
			}
			if n := int64(len(want) + 1); resp.ContentLength != n { // the body, and its newline
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, n)
			}
			if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
				t.Errorf("after the answer: %q, %v; want the connection closed", rest, err)
			}
		})
	}
}

// TestListenerLeavesAnswersAlone: a handler's text/plain answer, even one
// whose body is net/http's error word for word, and the next request on the
// same connection, reach the client as the handler wrote them.
func TestListenerLeavesAnswersAlone(t *testing.T) {
	c, err := net.Dial("tcp", serveOnListener(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for range 2 {
		if _, err := io.WriteString(c, "GET /page HTTP/1.1\r\nHost: plannr\r\n\r\n"); err != nil {
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
	}
}
