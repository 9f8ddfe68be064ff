package httpapi

import (
	"bytes"
	"io"
	"net/http"
)

// CheckResponse checks a response the server gave to r against the spec. The
// server's own pages (/healthz, /openapi.yaml, /docs) are outside the spec, but
// their errors must still be JSON in the API's format.
func (h *Handler) CheckResponse(r *http.Request, status int, header http.Header, body []byte) error {
	if h.extra(r.URL.Path) == nil {
		return h.Validator.Response(r, status, header, body)
	}
	if status >= 400 {
		return h.Validator.ErrorBody(header, body)
	}
	return nil
}

// Checking returns a RoundTripper that runs every response it carries through
// CheckResponse and hands each violation to report (t.Errorf in a test), so that
// no test can forget to check what the server sent.
func (h *Handler) Checking(base http.RoundTripper, report func(format string, args ...any)) http.RoundTripper {
	return checking{h: h, base: base, report: report}
}

type checking struct {
	h      *Handler
	base   http.RoundTripper
	report func(format string, args ...any)
}

func (c checking) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := c.h.CheckResponse(req, resp.StatusCode, resp.Header, body); err != nil {
		c.report("%s %s: response %d violates the spec: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}
