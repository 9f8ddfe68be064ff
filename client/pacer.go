package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrRateLimited is wrapped by the error of a call that the rate limit
// stopped before its context's deadline: its request was held because the
// window reopens only after the deadline, or its 429 was not retried because
// Retry-After ends after it. The error is a *RateLimitedError. Without a
// deadline the call waits instead.
var ErrRateLimited = errors.New("plannr: rate limit reached")

// Budget is the state of a Pacer's rate-limit budget; see Pacer.Budget.
type Budget struct {
	// Limit is how many requests a window allows, as the server's answers
	// state it; 0 until one has.
	Limit int
	// Remaining is how many requests the window has left. While the state
	// of the window is unknown, before the first answer and from the end of
	// a window to the first answer in the next, one request goes alone:
	// Remaining is then 1, or 0 while it is out. It is -1 when the server's
	// answers state no limit, and nothing is paced.
	Remaining int
	// Reset is when the current window has surely ended; zero while no
	// answer has told of the current window.
	Reset time.Time
	// Window is the longest the server's window may last, as the answers
	// have shown it, or as NewPacer or WithRateWindow gave it until they do.
	Window time.Duration
	// InFlight is how many requests are sent and not yet answered.
	InFlight int
}

// Pacer paces the requests of one token to one server so that none is
// refused for the rate limit. Each client that New makes has a Pacer of its
// own, unless WithPacer gives it one: clients that call with the same token
// and should share its budget, in one process, share a Pacer made by
// NewPacer. Nothing else is shared, so that one client's options never bind
// another's.
//
// The server counts requests in a fixed window that opens with the first
// request after the last window closed (Laravel's throttle, which Plannr
// uses). A request is counted before it is sent and its answer corrects the
// count: the pacer learns the limit and how many requests the window has
// used from X-RateLimit-Limit and X-RateLimit-Remaining, and takes any
// excess in the server's count as another process's use of the token.
// Requests go at once, first come first sent, until the window is spent, and
// then wait for it to end.
//
// When it ends is learned from the answers. X-RateLimit-Reset against the
// answer's Date, and a 429's Retry-After, bound the end to within a second or
// two; a count that starts again shows that a window has ended, and so how
// long windows last at most. What is known of their length bounds every later
// window, from the length given to NewPacer down.
//
// Both headers are whole seconds, and so are Laravel's windows. When the
// answer to the request that opened a window says X-RateLimit-Reset, the
// window likely lasts the whole seconds from the answer's Date to it, less
// the one that Reset was rounded up by. Once the window is spent, one request
// asks then whether it has ended, rather than all wait for the end that the
// headers make sure of. Should the server refuse it (one that rounds Reset
// otherwise, or whose window is not whole seconds), that length is ruled out
// and the pacer waits for the sure end.
//
// Until an answer tells the state of a window (at the start, after each
// window ends, after answers that say nothing of the limit such as a proxy's
// 502, a captive portal's HTML 200 or another service's JSON) one request
// goes alone. The API's own success (a JSON 200 of the spec's envelope, a
// delete's 204) that states no limit means that the server limits no one:
// nothing is paced until an answer states a limit. One that states
// X-RateLimit-Limit without a readable X-RateLimit-Remaining says nothing of
// the window, as a proxy's answer does.
type Pacer struct {
	// window is the longest a window may last before the answers say more.
	window time.Duration

	mu sync.Mutex
	// key identifies the token and base URL of the clients that use the
	// pacer, hashed so that the pacer holds no token; set by the first.
	key   [sha256.Size]byte
	bound bool
	// limit is the server's requests per window: 0 until an answer says it,
	// -1 once the API's success has come without it (the server limits no
	// one).
	limit int
	// gen numbers the windows as the pacer sees them. A ticket keeps its
	// gen, so that a late answer from an earlier window is not taken for
	// news of the current one.
	gen uint64
	// confirmed is set once an answer has told the state of the current
	// window. asking is set while the one request is out that asks it: of a
	// window whose state is unknown, or whether a spent window has ended.
	confirmed, asking bool
	// The window's length is more than minLen and at most maxLen.
	minLen, maxLen time.Duration
	// Of the current window, once confirmed: it opened after openedAfter
	// (zero when unknown) and by openedBy; it ends after endsAfter and by
	// endsBy, and likely by likelyEnd (zero when nothing says so).
	openedAfter, openedBy, endsAfter, endsBy, likelyEnd time.Time
	// sent counts this process's requests that may count in the window,
	// foreign the requests of others that the server counted (at least).
	sent, foreign int
	// answered counts the answers that the server counted in the window.
	answered int
	inFlight int
	// queue holds a channel per request waiting to be let go, in the order
	// they came: first come, first sent, so that no caller is starved.
	// Only the head may go; a signal on its channel says it may try.
	queue []chan struct{}
}

// NewPacer returns a Pacer for the clients given it with WithPacer. window
// is the longest the server's rate-limit window may last, as WithRateWindow
// says; window <= 0 means DefaultRateWindow.
func NewPacer(window time.Duration) *Pacer {
	if window <= 0 {
		window = DefaultRateWindow
	}
	return &Pacer{window: window, maxLen: window}
}

// Budget returns the state of p's budget.
func (p *Pacer) Budget() Budget { return p.budgetAt(time.Now()) }

func (p *Pacer) budgetAt(now time.Time) Budget {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := Budget{Limit: max(p.limit, 0), Window: p.maxLen, InFlight: p.inFlight}
	switch {
	case p.limit < 0:
		b.Remaining = -1
	case !p.confirmed || !now.Before(p.endsBy):
		if !p.asking || p.confirmed {
			b.Remaining = 1
		}
	default:
		b.Remaining = max(p.left(), 0)
		b.Reset = p.endsBy
	}
	return b
}

// pacerKey hashes what a pacer's clients share, so that a pacer never
// holds a token.
func pacerKey(token, baseURL string) [sha256.Size]byte {
	return sha256.Sum256([]byte(token + "\x00" + strings.TrimSuffix(baseURL, "/")))
}

// bind makes p the pacer of the clients of key: a budget is one token's at
// one server, and the requests of another would count against another.
func (p *Pacer) bind(key [sha256.Size]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bound && p.key != key {
		return errors.New("client: the Pacer paces another token or base URL; make a Pacer for each")
	}
	p.key, p.bound = key, true
	return nil
}

// ticket is a reservation: which window it counted in, how many answers of
// that window had come when it was made, when it was made (the request goes
// no sooner), and whether its request asks the state of the window.
type ticket struct {
	gen            uint64
	answeredBefore int
	sent           time.Time
	asks           bool
}

// reserve waits until a request may be sent without exceeding the budget,
// and counts it. Requests go in the order they came. It fails at once with a
// *RateLimitedError when the window reopens after ctx's deadline, and with
// ctx's error when ctx ends.
func (p *Pacer) reserve(ctx context.Context) (ticket, error) {
	deadline, _ := ctx.Deadline()
	turn := make(chan struct{}, 1)
	p.mu.Lock()
	p.queue = append(p.queue, turn)
	for {
		// A call whose context has ended is not sent, and spends nothing.
		// Asked at every turn: a select that finds both the turn and the
		// end ready may take either.
		if err := ctx.Err(); err != nil {
			p.leave(turn)
			p.mu.Unlock()
			return ticket{}, err
		}
		now := time.Now()
		if p.confirmed && !now.Before(p.endsBy) {
			p.nextWindow()
		}
		// Only the head of the queue waits for a time; the others wait for
		// their turn, which comes when the head goes or gives up.
		var until time.Time // when to try again; zero: when woken
		if p.queue[0] == turn {
			var ok bool
			if ok, until = p.admit(now); ok {
				t := p.take(now)
				p.leave(turn)
				p.mu.Unlock()
				return t, nil
			}
		}
		// Waiting for a window that reopens only after the deadline would
		// only fail later.
		if p.spent() && !deadline.IsZero() && p.reopens().After(deadline) {
			err := &RateLimitedError{Until: p.reopens()}
			p.leave(turn)
			p.mu.Unlock()
			return ticket{}, err
		}
		p.mu.Unlock()

		var retry <-chan time.Time // nil: never
		if !until.IsZero() {
			retry = time.After(time.Until(until))
		}
		select {
		case <-turn:
		case <-retry:
		case <-ctx.Done():
		}
		p.mu.Lock()
	}
}

// admit says whether the request at the head of the queue may go at now,
// and if not, until when it waits (zero: until woken); p.mu must be held.
func (p *Pacer) admit(now time.Time) (bool, time.Time) {
	switch {
	case p.limit < 0:
		return true, time.Time{}
	case !p.confirmed:
		return !p.asking, time.Time{}
	case !p.spent():
		return true, time.Time{}
	case p.asking:
		return false, time.Time{}
	case !p.likelyEnd.IsZero() && !now.Before(p.likelyEnd):
		// Ask whether the spent window has ended.
		return true, time.Time{}
	}
	return false, p.reopens()
}

