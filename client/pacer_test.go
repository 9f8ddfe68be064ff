package client

import (
	"cmp"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// pacerClock is the time the pacer tests start from, in whole seconds as the
// Date of an answer is.
var pacerClock = time.Date(2026, 6, 25, 15, 10, 48, 0, time.UTC)

// at is pacerClock plus d.
func at(d time.Duration) time.Time { return pacerClock.Add(d) }

// stated is an answer that states limit and remaining. Each of its other
// fields, when set, adds a header: reset and date as times, retryAfter in
// seconds.
type stated struct {
	status, limit, remaining int
	reset, date              time.Time
	retryAfter               int
}

func (s stated) response() *http.Response {
	h := http.Header{"X-Ratelimit-Limit": {strconv.Itoa(s.limit)}, "X-Ratelimit-Remaining": {strconv.Itoa(s.remaining)}}
	if !s.reset.IsZero() {
		h.Set("X-Ratelimit-Reset", strconv.FormatInt(s.reset.Unix(), 10))
	}
	if !s.date.IsZero() {
		h.Set("Date", s.date.UTC().Format(http.TimeFormat))
	}
	if s.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(s.retryAfter))
	}
	return &http.Response{StatusCode: s.status, Header: h}
}

// bare is an answer without a header, as from a proxy.
func bare(status int) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{}}
}

// listed is a 200 of contentType and body to a list, without a header else:
// the API's own success when it is JSON of the list's envelope, as from a
// server that limits no one.
func listed(contentType, body string) *http.Response {
	req, err := gen.NewListOAuthConnectionsRequest("http://plannr.test")
	if err != nil {
		panic(err)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(strings.NewReader(body)), Request: req}
}

// emptyListed is the API's own success to a list, stating no limit.
func emptyListed() *http.Response { return listed("application/json", `{"data":[]}`) }

// limitOnly is the API's own success to a list that states the limit, but
// remaining as given: unreadable, or missing when empty.
func limitOnly(remaining string) *http.Response {
	resp := emptyListed()
	resp.Header.Set("X-Ratelimit-Limit", "5")
	if remaining != "" {
		resp.Header.Set("X-Ratelimit-Remaining", remaining)
	}
	return resp
}

// sendAt counts a request that goes at d past pacerClock, as reserve does
// once it admits it.
func sendAt(p *Pacer, d time.Duration) ticket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.take(at(d))
}

