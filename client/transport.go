package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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
	// ownPool says that base is the pool New made for this client alone.
	ownPool bool
	// maxAnswerBody is the largest answer body read, in bytes.
	maxAnswerBody int64
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	toBase := originOf(req.URL) == t.origin
	var tk ticket
	start := time.Now()
	if toBase && t.pacer != nil {
		var err error
		if tk, err = t.pacer.reserve(ctx); err != nil {
			if req.Body != nil {
				_ = req.Body.Close()
			}
			return nil, err
		}
	}
	attemptCtx, cancel := t.attemptContext(req, time.Since(start))
	defer cancel()
	// A RoundTripper must not change the request it is given.
	req = req.Clone(attemptCtx)
	if toBase {
		req.Header.Set("Authorization", t.authorization)
	}
	resp, err := t.base.RoundTrip(req)
	received := time.Now()
	if err == nil {
		// The answer's request is the one sent, whatever base set: the
		// pacer reads the operation from it, and a redirect's next hop the
		// attempt's deadline (attemptContext).
		resp.Request = req
	}
	// The pacer hears of an answer as soon as it can judge it, so that no
	// other paced request waits for this one's body: at its headers, unless
	// it must see the body.
	paced := toBase && t.pacer != nil
	byBody := err == nil && judgedByBody(resp)
	if paced && !byBody {
		t.pacer.answer(tk, resp, received)
	}
	if err == nil {
		err = readBody(resp, t.maxAnswerBody)
	}
	if paced && byBody {
		answered := resp
		if err != nil {
			// An answer cut short is none, though what came of its body
			// may read as the API's success.
			answered = nil
		}
		t.pacer.answer(tk, answered, received)
	}
	if err != nil {
		// Only the attempt's own deadline makes its error a timeout: any
		// other error (a refused connection, a certificate, the call's
		// context ending) comes back as it is.
		var timeout *attemptTimeoutError
		if errors.As(context.Cause(attemptCtx), &timeout) {
			return nil, timeout
		}
		return nil, err
	}
	return resp, nil
}

// attemptContext bounds an attempt by its timeout: the call's, else the
// client's. Its deadline's cause is an *attemptTimeoutError, which net/http
// returns as the error of a request or body read it stopped. A redirect is
// a hop of the same attempt, as for http.Client's Timeout: it keeps the
// deadline of the hop before, which the request of the answer that
// redirected carries, moved on by the time this hop waited for the pacer
// (paced), which the timeout does not count.
func (t *transport) attemptContext(req *http.Request, paced time.Duration) (context.Context, context.CancelFunc) {
	ctx := req.Context()
	timeout := t.timeout
	if d := settingsOf(ctx).attemptTimeout; d > 0 {
		timeout = d
	}
	if timeout <= 0 {
		return ctx, func() {}
	}
	deadline := time.Now().Add(timeout)
	if req.Response != nil {
		if d, ok := req.Response.Request.Context().Deadline(); ok {
			deadline = d.Add(paced)
		}
	}
	return context.WithDeadlineCause(ctx, deadline, &attemptTimeoutError{timeout})
}

// DefaultMaxAnswerBody is the largest answer body, in bytes, that a client
// reads when WithMaxAnswerBody does not say otherwise.
const DefaultMaxAnswerBody = 16 << 20

// ErrAnswerTooLarge is wrapped by the error of a call whose answer has a
// body larger than the client reads (WithMaxAnswerBody). Such a call is not
// retried.
var ErrAnswerTooLarge = errors.New("plannr: answer too large")

// readBody reads resp's body within the attempt, so that an answer that
// stalls or is cut short fails the attempt, which is retried, rather than
// gen's read after the retries are over. The whole body is kept, as gen
// reads all of it anyway, up to limit bytes: the spec bounds no answer's
// size (x-limits bounds request bodies), and a server that sends without
// end must not take the caller's memory with it.
func readBody(resp *http.Response, limit int64) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, min(limit, math.MaxInt64-1)+1))
	_ = resp.Body.Close()
	if err == nil && int64(len(body)) > limit {
		return fmt.Errorf("%w: HTTP %d with a body of more than %d bytes", ErrAnswerTooLarge, resp.StatusCode, limit)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return err
}

// CloseIdleConnections passes on what retryablehttp asks of the client when
// it gives up, but only to the pool New made: a transport that
// WithHTTPClient gave, or http.DefaultTransport, may serve others too, whose
// connections are not the client's to close.
func (t *transport) CloseIdleConnections() {
	if !t.ownPool {
		return
	}
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

// attemptTimeoutError is the error of an attempt that did not get its whole
// answer within its timeout. It is not context.DeadlineExceeded, which would
// say that the whole call ran out of time, and it is retried.
type attemptTimeoutError struct{ timeout time.Duration }

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("no answer within the attempt timeout of %v", e.timeout)
}

// Timeout marks the error as a timeout for net.Error's users.
func (e *attemptTimeoutError) Timeout() bool { return true }
