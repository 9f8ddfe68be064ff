package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// DefaultRateWindow is the length of Plannr's rate-limit window, as the
// spec's x-limits state it. A pacer takes it as the longest a window may last
// until the answers say more.
const DefaultRateWindow = time.Minute

// The headers of the rate limit that the client reads, as the spec's
// components.headers name them (TestHeadersAreTheSpecs).
const (
	headerLimit      = "X-RateLimit-Limit"
	headerRemaining  = "X-RateLimit-Remaining"
	headerReset      = "X-RateLimit-Reset"
	headerRetryAfter = "Retry-After"
)

// RateLimit is what one answer said of the caller's rate limit, in Plannr's
// (Laravel's) X-RateLimit-* headers.
type RateLimit struct {
	// Limit is how many requests a window allows (X-RateLimit-Limit).
	Limit int
	// Remaining is how many requests the window had left after this one
	// (X-RateLimit-Remaining); 0 on a 429.
	Remaining int
	// Reset is when the window closes (X-RateLimit-Reset, in whole seconds),
	// or zero when the answer did not say: Plannr says it only on a 429.
	Reset time.Time
}

// RateLimitOf reads the rate limit that resp states. ok is false when resp
// is nil or lacks X-RateLimit-Limit or X-RateLimit-Remaining, as an answer
// to an unauthenticated request does. Any generated response carries its
// answer in HTTPResponse:
//
//	resp, err := c.ListOAuthConnectionsWithResponse(ctx)
//	if rl, ok := client.RateLimitOf(resp.HTTPResponse); ok { ... }
func RateLimitOf(resp *http.Response) (rl RateLimit, ok bool) {
	if resp == nil {
		return RateLimit{}, false
	}
	limit, err1 := strconv.Atoi(resp.Header.Get(headerLimit))
	remaining, err2 := strconv.Atoi(resp.Header.Get(headerRemaining))
	if err1 != nil || err2 != nil || limit <= 0 || remaining < 0 {
		return RateLimit{}, false
	}
	rl = RateLimit{Limit: limit, Remaining: min(remaining, limit)}
	if reset, err := strconv.ParseInt(resp.Header.Get(headerReset), 10, 64); err == nil && reset > 0 {
		rl.Reset = time.Unix(reset, 0)
	}
	return rl, true
}

// readableHeaders makes the headers of resp that the spec declares as
// integers, for the request's operation and resp's status, readable by gen:
// gen binds each to an int, and one it cannot parse fails the whole call, the
// answer lost. A Retry-After given as an HTTP date, as RFC 9110 allows,
// becomes its seconds; any other value that the header's schema does not
// take is removed, as if not sent, so that it changes nothing. The pacer has
// read the headers as they came.
func readableHeaders(req *http.Request, resp *http.Response) {
	op, known := apispec.OperationAt(req.Method, req.URL.Path)
	if !known {
		return
	}
	declared := op.Op.Responses.Status(resp.StatusCode)
	if declared == nil {
		return
	}
	for name, h := range declared.Value.Headers {
		schema := h.Value.Schema
		if len(resp.Header.Values(name)) == 0 || schema == nil || !schema.Value.Type.Is(openapi3.TypeInteger) {
			continue
		}
		if d, ok := retryAfter(resp); ok && strings.EqualFold(name, headerRetryAfter) {
			resp.Header.Set(name, strconv.Itoa(int(d/time.Second)))
		}
		if n, err := strconv.Atoi(resp.Header.Get(name)); err != nil || schema.Value.VisitJSON(float64(n)) != nil {
			resp.Header.Del(name)
		}
	}
}

// RateLimitedError is the error of a call that the rate limit stopped before
// its context's deadline, at once rather than at the deadline: either the
// pacer held the request, because the window reopens only after the
// deadline, and nothing was sent; or the server answered 429 and its
// Retry-After ends after the deadline.
//
// It wraps ErrRateLimited; context.DeadlineExceeded, since the call could
// not succeed within its deadline; and, when the server answered, the 429 as
// an *APIError, as Check makes it:
//
//	var limited *client.RateLimitedError
//	if errors.As(err, &limited) {
//		log.Printf("rate limited until %s", limited.Until)
//	}
type RateLimitedError struct {
	// Until is when the window reopens: as the pacer knows it, or as the
	// 429's Retry-After says.
	Until time.Time
	// Response is the 429, its body read and kept so that it reads again
	// (RateLimitOf reads its headers); nil when the pacer held the request.
	Response *http.Response
	answer   *APIError
}

// refusedUntil is the *RateLimitedError of resp, a 429 whose retry would
// come at until. It reads and closes resp's body, and keeps it.
func refusedUntil(resp *http.Response, until time.Time) error {
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return &RateLimitedError{Until: until, Response: resp, answer: errorFromBody(resp.StatusCode, body)}
}

func (e *RateLimitedError) Error() string {
	until := e.Until.Format(time.RFC3339)
	if e.Response == nil {
		return fmt.Sprintf("%v: the window reopens at %s, after the context's deadline", ErrRateLimited, until)
	}
	return fmt.Sprintf("%v: HTTP %d, to be retried at %s, after the context's deadline", ErrRateLimited, e.Response.StatusCode, until)
}

func (e *RateLimitedError) Unwrap() []error {
	errs := []error{ErrRateLimited, context.DeadlineExceeded}
	if e.answer != nil {
		errs = append(errs, e.answer)
	}
	return errs
}
