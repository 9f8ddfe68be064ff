package conformance

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// window is what an answer's X-RateLimit-* headers say; hasReset is false
// when X-RateLimit-Reset is absent, which the spec allows before a 429.
type window struct {
	limit, remaining, reset int64
	hasReset                bool
}

// rateLimitRules holds an authenticated answer's X-RateLimit-* headers to
// the spec, whatever check sent the request: X-RateLimit-Limit, and
// X-RateLimit-Remaining within it, on every authenticated answer whose
// response in the spec declares them (not a 401, nor the unexpected of a
// default), and
// X-RateLimit-Reset, if sent, is when the window closes, within the
// x-limits window of the answer. The limit is held to its schema alone (at
// least 1): x-limits is Plannr's, and an implementation may allow another.
// It notes them in ex.window for the rate-limit checks.
func (c *probe) rateLimitRules(ex *exchange) {
	if ex.token == "" || c.r.spec.headers(ex)[hLimit] == nil {
		return
	}
	limits := c.r.api.limits
	var w window
	for _, h := range []struct {
		name string
		into *int64
	}{{hLimit, &w.limit}, {hRemaining, &w.remaining}} {
		v, err := strconv.ParseInt(ex.Header.Get(h.name), 10, 64)
		if err != nil {
			c.fail(ex, "header "+h.name, "an integer on every authenticated answer; got %q", ex.Header.Get(h.name))
			return
		}
		*h.into = v
	}
	if w.remaining < 0 || w.remaining >= w.limit {
		c.fail(ex, "header "+hRemaining, "from 0 to X-RateLimit-Limit - 1 after a request; got %d of %d", w.remaining, w.limit)
	}
	if v := ex.Header.Get(hReset); v != "" {
		reset, err := strconv.ParseInt(v, 10, 64)
		at := answerTime(ex).Unix()
		if win := int64(limits.RateWindow / time.Second); err != nil || reset < at-1 || reset > at+win+1 {
			c.fail(ex, "header "+hReset, "the epoch second the window closes, within the spec's %v window after the answer (%d); got %q", limits.RateWindow, at, v)
		}
		w.reset, w.hasReset = reset, true
	}
	ex.window = &w
}

// answerTime is when ex was answered, by its Date, or else by our clock.
func answerTime(ex *exchange) time.Time {
	if t, err := http.ParseTime(ex.Header.Get("Date")); err == nil {
		return t
	}
	return time.Now()
}

// checkRateLimitHeaders sends a request of each operation, and a refused one:
// each counts, X-RateLimit-Remaining less each time (by one, or more when the
// user's other clients spent some in between), or more only in a new window,
// where one can open (newWindow): the limit less one on every answer would
// pass for a new window each time. A new window starts at the limit less
// one, or less when the user's other clients spent some of it first.
func checkRateLimitHeaders(c *probe) {
	api := c.r.api
	token := c.r.target.Token
	requests := []request{
		{method: api.list.Method, path: api.list.Path, token: token},
		{method: api.update.Method, path: api.itemPath(c.r.absent), token: token, contentType: api.mediaType, body: []byte(`{}`)},
		{method: api.remove.Method, path: api.itemPath(c.r.absent), token: token},
		{method: api.update.Method, path: api.itemPath(c.r.absent), token: token, contentType: api.mediaType, body: c.labelValue(42)},
		{method: api.list.Method, path: api.list.Path, token: token},
	}
	var prev *window
	var opened time.Time // when an answer of this check last opened a window
	for _, rq := range requests {
		ex := c.send(rq)
		w := ex.window
		if w == nil {
			continue // failed for it already
		}
		at := answerTime(ex)
		opens := w.remaining == w.limit-1
		if prev != nil && w.remaining >= prev.remaining {
			if why := c.newWindow(*prev, *w, opened, at); why != "" {
				c.fail(ex, "header "+hRemaining, "less than before (%d), or up to %d in a new window%s; got %d", prev.remaining, w.limit-1, why, w.remaining)
			}
			opens = true
		}
		if opens {
			opened = at
		}
		prev = w
	}
}

