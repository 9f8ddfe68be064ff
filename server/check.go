package server

import (
	"bytes"
	"log/slog"
	"maps"
	"net/http"
	"strconv"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
)

// ResponseValidation says what the server does with an answer that breaks the
// spec: a status the operation does not declare, a missing or mistyped
// header, a body that does not match its schema (a required field left out, a
// nullable time never set, which Go sends as year 1), an error that is not
// JSON.
type ResponseValidation struct {
	// Refuse sends a 500 {"message": "Server Error"} in place of such an
	// answer, so that it never reaches a client: for tests and staging.
	// Otherwise the answer goes out as it is, but for an undeclared status,
	// which the server never sends (see New).
	Refuse bool
	// Report is called with each violation, whose error holds the answer's
	// body. Nil logs it at error level, with the request's ID and route and
	// without the body, which holds users' labels (see WithLogger).
	Report func(r *http.Request, err error)
}

// WithResponseValidation checks every answer against the spec before it is
// sent, at the cost of holding each answer in memory until it is checked: a
// handler's flush sends nothing before then (an informational 1xx, such as
// 103 Early Hints, goes out at once: it is no part of the answer). Off unless
// given.
func WithResponseValidation(v ResponseValidation) Option {
	return func(c *config) error {
		c.validation = &v
		return nil
	}
}

type checkFunc func(r *http.Request, status int, header http.Header, body []byte) error

// checkResponses runs every answer of next through check before anything of it
// is sent, so that a report is made before the client can see the answer (and
// a test possibly end: a report after the end of a test is lost, or panics).
func checkResponses(next http.Handler, check checkFunc, v *ResponseValidation, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &captured{ResponseWriter: w, header: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.failed {
			// Nothing of the answer has gone out: the 500 takes its place
			// (the cause is noted already).
			WriteError(w, r, apierror.ServerError)
			return
		}
		// A no-op unless the handler wrote nothing, which net/http sends as a 200.
		rec.WriteHeader(http.StatusOK)
		body := rec.body.Bytes()
		if err := check(r, rec.status, rec.sent, body); err != nil {
			vi := &violation{method: r.Method, path: r.URL.Path, status: rec.status, err: err, body: body}
			if v.Report != nil {
				v.Report(r, vi)
			} else {
				logViolation(log, w, r, vi)
			}
			if v.Refuse {
				WriteError(w, r, err)
				return
			}
		}
		maps.Copy(w.Header(), rec.sent)
		w.WriteHeader(rec.status)
		if _, err := w.Write(body); err != nil {
			// The client gone, or a Content-Length of the handler's that is
			// not the body's: the answer is broken off (breakOff).
			WriteError(w, r, err)
		}
	})
}

// logViolation is the report of v without a Report of the user's: a line at
// ERROR beside the request's own, named as it is (its request ID, its route
// template, never the raw path), with what broke the spec, and never the
// answer's body, which holds the users' labels (WithLogger).
func logViolation(log *slog.Logger, w http.ResponseWriter, r *http.Request, v *violation) {
	route, id := unmatched, ""
	if rec := recorderOf(w); rec != nil {
		route, id = rec.route, rec.id[0]
	}
	log.ErrorContext(r.Context(), "response violates the spec", "method", r.Method, "route", route,
		"status", v.status, "request_id", id, "err", v.err.Error())
}

// violation is an answer that breaks the spec, with what a reader needs to
// find it.
type violation struct {
	method, path string
	status       int
	err          error
	body         []byte
}

func (v *violation) Error() string {
	return v.method + " " + v.path + ": response " + strconv.Itoa(v.status) + " violates the spec: " + v.err.Error() + "\nbody: " + string(v.body)
}

func (v *violation) Unwrap() error { return v.err }

// captured is a ResponseWriter that keeps the whole answer. Headers set after
// WriteHeader are not sent, as with net/http's own writer. It unwraps to the
// writer it stands in for, for the request's log line (setRoute, NoteError)
// and for http.ResponseController's deadlines and full duplex; a flush stops
// at it (FlushError).
type captured struct {
	http.ResponseWriter
	header http.Header // what the handler sets
	sent   http.Header // header as of WriteHeader
	status int
	body   bytes.Buffer
	failed bool // an error came after the answer began (breakOff)
}

func (c *captured) begun() bool { return c.status != 0 }

// fail drops the answer held: checkResponses sends the 500 instead.
func (c *captured) fail() { c.failed = true }

func (c *captured) Header() http.Header { return c.header }

func (c *captured) WriteHeader(status int) {
	validStatus(status)
	switch {
	case c.status != 0:
	case informational(status):
		c.interim(status)
	default:
		c.status = status
		c.sent = c.header.Clone()
	}
}

// interim sends an informational answer (103 Early Hints, say) at once, with
// the headers set so far, as net/http does: it is no part of the answer held
// to be checked. The headers of the writer under c are then as they were, so
// that the final answer carries the handler's headers as of its own status.
func (c *captured) interim(status int) {
	h := c.ResponseWriter.Header()
	own := h.Clone()
	maps.Copy(h, c.header)
	c.ResponseWriter.WriteHeader(status)
	clear(h)
	maps.Copy(h, own)
}

func (c *captured) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.body.Write(b)
}

func (c *captured) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// FlushError sends nothing: the answer goes out whole once it is checked, and
// a flush that reached the connection would send a 200 without the answer's
// headers, which the check could then no longer replace. It returns nil, not
// http.ErrNotSupported, as a flush that does its work would: a streaming
// handler takes an error from Flush for a client gone and stops, which would
// cut the answer short; the answer is only late.
func (c *captured) FlushError() error { return nil }

// Flush is FlushError for handlers that flush through http.Flusher.
func (c *captured) Flush() {}
