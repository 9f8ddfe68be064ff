package httpapi

import (
	"mime"
	"net/http"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
)

// jsonErrors makes a handler that is not ours (the /docs file server) answer its
// errors in the API's JSON: whatever error body it writes is replaced by
// {"message": <status text>}.
func jsonErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&errorRewriter{ResponseWriter: w, r: r}, r)
	})
}

type errorRewriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (e *errorRewriter) WriteHeader(status int) {
	mt, _, _ := mime.ParseMediaType(e.Header().Get("Content-Type"))
	if status < 400 || mt == "application/json" {
		e.ResponseWriter.WriteHeader(status)
		return
	}
	e.replaced = true
	h := e.Header()
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	apierror.Write(e.ResponseWriter, e.r, apierror.New(status, http.StatusText(status)))
}

func (e *errorRewriter) Write(b []byte) (int, error) {
	if e.replaced {
		return len(b), nil // the handler's own error body is dropped
	}
	return e.ResponseWriter.Write(b)
}

func (e *errorRewriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }
