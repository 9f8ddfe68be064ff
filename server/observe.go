package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
)

// observe wraps the whole server: it names the request (X-Request-Id), sets the
// headers every answer carries, turns a panic into a logged 500 in JSON, and logs
// one line per request. The line never holds a token, a label or a body.
func observe(log *slog.Logger, m *metrics, next http.Handler) http.Handler {
	ids := newRequestIDs()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = ids.next()
		}
		h := w.Header()
		h.Set("X-Request-Id", id)
		// Answers hold users' data: no cache may keep them, no browser may
		// guess a type other than the one declared.
		h["Cache-Control"] = noStore
		h["X-Content-Type-Options"] = noSniff

		rec := &recorder{ResponseWriter: w, route: unmatched}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if rec.status == 0 {
					WriteError(rec, r, apierror.ServerError)
				}
			}
			m.answered(r.Method, rec.route, rec.status, start)
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("route", rec.route),
				slog.Int("status", rec.status),
				slog.Duration("duration", time.Since(start)),
				slog.String("request_id", id),
			}
			if rec.err != nil {
				attrs = append(attrs, slog.String("error", rec.err.Error()))
			}
			log.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// The values of the headers every answer carries, shared rather than allocated
// per request as Header.Set would. Sharing is safe because no one writes into a
// header's slice: Set and Del replace it, and Add appends to a slice that is
// full, which copies it.
var (
	noStore = []string{"no-store"}
	noSniff = []string{"nosniff"}
)

// recorder remembers the route the request matched, the status a handler
// sent, and the unexpected error behind a 5xx (apierror.Noter).
type recorder struct {
	http.ResponseWriter
	route  string
	status int
	err    error
}

// unmatched is the route of a log line for a request that matched none: never
// the raw path of an unknown URL, which may hold anything a client put there.
const unmatched = "unmatched"

// setRoute names the route of the request that w answers, for its log line.
func setRoute(w http.ResponseWriter, route string) {
	if route == "" {
		route = unmatched
	}
	for {
		if rec, ok := w.(*recorder); ok {
			rec.route = route
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

func (r *recorder) NoteError(err error) { r.err = err }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

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
