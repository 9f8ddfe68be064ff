package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// transport is the http.RoundTripper of every client New makes, around the
// caller's own. It sees each attempt and each redirect it follows. Only a
// request to the base URL's origin (scheme, host and port) carries the token
// and counts against the budget: Go's http.Client would copy the token to a
// redirect to http:// on the same host, or to another port or a subdomain.
type transport struct {
	base          http.RoundTripper
	origin        string
	authorization string
	pacer         *Pacer // nil: pacing is off
	// timeout bounds each attempt; it is the http.Client's Timeout, moved
	// here so that it does not run while a request waits for the pacer.
	timeout time.Duration
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	toBase := originOf(req.URL) == t.origin
	var tk ticket
	if toBase && t.pacer != nil {
		var err error
		if tk, err = t.pacer.reserve(ctx); err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
	}
	timeout := t.timeout
	if d := settingsOf(ctx).attemptTimeout; d > 0 {
		timeout = d
	}
	attemptCtx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		attemptCtx, cancel = context.WithTimeout(ctx, timeout)
	}
	// A RoundTripper must not change the request it is given.
	req = req.Clone(attemptCtx)
	if toBase {
		req.Header.Set("Authorization", t.authorization)
	}
	resp, err := t.base.RoundTrip(req)
	if toBase && t.pacer != nil {
		t.pacer.answer(tk, resp, time.Now())
	}
	if err != nil {
		// Only the attempt's own deadline makes its error a timeout, and it
		// must be asked before cancel, which would end attemptCtx too: any
		// other error (a refused connection, a certificate) comes back as
		// it is.
		timedOut := errors.Is(attemptCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		if timedOut {
			return nil, &attemptTimeoutError{timeout}
		}
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// CloseIdleConnections passes on what retryablehttp asks of the client when
// it gives up.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// originOf is u's scheme, host and port, the port written out even when it
// is the scheme's default.
func originOf(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// cancelOnClose ends an attempt's context once its answer is read, as
// http.Client does for its own Timeout.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// attemptTimeoutError is the error of an attempt that got no answer within
// its timeout. It is not context.DeadlineExceeded, which would say that the
// whole call ran out of time, and it is retried.
type attemptTimeoutError struct{ timeout time.Duration }

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("no answer within the attempt timeout of %v", e.timeout)
}

// Timeout marks the error as a timeout for net.Error's users.
func (e *attemptTimeoutError) Timeout() bool { return true }
