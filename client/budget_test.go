package client

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// answerWith is an answer stating limit and remaining, and Retry-After
// seconds when retryAfter > 0.
func answerWith(status, limit, remaining, retryAfter int) *http.Response {
	h := http.Header{"X-Ratelimit-Limit": {strconv.Itoa(limit)}, "X-Ratelimit-Remaining": {strconv.Itoa(remaining)}}
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	return &http.Response{StatusCode: status, Header: h}
}

// TestBudget drives a budget through answers made up for it.
func TestBudget(t *testing.T) {
	t.Parallel()
	reserve := func(t *testing.T, b *budget) ticket {
		t.Helper()
		tk, err := b.reserve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	tests := []struct {
		name string
		// run makes the requests and answers; the budget must then let
		// wantRemaining more requests go in the window, and hold the next
		// one when none.
		run           func(*testing.T, *budget)
		wantRemaining int
	}{
		{name: "new: one request alone", run: func(*testing.T, *budget) {}, wantRemaining: 1},
		{
			name: "the first answer tells the limit",
			run: func(t *testing.T, b *budget) {
				b.answer(reserve(t, b), answerWith(200, 5, 4, 0))
			},
			wantRemaining: 4,
		},
		{
			name: "requests in flight count",
			run: func(t *testing.T, b *budget) {
				b.answer(reserve(t, b), answerWith(200, 5, 4, 0))
				reserve(t, b)
			},
			wantRemaining: 3,
		},
		{
			name: "another process's requests count",
			run: func(t *testing.T, b *budget) {
				b.answer(reserve(t, b), answerWith(200, 5, 4, 0))
				b.answer(reserve(t, b), answerWith(200, 5, 1, 0)) // 2 of ours, 4 used
			},
			wantRemaining: 1,
		},
		{
			name: "a 429 spends the window",
			run: func(t *testing.T, b *budget) {
				b.answer(reserve(t, b), answerWith(429, 5, 0, 30))
			},
			wantRemaining: 0,
		},
		{
			name: "a count lower than the answers seen is a new window",
			run: func(t *testing.T, b *budget) {
				b.answer(reserve(t, b), answerWith(200, 5, 4, 0))
				b.answer(reserve(t, b), answerWith(200, 5, 3, 0))
				late := reserve(t, b) // sent after 2 answers, yet the server counts it first
				b.answer(late, answerWith(200, 5, 4, 0))
			},
			wantRemaining: 4,
		},
		{
			name: "answers without a limit: not paced",
			run: func(t *testing.T, b *budget) {
				b.answer(reserve(t, b), &http.Response{StatusCode: 200, Header: http.Header{}})
				for range 10 {
					reserve(t, b)
				}
			},
			wantRemaining: -1,
		},
		{
			name: "a limit after answers without one starts afresh",
			run: func(t *testing.T, b *budget) {
				for range 30 {
					b.answer(reserve(t, b), &http.Response{StatusCode: 502, Header: http.Header{}})
				}
				b.answer(reserve(t, b), answerWith(200, 50, 40, 0))
			},
			wantRemaining: 40,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &budget{window: time.Minute}
			tt.run(t, b)
			if got := b.state().Remaining; got != tt.wantRemaining {
				t.Errorf("Remaining = %d, want %d", got, tt.wantRemaining)
			}
			if tt.wantRemaining != 0 {
				return
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			if _, err := b.reserve(ctx); !errors.Is(err, ErrRateLimited) {
				t.Errorf("one more request: err = %v, want ErrRateLimited", err)
			}
		})
	}
}

// TestBudgetSpacing: a request that overlaps another waits its turn, a
// share of what is left of the window; once nothing is out, the next goes
// at once.
func TestBudgetSpacing(t *testing.T) {
	t.Parallel()
	b := &budget{window: time.Minute}
	first, err := b.reserve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b.answer(first, answerWith(200, 5, 4, 0))
	out, err := b.reserve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// 3 left for the rest of a minute: the next overlapping one waits 20 s.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.reserve(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("overlapping request: err = %v, want it to wait its turn", err)
	}
	b.answer(out, answerWith(200, 5, 3, 0))
	ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.reserve(ctx); err != nil {
		t.Errorf("lone request: %v, want it to go at once", err)
	}
}
