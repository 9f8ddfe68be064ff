package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"weak"
)

// ErrRateLimited is wrapped by the error of a call that the rate limit
// stopped before its context's deadline: its request was held because the
// window reopens only after the deadline, or its 429 was not retried because
// Retry-After ends after it. The error is a *RateLimitedError. Without a
// deadline the call waits instead.
var ErrRateLimited = errors.New("plannr: rate limit reached")

// Budget is the state of the rate-limit budget that every client of one
// token and base URL in this process shares; see BudgetFor.
type Budget struct {
	// Limit is how many requests a window allows, as the server's answers
	// state it; 0 until one has.
	Limit int
	// Remaining is how many requests may start now without waiting for the
	// window to reopen. While the state of the window is unknown, before the
	// first answer and from the end of a window to the first answer in the
	// next, one request goes alone: Remaining is then 1, or 0 while it is
	// out. It is -1 when the server's answers state no limit, and nothing is
	// paced.
	Remaining int
	// Reset is when the current window has surely ended; zero while no
	// answer has told of the current window.
	Reset time.Time
	// InFlight is how many requests are sent and not yet answered.
	InFlight int
}

// BudgetFor returns the budget shared by the clients of token and baseURL
// (as given to WithBaseURL; "" is DefaultBaseURL). ok is false when no
// client of that pair paces its requests, or none is left: a budget lives
// as long as some client uses it.
func BudgetFor(token, baseURL string) (b Budget, ok bool) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	v, ok := budgets.Load(budgetKey(token, baseURL))
	if !ok {
		return Budget{}, false
	}
	bud := v.(weak.Pointer[budget]).Value()
	if bud == nil {
		return Budget{}, false
	}
	return bud.state(), true
}

// budgets maps budgetKey to a weak.Pointer[budget]. The pointer is weak so
// that a process that calls Plannr for many users' tokens in turn does not
// keep a budget for each token it ever used.
var budgets sync.Map

// budgetKey hashes the pair, so that the registry never holds a token.
func budgetKey(token, baseURL string) [sha256.Size]byte {
	return sha256.Sum256([]byte(token + "\x00" + strings.TrimSuffix(baseURL, "/")))
}

// sharedBudget returns the budget of key, making it if no client holds one.
// window is the first client's; the later ones share its budget as it is.
func sharedBudget(key [sha256.Size]byte, window time.Duration) *budget {
	for {
		if v, ok := budgets.Load(key); ok {
			if b := v.(weak.Pointer[budget]).Value(); b != nil {
				return b
			}
			// Collected, and its cleanup not yet run.
			budgets.CompareAndDelete(key, v)
			continue
		}
		b := &budget{window: window}
		wp := weak.Make(b)
		if _, loaded := budgets.LoadOrStore(key, wp); loaded {
			continue
		}
		runtime.AddCleanup(b, func(wp weak.Pointer[budget]) { budgets.CompareAndDelete(key, wp) }, wp)
		return b
	}
}

// budget paces the requests of one token to one server so that none is
// refused: a request is counted before it is sent (reserve) and the answer
// corrects the count (answer).
//
// The server counts requests in a fixed window that opens with the first
// request after the last window closed (Laravel's throttle). From each
// answer the budget learns the limit and how many requests the window has
// used; it counts its own requests sent since, and takes any excess in the
// server's count as another process's use of the token. The window surely
// ends no later than one window length after the first answer in it, and,
// when the answer says X-RateLimit-Reset (whole seconds), no later than the
// second after it. Until an answer tells the state of a window, at the start
// and after each window ends, one request goes alone. Requests wait in one
// queue, first come, first sent; one that overlaps another still out goes
// no sooner than what is left of the window's time, divided by what is left
// of its budget, after the one before, so that callers in parallel take
// turns rather than the quickest taking the whole window.
type budget struct {
	window time.Duration

	mu sync.Mutex
	// limit is the server's requests per window: 0 until an answer says it,
	// -1 once an answer has come without it (the server limits no one).
	limit int
	// gen numbers the windows as the budget sees them. A ticket keeps its
	// gen, so that a late answer from an earlier window is not taken for
	// news of the current one.
	gen uint64
	// confirmed is set once an answer has told the state of the current
	// window; probing while the one request that asks is out.
	confirmed, probing bool
	// end is when the current window has surely ended, once confirmed.
	end time.Time
	// sent counts this process's requests that may count in the window,
	// foreign the requests of others that the server counted (at least).
	sent, foreign int
	// answered counts the window's answers that stated the limit.
	answered int
	inFlight int
	// lastSent is when the window's last request went; zero before one.
	lastSent time.Time
	// queue holds a channel per request waiting to be let go, in the order
	// they came: first come, first sent, so that no caller is starved.
	// Only the head may go; a signal on its channel says it may try.
	queue []chan struct{}
}

// ticket is a reservation: which window it counted in, and how many answers
// of that window had come when it was made.
type ticket struct {
	gen            uint64
	answeredBefore int
}

