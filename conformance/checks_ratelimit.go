package conformance

import (
	"net/http"
	"strconv"
	"time"
)

// window is what an answer's X-RateLimit-* headers say.
type window struct{ limit, remaining, reset int64 }

func (c *probe) rateLimit(ex *exchange) (window, bool) {
	var w window
	for _, h := range []struct {
		name string
		into *int64
	}{{"X-RateLimit-Limit", &w.limit}, {"X-RateLimit-Remaining", &w.remaining}, {"X-RateLimit-Reset", &w.reset}} {
		v, err := strconv.ParseInt(ex.Header.Get(h.name), 10, 64)
		if err != nil {
			c.fail(ex, "%s, an integer, on an authenticated answer; got %q", h.name, ex.Header.Get(h.name))
			return w, false
		}
		*h.into = v
	}
	return w, true
}

// answerTime is when ex was answered, by its Date, or else by our clock.
func answerTime(ex *exchange) time.Time {
	if t, err := http.ParseTime(ex.Header.Get("Date")); err == nil {
		return t
	}
	return time.Now()
}

func checkRateLimitHeaders(c *probe) {
	token := c.r.target.Token
	requests := []request{
		{method: http.MethodGet, path: listPath, token: token},
		{method: http.MethodPut, path: connPath(unknownUUID), token: token, contentType: jsonType, body: []byte(`{}`)},
		{method: http.MethodDelete, path: connPath(unknownUUID), token: token},
		{method: http.MethodPut, path: connPath(unknownUUID), token: token, contentType: jsonType, body: []byte(`{"label":42}`)},
		{method: http.MethodGet, path: listPath, token: token},
	}
	var prev window
	for i, rq := range requests {
		ex := c.send(rq)
		w, ok := c.rateLimit(ex)
		if !ok {
			continue
		}
		at := answerTime(ex).Unix()
		if w.reset < at-1 || w.reset > at+3600 {
			c.fail(ex, "X-RateLimit-Reset the epoch second the window closes, within the hour after the answer (%d), got %d", at, w.reset)
		}
		if w.remaining < 0 || w.remaining >= w.limit {
			c.fail(ex, "X-RateLimit-Remaining from 0 to X-RateLimit-Limit - 1 after a request, got %d of %d", w.remaining, w.limit)
		}
		switch {
		case i == 0:
		case w.limit != prev.limit:
			c.fail(ex, "X-RateLimit-Limit constant: %d, got %d", prev.limit, w.limit)
		case w.reset == prev.reset && w.remaining != prev.remaining-1:
			c.fail(ex, "X-RateLimit-Remaining one less than before (%d), got %d", prev.remaining, w.remaining)
		case w.reset != prev.reset && w.remaining != w.limit-1:
			// A new window: the request is its first.
			c.fail(ex, "X-RateLimit-Remaining %d in a new window (X-RateLimit-Reset %d, was %d), got %d", w.limit-1, w.reset, prev.reset, w.remaining)
		}
		prev = w
	}
}

func checkRateLimitDrive(c *probe) {
	if c.r.client.interval > 0 {
		c.skip("a request budget paces the kit below the rate limit")
	}
	token := c.r.target.Token
	list := request{method: http.MethodGet, path: listPath, token: token}
	first := c.send(list)
	w, ok := c.rateLimit(first)
	if !ok {
		c.fatal(first, "X-RateLimit-Limit, to know how far to drive")
	}
	ex := first
	for n := int64(0); n <= w.limit && ex.Status != http.StatusTooManyRequests; n++ {
		ex = c.send(list)
	}
	if ex.Status != http.StatusTooManyRequests {
		c.fatal(ex, "429 within X-RateLimit-Limit (%d) requests in a window", w.limit)
	}
	c.expectError(ex, http.StatusTooManyRequests, "")
	retry, err := strconv.Atoi(ex.Header.Get("Retry-After"))
	if err != nil || retry < 1 {
		c.fail(ex, "Retry-After, whole seconds of at least 1, got %q", ex.Header.Get("Retry-After"))
	}
	if over, ok := c.rateLimit(ex); ok {
		if over.remaining != 0 {
			c.fail(ex, "X-RateLimit-Remaining 0 on a 429, got %d", over.remaining)
		}
		if want := answerTime(ex).Unix() + int64(retry); err == nil && (over.reset < want-2 || over.reset > want+2) {
			c.fail(ex, "X-RateLimit-Reset the answer's Date plus Retry-After (%d), got %d", want, over.reset)
		}
	}
	// Every operation is refused, before its own checks.
	put := c.send(request{method: http.MethodPut, path: connPath(unknownUUID), token: token, contentType: jsonType, body: []byte(`{}`)})
	c.expectError(put, http.StatusTooManyRequests, "")
	other := c.send(request{method: http.MethodGet, path: listPath, token: c.r.target.OtherToken})
	if other.Status != http.StatusOK {
		c.fail(other, "200: the other user has a window of their own")
	}
	if ow, ok := c.rateLimit(other); ok && ow.remaining == 0 {
		c.fail(other, "the other user's X-RateLimit-Remaining above 0, got %d", ow.remaining)
	}
}
