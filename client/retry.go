package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// The defaults of RetryPolicy. Four retries with waits of up to 1, 2, 4 and
// 8 s ride out a restart or a short outage; 2 minutes is past Plannr's
// rate-limit window (DefaultRateWindow), so a 429 can be waited out once.
const (
	DefaultMaxRetries = 4
	DefaultMinWait    = time.Second
	DefaultMaxWait    = 30 * time.Second
	DefaultMaxElapsed = 2 * time.Minute
)

// RetryPolicy says when a call that got a 429, a 500, 502, 503 or 504, or no
// answer at all is tried again. Zero durations take the defaults above;
// MaxRetries is taken as given, so 0 disables retries.
type RetryPolicy struct {
	// MaxRetries is how many times a call is retried after its first attempt.
	MaxRetries int
	// MinWait and MaxWait bound the exponential back-off: the n-th retry
	// waits a random time between half of MinWait·2ⁿ⁻¹ and all of it, capped
	// at MaxWait and never below MinWait. A Retry-After on a 429 or 503 is
	// honoured instead, and not capped by MaxWait, because retrying sooner
	// than the server asked only earns another 429; but it is never less
	// than MinWait, a Retry-After of 0 included.
	MinWait, MaxWait time.Duration
	// MaxElapsed is the budget of a call: a retry whose wait would end later
	// than MaxElapsed after the call started is not made, and the call
	// returns what its last attempt got. The last attempt itself may run up
	// to its own timeout past the budget.
	MaxElapsed time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	p.MaxRetries = max(p.MaxRetries, 0)
	if p.MinWait <= 0 {
		p.MinWait = DefaultMinWait
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultMaxWait
	}
	// The jitter below needs MinWait <= MaxWait.
	p.MaxWait = max(p.MaxWait, p.MinWait)
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = DefaultMaxElapsed
	}
	return p
}

// wait is how long to wait before retry number retry+1, after resp (nil
// when the attempt got no answer).
func (p RetryPolicy) wait(retry int, resp *http.Response) time.Duration {
	// Retry-After is whole seconds, so 0 (as Laravel says it in the last
	// second of a window) means within the second, not now: a retry at once
	// would likely be refused again and spend a retry. The floor also keeps
	// the clients that one 503 told 0 from hammering the server together.
	if d, ok := retryAfter(resp); ok {
		return max(d, p.MinWait)
	}
	// DefaultBackoff with no response is plain exponential back-off capped
	// at MaxWait, with its overflow guard. "Equal jitter" on top keeps
	// clients that failed together from retrying together, while keeping at
	// least half of the back-off.
	d := retryablehttp.DefaultBackoff(p.MinWait, p.MaxWait, retry, nil)
	lo := max(d/2, p.MinWait)
	return lo + rand.N(d-lo+1)
}

// maxRetryAfter is the longest wait that a Retry-After is taken to ask for:
// a century, forever to any caller, yet far enough from time.Duration's
// 292 years that the times and lengths made of it (twice it, in the pacer)
// cannot overflow.
const maxRetryAfter = 100 * 365 * 24 * time.Hour