// take counts a request that goes at now; p.mu must be held.
func (p *Pacer) take(now time.Time) ticket {
	t := ticket{gen: p.gen, answeredBefore: p.answered, sent: now, asks: p.limit >= 0 && (!p.confirmed || p.spent())}
	p.sent++
	p.inFlight++
	p.asking = p.asking || t.asks
	return t
}

func (p *Pacer) left() int { return p.limit - p.sent - p.foreign }

// spent reports whether the current window, as known, admits no request.
func (p *Pacer) spent() bool { return p.confirmed && p.limit >= 0 && p.left() <= 0 }

// reopens is when a request may go in a spent window: at its likely end,
// else at its sure end; p.mu must be held.
func (p *Pacer) reopens() time.Time {
	if p.likelyEnd.IsZero() {
		return p.endsBy
	}
	return earlier(p.likelyEnd, p.endsBy)
}

// leave takes turn out of the queue and lets the new head try; p.mu must be
// held.
func (p *Pacer) leave(turn chan struct{}) {
	p.queue = slices.DeleteFunc(p.queue, func(c chan struct{}) bool { return c == turn })
	p.wake()
}

// wake lets the head of the queue try; p.mu must be held.
func (p *Pacer) wake() {
	if len(p.queue) > 0 {
		select {
		case p.queue[0] <- struct{}{}:
		default: // it has a signal it has not taken yet
		}
	}
}

// nextWindow starts a window whose state is unknown. The requests still in
// flight may land in it, so they count.
func (p *Pacer) nextWindow() {
	p.gen++
	p.confirmed, p.asking = false, false
	p.openedAfter, p.openedBy, p.endsAfter, p.endsBy, p.likelyEnd = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	p.sent, p.foreign, p.answered = p.inFlight, 0, 0
}

// answer takes what the answer to t's request, received at now, says; resp
// is nil when the request got none (it may still have counted). Of an
// answer that judgedByBody, resp's body must have been read (readBody), and
// one cut short is none.
func (p *Pacer) answer(t ticket, resp *http.Response, now time.Time) {
	rl, ok := RateLimitOf(resp)
	// The API's own success that states no limit is the server saying it
	// limits no one. Anything else without the headers (no answer, a
	// proxy's 502, a captive portal's HTML 200, another service's JSON)
	// says nothing of the window: what was known stays, and while nothing
	// is known another request may ask. resp.Request, which the client's
	// transport sets, tells the operation; an answer without it is not
	// known to be the API's. Judged before the lock, as it reads the body.
	unlimited := !ok && statesNoLimit(resp) && resp.Request != nil && apiSuccess(resp.Request, resp)
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.wake()
	p.inFlight--
	if t.gen != p.gen {
		return
	}
	if t.asks {
		p.asking = false
	}
	if !ok {
		if unlimited {
			p.limit = -1
		}
		return
	}
	refused := resp.StatusCode == http.StatusTooManyRequests
	used := rl.Limit - rl.Remaining
	// The first limit after answers without one starts afresh: what was
	// sent unpaced tells nothing of the window. Within one window the
	// server's count includes every answer counted before this request was
	// sent; when it does not, the window ended before the server counted
	// this request, which opened or joined the next.
	if p.limit < 0 {
		p.nextWindow()
		p.sent++
	} else if p.confirmed && !refused && used <= t.answeredBefore {
		if !p.openedAfter.IsZero() {
			p.maxLen = min(p.maxLen, now.Sub(p.openedAfter))
		}
		p.nextWindow()
		p.sent++
	}
	p.limit = rl.Limit
	if !p.confirmed {
		p.confirmed = true
		p.openedBy = now
		p.endsBy = now.Add(p.maxLen)
		// The first request the window counted opened it, no sooner than it
		// was sent.
		if used == 1 && !refused {
			p.openedAfter = t.sent
			p.likelyEnd = likelyEnd(resp, rl, now)
		}
	}
	if refused {
		// The window is spent: the server counts no more in it.
		p.foreign = max(p.foreign, rl.Limit-p.sent)
	} else {
		p.answered++
		p.foreign = max(p.foreign, used-p.sent)
	}
	// Counted or refused, it found the window open when it was sent.
	p.endsAfter = later(p.endsAfter, t.sent)
	if after, by, ok := endOf(resp, rl, t.sent, now); ok {
		p.endsAfter = later(p.endsAfter, after)
		if after.After(p.endsBy) {
			// The server's word over a length that it contradicts.
			p.endsBy = by
		} else {
			p.endsBy = earlier(p.endsBy, by)
		}
	}
	p.learnLength()
}

