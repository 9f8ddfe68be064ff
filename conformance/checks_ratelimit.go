package conformance

import (
	"fmt"
	"math"
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

// checkRateLimitDrive sends the list as the first user until the server
// refuses, holding each answer to the one before it rather than to a count
// of the kit's own: the user's other clients (another program with the same
// token, requests through other replicas that share the count) spend the
// same budget, and a window may turn over on the way. A success leaves
// X-RateLimit-Remaining less than the answer before, by one, or by more when
// the user's other clients spent some in between; it may stay or rise, and
// may come once the one before said 0, only in a window that can be new
// (newWindow). The 429 must come once the answer before said 0, or when the
// user's other clients can have spent what it said was left (othersSpent);
// then it carries Retry-After and X-RateLimit-Reset. The drive sends what
// the answers say is left, at most two windows' worth: a third window means
// the kit cannot spend a window before it closes, and the check skips. The
// other user is not held back.
func checkRateLimitDrive(c *probe) {
	if c.r.client.interval > 0 {
		c.skip("a request budget paces the kit below the rate limit")
	}
	api := c.r.api
	token := c.r.target.Token
	list := request{method: api.list.Method, path: api.list.Path, token: token}
	ok, tooMany := api.list.Success[0], api.status[respTooMany]
	ex := c.send(list)
	if ex.window == nil {
		c.fatal(ex, "header "+hRemaining, "an integer, to know how far to drive")
	}
	prev, prevAt := *ex.window, time.Now()
	var (
		opened time.Time // when an answer of the drive opened a window
		others othersSpent
		gap    time.Duration // from the answer before to this one
	)
	for windows := 1; ; {
		ex = c.send(list)
		gap = time.Since(prevAt)
		if ex.Status == tooMany {
			break
		}
		if ex.Status != ok {
			c.fatal(ex, "status", "%d, or %d past the limit; got %d", ok, tooMany, ex.Status)
		}
		w := ex.window
		if w == nil {
			return // failed for it already
		}
		at := answerTime(ex)
		if prev.remaining > 0 && w.remaining < prev.remaining {
			others.add(prev.remaining-1-w.remaining, gap)
		} else {
			if why := c.newWindow(prev, *w, opened, at); why != "" {
				if prev.remaining == 0 {
					c.fatal(ex, "status", "%d once X-RateLimit-Remaining was 0, or a new window%s; got %d", tooMany, why, ex.Status)
				}
				c.fatal(ex, "header "+hRemaining, "less than before (%d), or up to %d in a new window%s; got %d", prev.remaining, w.limit-1, why, w.remaining)
			}
			if windows++; windows > 2 {
				c.skip("the kit did not spend the server's window of %d requests before it closed, twice: too slow to reach the limit", prev.limit)
			}
			opened = at
		}
		prev, prevAt = *w, time.Now()
	}
	c.expectError(ex, tooMany, api.msgs.TooManyAttempts)
	retry, err := strconv.Atoi(ex.Header.Get(hRetryAfter))
	if win := int(api.limits.RateWindow / time.Second); err != nil || retry < api.retryMin || retry > win {
		c.fail(ex, "header "+hRetryAfter, "whole seconds from %d (its schema's minimum) to the spec's window, %d; got %q", api.retryMin, win, ex.Header.Get(hRetryAfter))
	}
	over := ex.window
	if over != nil {
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
	// What the user's other clients must have spent since the answer before:
	// what it said was left, or, when the 429 is of a later window than its
	// X-RateLimit-Reset (Reset is rounded to the second), all of that one.
	spent, why := prev.remaining, fmt.Sprintf("X-RateLimit-Remaining said %d more requests", prev.remaining)
	if over != nil && over.hasReset && prev.hasReset && over.reset > prev.reset+1 {
		spent, why = over.limit, fmt.Sprintf("the window of the answer before closed (%s %d), and the new one (%d) had %d requests", hReset, prev.reset, over.reset, over.limit)
	}
	if room := others.room(gap); spent > room {
		c.fail(ex, "status", "%d: %s, more than the user's other clients can have spent in the %v since (%s); got %d", ok, why, gap.Round(time.Microsecond), others.says(room), ex.Status)
	}
	// Every operation is refused, before its own checks, while the window is
	// surely open: Retry-After is whole seconds, rounded either way.
	start := time.Now()
	put := c.send(request{method: api.update.Method, path: api.itemPath(c.r.absent), token: token, contentType: api.mediaType, body: []byte(`{}`)})
	if err == nil && time.Since(start) < time.Duration(retry-1)*time.Second {
		c.expectError(put, tooMany, api.msgs.TooManyAttempts)
	}
	other := c.send(request{method: api.list.Method, path: api.list.Path, token: c.r.target.OtherToken})
	if other.Status != ok {
		c.fail(other, "status", "%d: the other user has a window of their own; got %d", ok, other.Status)
	}
	if ow := other.window; ow != nil && ow.remaining == 0 {
		c.fail(other, "header "+hRemaining, "the other user's above 0; got %d", ow.remaining)
	}
}

// othersSpent is what the drive saw the user's other clients spend: by how
// much more than the kit's own request each answer's X-RateLimit-Remaining
// fell below the one before, and in what time.
type othersSpent struct {
	total int64         // requests, in every gap between two answers of one window
	over  time.Duration // the time of those gaps
	burst int64         // the most in one gap
}

func (o *othersSpent) add(n int64, gap time.Duration) {
	o.total += n
	o.over += gap
	o.burst = max(o.burst, n)
}

// room is how many requests the user's other clients are taken to have been
// able to spend in gap: none unless the drive saw them spend, else twice the
// more of the most they spent in one gap and what their rate so far spends
// in gap. A refusal with more left than that is the server's.
func (o othersSpent) room(gap time.Duration) int64 {
	if o.total == 0 {
		return 0
	}
	atRate := int64(math.Ceil(float64(o.total) * float64(gap) / float64(max(o.over, time.Nanosecond))))
	return 2 * max(o.burst, atRate)
}

// says tells what the drive saw of the user's other clients, for a failure.
func (o othersSpent) says(room int64) string {
	if o.total == 0 {
		return "the drive saw them spend none: every answer before was one less than the last"
	}
	return fmt.Sprintf("they spent %d in %v, at most %d between two answers: taken as at most %d", o.total, o.over.Round(time.Microsecond), o.burst, room)
}
