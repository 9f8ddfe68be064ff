package server

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestFixedWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewFixedWindow(2, time.Minute)
	l.now = func() time.Time { return now }
	steps := []struct {
		after     time.Duration
		key       string
		allowed   bool
		remaining int
		reset     time.Duration // from the start
	}{
		{0, "a", true, 1, time.Minute},
		{10 * time.Second, "a", true, 0, time.Minute},
		{20 * time.Second, "a", false, 0, time.Minute},
		{20 * time.Second, "b", true, 1, 80 * time.Second}, // b's window opens with b's first request
		{time.Minute, "a", true, 1, 2 * time.Minute},       // a's window has closed: a new one opens
	}
	start := now
	for i, s := range steps {
		now = start.Add(s.after)
		rl, err := l.Allow(context.Background(), s.key)
		if err != nil || rl.Allowed != s.allowed || rl.Remaining != s.remaining || rl.Limit != 2 || !rl.Reset.Equal(start.Add(s.reset)) {
			t.Errorf("step %d: %+v, %v; want allowed %v remaining %d reset +%s", i, rl, err, s.allowed, s.remaining, s.reset)
		}
	}
}

// TestFixedWindowForgets: the windows of callers gone quiet are dropped, so
// that a limiter serving many callers over time does not grow without end.
func TestFixedWindowForgets(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewFixedWindow(5, time.Second)
	l.now = func() time.Time { return now }
	for i := range 100_000 {
		now = now.Add(time.Millisecond)
		if _, err := l.Allow(context.Background(), strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	// About a second's callers are open: 1,000, and at most twice that kept.
	if n := len(l.windows); n > 3*minSweep {
		t.Errorf("%d windows kept for 100,000 callers of which about 1,000 are in an open window", n)
	}
}

type fixedLimit RateLimit

func (f fixedLimit) Allow(context.Context, string) (RateLimit, error) { return RateLimit(f), nil }

// TestRateLimitHeaders: X-RateLimit-Reset is rounded up, as Retry-After is, so
// that a client waiting until it never runs into the same window. A
// limiter's clock (RateLimit.Now) moves it by whole seconds: one read a
// little before the server's own, as FixedWindow's is (before its lock),
// does not move a window's Reset to the next second for some answers.
func TestRateLimitHeaders(t *testing.T) {
	reset := time.Now().Add(90 * time.Second).Truncate(time.Second).Add(300 * time.Millisecond)
	whole := reset.Truncate(time.Second)
	tests := []struct {
		rl         RateLimit
		wantStatus int
		wantHeader map[string]string
	}{
		{RateLimit{Allowed: true, Limit: 500, Remaining: 499, Reset: reset}, 0,
			map[string]string{"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "499", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix()+1, 10)}},
		{RateLimit{Limit: 500, Reset: whole}, 429,
			map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(whole.Unix(), 10), "Retry-After": "90"}},
		{RateLimit{Allowed: true, Limit: 500, Remaining: 499, Reset: whole, Now: time.Now().Add(-5 * time.Millisecond)}, 0,
			map[string]string{"X-RateLimit-Reset": strconv.FormatInt(whole.Unix(), 10)}},
		{RateLimit{Limit: 500, Reset: whole, Now: time.Now().Add(-10 * time.Second)}, 429, // a database's clock, 10 s behind
			map[string]string{"X-RateLimit-Reset": strconv.FormatInt(whole.Unix()+10, 10), "Retry-After": "100"}},
	}
	for _, tt := range tests {
		s := &Server{limiter: fixedLimit(tt.rl)}
		rec := httptest.NewRecorder()
		ok := s.limit(t.Context(), rec, httptest.NewRequest("GET", "/", nil), "k")
		if ok != (tt.wantStatus == 0) || (!ok && rec.Code != tt.wantStatus) {
			t.Errorf("%+v: went on %v, status %d", tt.rl, ok, rec.Code)
		}
		for k, v := range tt.wantHeader {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%+v: %s = %q, want %q", tt.rl, k, got, v)
			}
		}
	}
}