// retryAfter reads the Retry-After of a 429 or 503, in seconds or as an HTTP
// date. retryablehttp parses it too, but does not say whether it did, and
// jitter must apply only when it did not. A date is measured from the
// answer's Date, stamped by the same clock, so that a local clock that
// disagrees with the server's does not matter; from the local clock only
// when there is no Date. It is rounded up to whole seconds, as the header
// counts: retrying sooner than asked only earns another 429. A wait longer
// than maxRetryAfter, in seconds past int64 too, is maxRetryAfter.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	v := resp.Header.Get(headerRetryAfter)
	// ParseUint says ErrRange, with its largest value, of digits past it.
	if s, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		return time.Duration(min(s, uint64(maxRetryAfter/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	from := time.Now()
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		from = date
	}
	// t.Sub saturates at time.Duration's bounds rather than overflow.
	return (min(max(t.Sub(from), 0), maxRetryAfter) + time.Second - 1).Truncate(time.Second), true
}

// retryableStatus lists the answers worth another try. 501 and the rarer 5xx
// mean the request itself will never work; every 4xx but 429 is the caller's
// to fix.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryingDoer is the gen.HttpRequestDoer that New installs. Retrying every
// request is safe because every operation of this API is idempotent.
type retryingDoer struct {
	httpClient *http.Client
	policy     RetryPolicy
	logger     *slog.Logger
}

// Do runs req through a retryablehttp.Client made for this call alone,
// because the total-time budget belongs to the call: retryablehttp's hooks
// are told the attempt number but not when the call started.
func (d *retryingDoer) Do(req *http.Request) (*http.Response, error) {
	policy := d.policy
	if p := settingsOf(req.Context()).policy; p != nil {
		policy = *p
	}
	c := &call{policy: policy, deadline: time.Now().Add(policy.MaxElapsed), logger: d.logger}
	rreq, err := retryablehttp.FromRequest(req)
	if err != nil {
		return nil, err
	}
	// FromRequest keeps the body for each attempt but sets no GetBody, and
	// http.Client follows a 307 or 308 only when GetBody can give the body
	// again. SetBody, given the bytes FromRequest read, sets it.
	if req.Body != nil && req.GetBody == nil {
		body, err := rreq.BodyBytes()
		if err != nil {
			return nil, err
		}
		if err := rreq.SetBody(body); err != nil {
			return nil, err
		}
	}
	rc := &retryablehttp.Client{
		HTTPClient: d.httpClient,
		RetryMax:   policy.MaxRetries,
		CheckRetry: c.checkRetry,
		// checkRetry has already decided the wait; see call.
		Backoff:      func(time.Duration, time.Duration, int, *http.Response) time.Duration { return c.wait },
		ErrorHandler: lastResponse,
	}
	// retryablehttp logs only when Logger is non-nil, and a nil
	// *slog.Logger in it would not be; *slog.Logger is already a
	// retryablehttp.LeveledLogger.
	if d.logger != nil {
		rc.Logger = d.logger
	}
	resp, err := rc.Do(rreq)
	if err == nil {
		err = unreadableError(resp)
	}
	if err == nil {
		err = unexpectedSuccess(req, resp)
	}
	if err != nil {
		return nil, err
	}
	readableHeaders(req, resp)
	return resp, nil
}

// call is the retry state of one call. retryablehttp asks CheckRetry whether
// to retry, then Backoff how long to wait. The total-time budget is enforced
// in checkRetry, which computes the wait and refuses a retry whose wait would
// end past the deadline: only refusing there keeps the last response for the
// caller (Backoff cannot refuse, and a context deadline would turn a 429 the
// caller could read into a bare context error, after sleeping to no
// purpose). Backoff then returns the wait checkRetry chose.
type call struct {
	policy   RetryPolicy
	deadline time.Time
	logger   *slog.Logger
	attempts int
	wait     time.Duration
}

func (c *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	c.attempts++
	// Waiting for the pacer again would only fail again, and an answer too
	// large would only come again.
	if errors.Is(err, ErrRateLimited) || errors.Is(err, ErrAnswerTooLarge) {
		return false, err
	}
	// DefaultRetryPolicy stops on a cancelled or expired context, returning
	// its error, and retries connection errors but not those no retry can
	// fix (TLS verification, a bad URL scheme, too many redirects).
	retry, stop := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	if !retry || stop != nil || (resp != nil && !retryableStatus(resp.StatusCode)) {
		return false, stop
	}
	c.wait = c.policy.wait(c.attempts-1, resp)
	retryAt := time.Now().Add(c.wait)
	// A retry that cannot come before the caller's deadline is not made:
	// sleeping until the deadline would only end in a bare context error.
	// The caller has now what the attempt got, as when the retries run out:
	// the answer, or the error, saying why it was not retried. A 429 says
	// so too, as the budget's. When no retry is left, what the attempt got
	// is the call's as it is.
	if deadline, ok := ctx.Deadline(); ok && retryAt.After(deadline) && c.attempts <= c.policy.MaxRetries {
		switch {
		case resp == nil:
			return false, fmt.Errorf("not retried, the wait of %v ending past the context's deadline (%w): %w", c.wait, context.DeadlineExceeded, err)
		case resp.StatusCode == http.StatusTooManyRequests:
			return false, refusedUntil(resp, retryAt)
		}
		c.notRetrying("the context's deadline")
		return false, nil
	}
	if retryAt.After(c.deadline) {
		c.notRetrying("the budget")
		return false, nil
	}
	return true, nil
}

// notRetrying logs that no retry is made because its wait would end past
// what limit names.
func (c *call) notRetrying(limit string) {
	if c.logger != nil {
		c.logger.Debug("not retrying: the wait would end past "+limit, "wait", c.wait, "max_elapsed", c.policy.MaxElapsed)
	}
}

// lastResponse is the ErrorHandler retryablehttp calls when it gives up.
// When the last attempt got an answer (a 429 or 5xx) it returns that answer,
// unread, so that gen parses it into its typed response and the caller sees
// the status, body and headers; retryablehttp's default would discard it for
// a "giving up" error. With no answer, or a cancelled context, the error
// stays an error, which says how many attempts the call gave up after only
// when it retried: of a call that made one attempt or none (a certificate
// refused, a context that ended before its first attempt) "giving up after 1
// attempt(s)" says nothing the error does not, or claims an attempt the
// server never saw.
func lastResponse(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if err == nil {
		return resp, nil
	}
	if resp != nil {
		_ = resp.Body.Close()
	}
	if attempts <= 1 {
		return nil, err
	}
	return nil, fmt.Errorf("giving up after %d attempt(s): %w", attempts, err)
}