// judgedByBody reports whether what resp says to the pacer may hang on its
// body: a 2xx that states no limit says that the server limits no one only
// when it is the API's success, and a JSON body tells that success from
// another service's. The headers of any other answer tell all it says, as
// soon as they come.
func judgedByBody(resp *http.Response) bool {
	return statesNoLimit(resp) && resp.StatusCode >= 200 && resp.StatusCode < 300
}

// statesNoLimit reports whether resp has no X-RateLimit-Limit at all: only
// such a success says that the server limits no one. One that states a
// limit but no count RateLimitOf can read says nothing of the window, as a
// proxy's answer does; pacing goes on.
func statesNoLimit(resp *http.Response) bool {
	return resp != nil && len(resp.Header.Values(headerLimit)) == 0
}

// learnLength narrows what is known of the window's length by what is known
// of the current window, and the current window by the length; p.mu must be
// held.
func (p *Pacer) learnLength() {
	p.minLen = max(p.minLen, p.endsAfter.Sub(p.openedBy))
	said := p.endsBy.Sub(p.openedAfter) // the longest this window may last
	if !p.openedAfter.IsZero() {
		p.maxLen = min(p.maxLen, said)
	}
	if p.minLen >= p.maxLen {
		// The window outlasts the length given or learned (WithRateWindow
		// too short, or another process's requests misled the count). The
		// server's word on this window bounds the length, when the pacer
		// knows when it opened; else the pacer starts again from the longer
		// of the given length and twice what is known to have passed.
		if !p.openedAfter.IsZero() && said > p.minLen {
			p.maxLen = said
		} else {
			p.maxLen = max(p.window, 2*p.minLen)
		}
	}
	p.endsBy = earlier(p.endsBy, p.openedBy.Add(p.maxLen))
	// A likely end that the window has outlasted, or a length ruled out
	// before, is not likely; one at or past the sure end is of no use.
	if !p.likelyEnd.After(p.endsAfter) || p.likelyEnd.Sub(p.openedBy) <= p.minLen || !p.likelyEnd.Before(p.endsBy) {
		p.likelyEnd = time.Time{}
	}
}

// likelyEnd is when the window opened by the request answered at now likely
// ends, if the answer says X-RateLimit-Reset and Date: whole seconds after
// now, those from Date to Reset less the one by which the server rounded
// Reset up. Date being rounded down, a window that opens within a second
// and lasts whole seconds ends within the second before Reset. Zero when the
// answer does not say, or says a window shorter than a second.
func likelyEnd(resp *http.Response, rl RateLimit, now time.Time) time.Time {
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if rl.Reset.IsZero() || err != nil {
		return time.Time{}
	}
	whole := rl.Reset.Sub(date) - time.Second
	if whole < time.Second {
		return time.Time{}
	}
	return now.Add(whole)
}

// endOf is when the window of an answer, sent at sent and received at now,
// ends, by its X-RateLimit-Reset and, on a 429, its Retry-After (a 503's
// tells of an outage, not of the window): after after and by by. Both
// headers are in whole seconds, and the server may round either way: Reset
// is taken to be within the second after the end, at the server, and
// Retry-After within the second after it. Reset is measured from the
// answer's Date when there is one, which the server stamped within the
// second before it answered, so that a clock that disagrees with the
// server's does not matter.
func endOf(resp *http.Response, rl RateLimit, sent, now time.Time) (after, by time.Time, ok bool) {
	if !rl.Reset.IsZero() {
		if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			left := rl.Reset.Sub(date)
			after, by = sent.Add(left-2*time.Second), now.Add(left)
		} else {
			after, by = rl.Reset.Add(-time.Second), rl.Reset
		}
		ok = true
	}
	if d, found := retryAfter(resp); found && resp.StatusCode == http.StatusTooManyRequests {
		a, b := sent.Add(d-time.Second), now.Add(d)
		if !ok {
			after, by, ok = a, b, true
		}
		after, by = later(after, a), earlier(by, b)
	}
	return after, by, ok
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
