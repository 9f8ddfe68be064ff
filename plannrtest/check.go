package plannrtest

import (
	"bytes"
	"maps"
	"net/http"
)

// checkFunc is (*httpapi.Handler).CheckResponse: whether a response the server
// gave to r keeps to the spec.
type checkFunc func(r *http.Request, status int, header http.Header, body []byte) error

// checkResponses runs every response of next through check and reports each
// violation. It checks on the server side, so that a test using its own HTTP
// client is covered too, and it holds the response back until it is checked, so
// that the report is made before the client can see the answer and the test
// possibly end: a report after the end of a test is lost, or panics.
func checkResponses(next http.Handler, check checkFunc, report func(format string, args ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &captured{header: http.Header{}}
		next.ServeHTTP(rec, r)
		// A no-op unless the handler wrote nothing, which net/http sends as a 200.
		rec.WriteHeader(http.StatusOK)
		body := rec.body.Bytes()
		if err := check(r, rec.status, rec.sent, body); err != nil {
			report("plannrtest: %s %s: response %d violates the spec: %v\nbody: %s", r.Method, r.URL.Path, rec.status, err, body)
		}
		maps.Copy(w.Header(), rec.sent)
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	})
}

// captured is a ResponseWriter that keeps the whole response. Headers set after
// WriteHeader are not sent, as with net/http's own writer.
type captured struct {
	header http.Header // what the handler sets
	sent   http.Header // header as of WriteHeader
	status int
	body   bytes.Buffer
}

func (c *captured) Header() http.Header { return c.header }

func (c *captured) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
		c.sent = c.header.Clone()
	}
}

func (c *captured) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.body.Write(b)
}