// TestPacer drives a pacer through answers made up for it, at times made up
// for them, and checks the budget it then shows and when it lets the next
// request go.
func TestPacer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(p *Pacer)
		// now is when, after run, the budget is read and the next request
		// asks to go, past pacerClock: 1 s when zero.
		now  time.Duration
		want Budget
		// wantNext is when the pacer lets the next request go, as an offset
		// from pacerClock; wantHeld says that it waits for an answer instead.
		wantNext time.Duration
		wantHeld bool
	}{
		{
			name: "new: one request alone",
			run:  func(*Pacer) {},
			want: Budget{Remaining: 1, Window: time.Minute},
		},
		{
			name:     "new, with one request out: the others wait for its answer",
			run:      func(p *Pacer) { sendAt(p, 0) },
			want:     Budget{Remaining: 0, Window: time.Minute, InFlight: 1},
			wantHeld: true,
		},
		{
			name: "the first answer tells the limit; then a burst",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 200, limit: 5, remaining: 4}.response(), at(10*time.Millisecond))
			},
			want: Budget{Limit: 5, Remaining: 4, Reset: at(time.Minute + 10*time.Millisecond), Window: time.Minute},
		},
		{
			name: "requests in flight count",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 200, limit: 5, remaining: 4}.response(), at(10*time.Millisecond))
				sendAt(p, 20*time.Millisecond)
			},
			want: Budget{Limit: 5, Remaining: 3, Reset: at(time.Minute + 10*time.Millisecond), Window: time.Minute, InFlight: 1},
		},
		{
			name: "another process's requests count",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 200, limit: 5, remaining: 4}.response(), at(10*time.Millisecond))
				p.answer(sendAt(p, 20*time.Millisecond), stated{status: 200, limit: 5, remaining: 1}.response(), at(30*time.Millisecond)) // 2 of ours, 4 used
			},
			want: Budget{Limit: 5, Remaining: 1, Reset: at(time.Minute + 10*time.Millisecond), Window: time.Minute},
		},
		{
			name: "spent without a word of the end: the wait is the window's length after its opening",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 200, limit: 2, remaining: 1}.response(), at(10*time.Millisecond))
				p.answer(sendAt(p, 20*time.Millisecond), stated{status: 200, limit: 2, remaining: 0}.response(), at(30*time.Millisecond))
			},
			want:     Budget{Limit: 2, Remaining: 0, Reset: at(time.Minute + 10*time.Millisecond), Window: time.Minute},
			wantNext: time.Minute + 10*time.Millisecond,
		},
		{
			name: "a 429 spends the window until its Retry-After, and Date and Retry-After bound the length",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 429, limit: 5, remaining: 0, retryAfter: 30, date: at(0)}.response(), at(10*time.Millisecond))
			},
			want:     Budget{Limit: 5, Remaining: 0, Reset: at(30*time.Second + 10*time.Millisecond), Window: time.Minute},
			wantNext: 30*time.Second + 10*time.Millisecond,
		},
		{
			name: "a Retry-After of 10^12 s is clamped: the window ends far ahead, not in the past",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 429, limit: 5, remaining: 0, retryAfter: 1e12}.response(), at(10*time.Millisecond))
			},
			want:     Budget{Limit: 5, Remaining: 0, Reset: at(maxRetryAfter + 10*time.Millisecond), Window: 2 * (maxRetryAfter - time.Second - 10*time.Millisecond)},
			wantNext: maxRetryAfter + 10*time.Millisecond,
		},
		{
			name: "Reset against Date bounds the end, and so the length, though the clocks disagree",
			run: func(p *Pacer) {
				// The server's clock is an hour ahead: Reset is 3 s after its Date.
				server := time.Hour
				p.answer(sendAt(p, 0), stated{status: 200, limit: 5, remaining: 4, date: at(server), reset: at(server + 3*time.Second)}.response(), at(10*time.Millisecond))
			},
			want: Budget{Limit: 5, Remaining: 4, Reset: at(3*time.Second + 10*time.Millisecond), Window: 3*time.Second + 10*time.Millisecond},
		},
		{
			name: "spent: one request asks at the likely end, whole seconds after the opening",
			run: func(p *Pacer) {
				// Opened at 0.4 s into a second: Reset rounded up is 3 s after
				// Date rounded down, and a 2 s window ends at 2.4 s.
				p.answer(sendAt(p, 400*time.Millisecond), stated{status: 200, limit: 2, remaining: 1, date: at(0), reset: at(3 * time.Second)}.response(), at(410*time.Millisecond))
				p.answer(sendAt(p, 420*time.Millisecond), stated{status: 200, limit: 2, remaining: 0, date: at(0), reset: at(3 * time.Second)}.response(), at(430*time.Millisecond))
			},
			want:     Budget{Limit: 2, Remaining: 0, Reset: at(3*time.Second + 410*time.Millisecond), Window: 3*time.Second + 10*time.Millisecond},
			wantNext: 2*time.Second + 410*time.Millisecond,
		},
		{
			name: "the ask at the likely end is out: the others wait for its answer",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 400*time.Millisecond), stated{status: 200, limit: 1, remaining: 0, date: at(0), reset: at(3 * time.Second)}.response(), at(410*time.Millisecond))
				sendAt(p, 2*time.Second+410*time.Millisecond)
			},
			now:      2500 * time.Millisecond,
			want:     Budget{Limit: 1, Remaining: 0, Reset: at(3*time.Second + 410*time.Millisecond), Window: 3*time.Second + 10*time.Millisecond, InFlight: 1},
			wantHeld: true,
		},
		{
			name: "a fresh count shows that the window has ended, and how long it lasts at most",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 400*time.Millisecond), stated{status: 200, limit: 1, remaining: 0, date: at(0), reset: at(3 * time.Second)}.response(), at(410*time.Millisecond))
				p.answer(sendAt(p, 2*time.Second+410*time.Millisecond), stated{status: 200, limit: 1, remaining: 0, date: at(2 * time.Second), reset: at(5 * time.Second)}.response(), at(2*time.Second+420*time.Millisecond))
			},
			now:      2500 * time.Millisecond,
			want:     Budget{Limit: 1, Remaining: 0, Reset: at(4*time.Second + 440*time.Millisecond), Window: 2*time.Second + 20*time.Millisecond},
			wantNext: 4*time.Second + 420*time.Millisecond,
		},
		{
			name: "a 429 to the ask rules the likely length out: the next window waits for the sure end",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 400*time.Millisecond), stated{status: 200, limit: 1, remaining: 0, date: at(0), reset: at(3 * time.Second)}.response(), at(410*time.Millisecond))
				// Reset was not rounded up: the window lasts 2.6 s.
				p.answer(sendAt(p, 2*time.Second+410*time.Millisecond), stated{status: 429, limit: 1, remaining: 0, retryAfter: 1, date: at(2 * time.Second), reset: at(3 * time.Second)}.response(), at(2*time.Second+420*time.Millisecond))
				p.answer(sendAt(p, 3*time.Second+420*time.Millisecond), stated{status: 200, limit: 1, remaining: 0, date: at(3 * time.Second), reset: at(6 * time.Second)}.response(), at(3*time.Second+430*time.Millisecond))
			},
			now:      3500 * time.Millisecond,
			want:     Budget{Limit: 1, Remaining: 0, Reset: at(6*time.Second + 430*time.Millisecond), Window: 3*time.Second + 10*time.Millisecond},
			wantNext: 6*time.Second + 430*time.Millisecond,
		},
		{
			name: "a count lower than the answers seen is a new window",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 200, limit: 5, remaining: 4}.response(), at(10*time.Millisecond))
				p.answer(sendAt(p, 20*time.Millisecond), stated{status: 200, limit: 5, remaining: 3}.response(), at(30*time.Millisecond))
				late := sendAt(p, 40*time.Millisecond) // sent after 2 answers, yet the server counts it first
				p.answer(late, stated{status: 200, limit: 5, remaining: 4}.response(), at(50*time.Millisecond))
			},
			now:  60 * time.Millisecond,
			want: Budget{Limit: 5, Remaining: 4, Reset: at(100 * time.Millisecond), Window: 50 * time.Millisecond},
		},
		{
			name: "successes without a limit: not paced",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), emptyListed(), at(10*time.Millisecond))
				for range 10 {
					sendAt(p, 20*time.Millisecond)
				}
			},
			want: Budget{Remaining: -1, Window: time.Minute, InFlight: 10},
		},
		{
			name: "a limit after answers without one starts afresh",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), emptyListed(), at(10*time.Millisecond))
				for range 30 {
					p.answer(sendAt(p, 20*time.Millisecond), emptyListed(), at(30*time.Millisecond))
				}
				p.answer(sendAt(p, 40*time.Millisecond), stated{status: 200, limit: 50, remaining: 40}.response(), at(50*time.Millisecond))
			},
			want: Budget{Limit: 50, Remaining: 40, Reset: at(time.Minute + 50*time.Millisecond), Window: time.Minute},
		},
		{
			name: "a captive portal's HTML 200 as the first answer says nothing: still one request alone",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), listed("text/html", "<h1>Sign in to the Wi-Fi</h1>"), at(10*time.Millisecond))
			},
			want: Budget{Remaining: 1, Window: time.Minute},
		},
		{
			name: "another JSON service's 200 as the first answer says nothing: still one request alone",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), listed("application/json", `{"status":"ok"}`), at(10*time.Millisecond))
			},
			want: Budget{Remaining: 1, Window: time.Minute},
		},
		{
			name: "a bare 200, of no request known, says nothing either",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), bare(http.StatusOK), at(10*time.Millisecond))
			},
			want: Budget{Remaining: 1, Window: time.Minute},
		},
		{
			name: "a proxy's bare 502 as the first answer says nothing: still one request alone",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), bare(502), at(10*time.Millisecond))
			},
			want: Budget{Remaining: 1, Window: time.Minute},
		},
		{
			name: "no answer at all says nothing either",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), nil, at(10*time.Millisecond))
			},
			want: Budget{Remaining: 1, Window: time.Minute},
		},
		{
			name: "a bare 502 in a window keeps what was known, and counts",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 200, limit: 5, remaining: 4}.response(), at(10*time.Millisecond))
				p.answer(sendAt(p, 20*time.Millisecond), bare(502), at(30*time.Millisecond))
			},
			want: Budget{Limit: 5, Remaining: 3, Reset: at(time.Minute + 10*time.Millisecond), Window: time.Minute},
		},
		{
			name: "a success with a limit but no remaining as the first answer: still one request alone, not unlimited",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), limitOnly(""), at(10*time.Millisecond))
			},
			want: Budget{Remaining: 1, Window: time.Minute},
		},
		{
			name: "a success with a limit but an unreadable remaining in a window keeps what was known, and counts",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 200, limit: 5, remaining: 4}.response(), at(10*time.Millisecond))
				p.answer(sendAt(p, 20*time.Millisecond), limitOnly("many"), at(30*time.Millisecond))
			},
			want: Budget{Limit: 5, Remaining: 3, Reset: at(time.Minute + 10*time.Millisecond), Window: time.Minute},
		},
		{
			name: "a window that outlasts the length given: the server's word bounds the length",
			run: func(p *Pacer) {
				p.answer(sendAt(p, 0), stated{status: 200, limit: 1, remaining: 0}.response(), at(10*time.Millisecond))
				// The pacer held the window to end after its 60 s; the server
				// refuses 90 s in and asks for 30 s more.
				p.answer(sendAt(p, 90*time.Second), stated{status: 429, limit: 1, remaining: 0, retryAfter: 30}.response(), at(90*time.Second+10*time.Millisecond))
			},
			now:      91 * time.Second,
			want:     Budget{Limit: 1, Remaining: 0, Reset: at(120*time.Second + 10*time.Millisecond), Window: 120*time.Second + 10*time.Millisecond},
			wantNext: 120*time.Second + 10*time.Millisecond,
		},
		{
			name: "a window that outlasts the length given, opened by another: twice what has passed",
			run: func(p *Pacer) {
				// Another process's request opened the window.
				p.answer(sendAt(p, 0), stated{status: 200, limit: 2, remaining: 0}.response(), at(10*time.Millisecond))
				p.answer(sendAt(p, 90*time.Second), stated{status: 429, limit: 2, remaining: 0, retryAfter: 30}.response(), at(90*time.Second+10*time.Millisecond))
			},
			now:      91 * time.Second,
			want:     Budget{Limit: 2, Remaining: 0, Reset: at(120*time.Second + 10*time.Millisecond), Window: 2 * (118*time.Second + 990*time.Millisecond)},
			wantNext: 120*time.Second + 10*time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := NewPacer(0)
			tt.run(p)
			// What the budget is, and what the head of the queue is told, a
			// moment after the last answer: go, wait until a time, or wait
			// for an answer.
			now := at(cmp.Or(tt.now, time.Second))
			if got := p.budgetAt(now); got != tt.want {
				t.Errorf("Budget() = %+v,\n want %+v", got, tt.want)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.confirmed && !now.Before(p.endsBy) {
				p.nextWindow()
			}
			ok, until := p.admit(now)
			switch {
			case tt.wantHeld:
				if ok || !until.IsZero() {
					t.Errorf("admit = %v, %v; want to wait for an answer", ok, until)
				}
			case tt.wantNext == 0:
				if !ok {
					t.Errorf("admit = %v, %v; want the next request to go at once", ok, until)
				}
			default:
				if want := at(tt.wantNext); ok || !until.Equal(want) {
					t.Errorf("admit = %v, %v; want to wait until %v", ok, until.Sub(pacerClock), tt.wantNext)
				}
			}
		})
	}
}