// reserve waits until a request may be sent without exceeding the budget,
// and counts it. Requests go in the order they came. It fails at once with a
// *RateLimitedError when the window reopens after ctx's deadline, and with
// ctx's error when ctx ends.
func (b *budget) reserve(ctx context.Context) (ticket, error) {
	turn := make(chan struct{}, 1)
	b.mu.Lock()
	b.queue = append(b.queue, turn)
	for {
		now := time.Now()
		if b.confirmed && !now.Before(b.end) {
			b.nextWindow()
		}
		head := b.queue[0] == turn
		var until time.Time // when to try again, zero: when woken
		if head && b.admits() {
			if until = b.spaced(); !until.After(now) {
				t := ticket{gen: b.gen, answeredBefore: b.answered}
				b.sent++
				b.inFlight++
				b.probing = b.probing || (!b.confirmed && b.limit >= 0)
				b.lastSent = now
				b.leave(turn)
				b.mu.Unlock()
				return t, nil
			}
		} else if b.confirmed && !b.admits() {
			// Spent: wait for the window to reopen, or fail now if that
			// is too late for the caller.
			until = b.end
			if deadline, ok := ctx.Deadline(); ok && until.After(deadline) {
				b.leave(turn)
				b.mu.Unlock()
				return ticket{}, &RateLimitedError{Until: until}
			}
		}
		b.mu.Unlock()

		// Otherwise wait for the requests ahead, or for the answer that
		// tells the window's state.
		var retry <-chan time.Time // nil: never
		if !until.IsZero() {
			retry = time.After(time.Until(until))
		}
		select {
		case <-turn:
		case <-retry:
		case <-ctx.Done():
			b.mu.Lock()
			b.leave(turn)
			b.mu.Unlock()
			return ticket{}, ctx.Err()
		}
		b.mu.Lock()
	}
}

// spaced is when the next request may go: at once when no other request
// is out, else spaced so that what is left of the window is spread evenly
// over what is left of its time. A lone caller never waits for it; callers
// in parallel take turns, so that none gets the whole window.
func (b *budget) spaced() time.Time {
	left := b.limit - b.sent - b.foreign
	if !b.confirmed || b.limit < 0 || b.inFlight == 0 || b.lastSent.IsZero() || left <= 0 {
		return time.Time{}
	}
	return b.lastSent.Add(b.end.Sub(b.lastSent) / time.Duration(left))
}

// leave takes turn out of the queue and lets the new head try; b.mu must be
// held.
func (b *budget) leave(turn chan struct{}) {
	b.queue = slices.DeleteFunc(b.queue, func(c chan struct{}) bool { return c == turn })
	b.wake()
}

// wake lets the head of the queue try; b.mu must be held.
func (b *budget) wake() {
	if len(b.queue) > 0 {
		select {
		case b.queue[0] <- struct{}{}:
		default: // it has a signal it has not taken yet
		}
	}
}

func (b *budget) admits() bool {
	switch {
	case b.limit < 0:
		return true
	case !b.confirmed:
		return !b.probing
	default:
		return b.sent+b.foreign < b.limit
	}
}

// nextWindow starts a window whose state is unknown. The requests still in
// flight may land in it, so they count.
func (b *budget) nextWindow() {
	b.gen++
	b.confirmed, b.probing = false, false
	b.end, b.lastSent = time.Time{}, time.Time{}
	b.sent, b.foreign, b.answered = b.inFlight, 0, 0
}

// answer takes what the answer to t's request says, resp being nil when the
// request got none (it may still have counted).
func (b *budget) answer(t ticket, resp *http.Response) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	defer b.wake()
	b.inFlight--
	if t.gen != b.gen {
		return
	}
	rl, ok := RateLimitOf(resp)
	if !ok {
		if resp != nil && b.limit == 0 {
			b.limit = -1
		}
		// Let another request ask.
		b.probing = false
		return
	}
	used := rl.Limit - rl.Remaining
	// Within one window the server's count includes every request answered
	// before this one was sent. When it does not, the window the budget
	// counts in has ended earlier than it knew, and this answer is the first
	// news of the next. The first limit after answers without one starts
	// afresh too: what was sent unpaced tells nothing of the window.
	if b.limit < 0 || b.confirmed && used <= t.answeredBefore {
		b.nextWindow()
		b.sent++
	}
	b.limit = rl.Limit
	if !b.confirmed {
		b.confirmed, b.probing = true, false
		b.end = now.Add(b.window)
	}
	if end, ok := resetEnd(resp, rl, now); ok && end.Before(b.end) {
		b.end = end
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// The window is spent (used is the whole limit), and it lasts at
		// least as long as the server asks to wait.
		if d, ok := retryAfter(resp); ok {
			b.end = maxTime(b.end, now.Add(d))
		}
	}
	b.answered++
	b.foreign = max(b.foreign, used-b.sent)
}

// resetEnd is when the window of an answer surely ends by its
// X-RateLimit-Reset, in whole seconds: by the second after. It is measured
// from the answer's Date when there is one, so that a clock that disagrees
// with the server's does not matter; Date being in whole seconds too, that
// may be up to 2 s late.
func resetEnd(resp *http.Response, rl RateLimit, now time.Time) (time.Time, bool) {
	if rl.Reset.IsZero() {
		return time.Time{}, false
	}
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		return now.Add(rl.Reset.Sub(date) + time.Second), true
	}
	return rl.Reset.Add(time.Second), true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (b *budget) state() Budget {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Budget{Limit: max(b.limit, 0), InFlight: b.inFlight}
	switch {
	case b.limit < 0:
		s.Remaining = -1
	case !b.confirmed || !time.Now().Before(b.end):
		if !b.probing || b.confirmed {
			s.Remaining = 1
		}
	default:
		s.Remaining = max(b.limit-b.sent-b.foreign, 0)
		s.Reset = b.end
	}
	return s
}
