package server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// TestExpectationFailedIsNetHTTPsAlone: of the writes that start as a 417,
// only net/http's own, byte for byte as it writes it for an Expect other than
// 100-continue, is answered in JSON; a handler's 417, with a header or a body
// of its own, is left as written.
func TestExpectationFailedIsNetHTTPsAlone(t *testing.T) {
	const (
		date = "Fri, 04 Dec 2026 18:08:12 GMT"
		head = "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nDate: " + date + "\r\n"
	)
	tests := []struct {
		name, write string
		method      string // of the request, for a rewritten answer
	}{
		{"net/http's", head + "Content-Length: 0\r\n\r\n", http.MethodGet},
		{"net/http's to HTTP/1.0", strings.Replace(head, "HTTP/1.1", "HTTP/1.0", 1) + "Content-Length: 0\r\n\r\n", http.MethodGet},
		{"net/http's to a HEAD", head + "\r\n", http.MethodHead},
		{"a handler's with a header of its own", strings.Replace(head, "Connection", "Cache-Control: no-store\r\nConnection", 1) + "Content-Length: 0\r\n\r\n", ""},
		{"a handler's with a header after", head + "Content-Length: 0\r\nX-Request-Id: 1\r\n\r\n", ""},
		{"a handler's with a body", head + "Content-Length: 2\r\n\r\nno", ""},
		{"net/http's and more", head + "Content-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n", ""},
		{"a Date that is none", strings.Replace(head, date, "Fri, 04 Dec 2026 18:08:12 UTC", 1) + "Content-Length: 0\r\n\r\n", ""},
		{"another reason", strings.Replace(head, "Expectation Failed", "Expectation Unmet!", 1) + "Content-Length: 0\r\n\r\n", ""},
		{"another protocol", strings.Replace(head, "HTTP/1.1", "HTTP/2.0", 1) + "Content-Length: 0\r\n\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := jsonAnswer([]byte(tt.write))
			if tt.method == "" {
				if answer != nil {
					t.Fatalf("rewritten to %q", answer)
				}
				return
			}
			br := bufio.NewReader(bytes.NewReader(answer))
			resp, err := http.ReadResponse(br, &http.Request{Method: tt.method})
			if err != nil {
				t.Fatalf("%q: %v", answer, err)
			}
			body, _ := io.ReadAll(resp.Body)
			rest, _ := io.ReadAll(br)
			want := `{"message":"` + apispec.MessagesOf().ExpectationFailed + `"}` + "\n"
			if tt.method == http.MethodHead {
				body, want = rest, "" // nothing after the headers
			}
			if resp.StatusCode != http.StatusExpectationFailed || resp.Proto != tt.write[:len("HTTP/1.x")] || string(body) != want ||
				resp.Header.Get("Date") != date || resp.Header.Get("Content-Type") != "application/json" || !resp.Close {
				t.Errorf("%q, want %s's 417 with its Date, closing, JSON %q", answer, tt.write[:len("HTTP/1.x")], want)
			}
		})
	}
}