// newWindow says why w, answered at, cannot open a new window after prev;
// "" when it can. When both answers carry X-RateLimit-Reset, the new one is
// later. Else, since a window lasts the spec's window from the request that
// opens it, that long has gone by since the last answer that opened one
// (opened; zero if none did), less a second for Date's whole seconds.
func (c *probe) newWindow(prev, w window, opened, at time.Time) string {
	if w.hasReset && prev.hasReset {
		if w.reset <= prev.reset {
			return fmt.Sprintf(", with a later %s than %d", hReset, prev.reset)
		}
		return ""
	}
	win := c.r.api.limits.RateWindow
	if since := at.Sub(opened); !opened.IsZero() && since < win-time.Second {
		return fmt.Sprintf(", which cannot open %v after the last one (the spec's window is %v)", since, win)
	}
	return ""
}

// checkRateLimitDrive sends as many requests as X-RateLimit-Remaining says
// are left, each a success, then one more: a 429 with Retry-After and
// X-RateLimit-Reset. The other user is not held back.
func checkRateLimitDrive(c *probe) {
	if c.r.client.interval > 0 {
		c.skip("a request budget paces the kit below the rate limit")
	}
	api := c.r.api
	token := c.r.target.Token
	list := request{method: api.list.Method, path: api.list.Path, token: token}
	ex := c.send(list)
	if ex.window == nil {
		c.fatal(ex, "header "+hRemaining, "an integer, to know how far to drive")
	}
	tooMany := api.status[respTooMany]
	// A new window may open on the way: then the count starts again, once.
	for left, restarts := ex.window.remaining, 0; ; left-- {
		ex = c.send(list)
		if ex.Status == tooMany {
			if left > 0 {
				c.fail(ex, "status", "%d: X-RateLimit-Remaining said %d more requests; got %d", api.list.Success[0], left, ex.Status)
			}
			break
		}
		if ex.Status != api.list.Success[0] {
			c.fatal(ex, "status", "%d, or %d past the limit; got %d", api.list.Success[0], tooMany, ex.Status)
		}
		now := ex.window
		switch {
		case now == nil:
			return // failed for it already
		case left == 0 && now.remaining == now.limit-1 && restarts == 0:
			left, restarts = now.remaining+1, 1
		case left == 0:
			c.fatal(ex, "status", "%d once X-RateLimit-Remaining was 0; got %d", tooMany, ex.Status)
		}
	}
	c.expectError(ex, tooMany, api.msgs.TooManyAttempts)
	retry, err := strconv.Atoi(ex.Header.Get(hRetryAfter))
	if win := int(api.limits.RateWindow / time.Second); err != nil || retry < api.retryMin || retry > win {
		c.fail(ex, "header "+hRetryAfter, "whole seconds from %d (its schema's minimum) to the spec's window, %d; got %q", api.retryMin, win, ex.Header.Get(hRetryAfter))
	}
	if over := ex.window; over != nil {
		if over.remaining != 0 {
			c.fail(ex, "header "+hRemaining, "0 on a %d; got %d", tooMany, over.remaining)
		}
		want := answerTime(ex).Unix() + int64(retry)
		switch {
		case !over.hasReset:
			c.fail(ex, "header "+hReset, "on a %d, the epoch second the window closes; got none", tooMany)
		case err == nil && (over.reset < want-2 || over.reset > want+2):
			c.fail(ex, "header "+hReset, "the answer's Date plus Retry-After (%d); got %d", want, over.reset)
		}
	}
	// Every operation is refused, before its own checks.
	put := c.send(request{method: api.update.Method, path: api.itemPath(c.r.absent), token: token, contentType: api.mediaType, body: []byte(`{}`)})
	c.expectError(put, tooMany, api.msgs.TooManyAttempts)
	other := c.send(request{method: api.list.Method, path: api.list.Path, token: c.r.target.OtherToken})
	if other.Status != api.list.Success[0] {
		c.fail(other, "status", "%d: the other user has a window of their own; got %d", api.list.Success[0], other.Status)
	}
	if ow := other.window; ow != nil && ow.remaining == 0 {
		c.fail(other, "header "+hRemaining, "the other user's above 0; got %d", ow.remaining)
	}
}
