package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// load is goroutines that each make calls one after the other, through one
// client, against a server that allows limit requests a window.
type load struct {
	goroutines, calls, limit int
	window                   time.Duration
}

// floor is the least time the load can take: the server's window opens with
// the first request, so the first limit go at once and limit more each
// window after, the last of n windows opening n-1 windows after the first.
func (l load) floor() time.Duration {
	windows := (l.goroutines*l.calls + l.limit - 1) / l.limit
	return time.Duration(windows-1) * l.window
}

var (
	// issue19Load is issue 19's, which the acceptance program
	// internal/pacingload runs against plannr-server.
	issue19Load = load{goroutines: 8, calls: 10, limit: 20, window: 2 * time.Second}
	// issue14Load is issue 14's.
	issue14Load = load{goroutines: 16, calls: 50, limit: 100, window: 2 * time.Second}
)

// patient retries until every request of the load gets through, also when
// pacing is off and many run into 429s.
var patient = client.RetryPolicy{MaxRetries: 50, MinWait: 10 * time.Millisecond, MaxWait: 100 * time.Millisecond, MaxElapsed: time.Minute}

// loadResult is what one run of a load measured.
type loadResult struct {
	wall time.Duration
	// ok and tooMany are the server's 200s and 429s; failed the calls
	// that returned an error.
	ok, tooMany, failed int
	// served counts the answers of each window, in order: the windows are
	// told apart by their X-RateLimit-Reset.
	served []int
	// windowsOf holds, for each goroutine, the window of each of its
	// answers in turn, as indices into served.
	windowsOf [][]int
}

// runLoad runs l through a client of plannrtest paced by p, or not paced
// when p is nil.
func runLoad(tb testing.TB, l load, p *client.Pacer) loadResult {
	tb.Helper()
	statuses := &logtest.Statuses{}
	srv := plannrtest.NewServer(tb, plannrtest.WithRateLimit(l.limit, l.window), plannrtest.WithLogger(slog.New(statuses)))
	pacing := client.WithoutPacing()
	if p != nil {
		pacing = client.WithPacer(p)
	}
	c := srv.Client(client.WithRetryPolicy(patient), pacing)
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
		mu     sync.Mutex
		resets = make([][]int64, l.goroutines) // the X-RateLimit-Reset of each goroutine's 200s
	)
	start := time.Now()
	for g := range l.goroutines {
		wg.Go(func() {
			for range l.calls {
				resp, err := client.Check(c.ListOAuthConnectionsWithResponse(tb.Context()))
				if err != nil {
					failed.Add(1)
					continue
				}
				reset, _ := strconv.ParseInt(resp.HTTPResponse.Header.Get("X-RateLimit-Reset"), 10, 64)
				mu.Lock()
				resets[g] = append(resets[g], reset)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r := loadResult{wall: time.Since(start), ok: statuses.Count(200), tooMany: statuses.Count(429), failed: int(failed.Load())}
	windows := slices.Compact(slices.Sorted(slices.Values(slices.Concat(resets...))))
	r.served = make([]int, len(windows))
	r.windowsOf = make([][]int, l.goroutines)
	for g, rs := range resets {
		for _, reset := range rs {
			i, _ := slices.BinarySearch(windows, reset)
			r.served[i]++
			r.windowsOf[g] = append(r.windowsOf[g], i)
		}
	}
	return r
}

// TestPacedLoad: issue 19's load with a window of a second, so that it takes
// about 3 s. No 429; every window but the last serves the whole limit, so
// none is wasted; every goroutine is served in every window until it is
// done, none left waiting through a window while others take it (the
// goroutines being fewer than the limit, those that wait when a window is
// spent go first in the next); and the pacer has learned from the answers
// how long the window lasts, rather than keep to the minute it assumed. How
// soon the load ends is BenchmarkLoad's to measure: a wall-clock bound would
// fail on a loaded machine.
func TestPacedLoad(t *testing.T) {
	t.Parallel()
	l := issue19Load
	l.window = time.Second
	p := client.NewPacer(0)
	r := runLoad(t, l, p)
	if want := l.goroutines * l.calls; r.tooMany != 0 || r.ok != want || r.failed != 0 {
		t.Errorf("the server answered %d requests with 200 and %d with 429, and %d calls failed; want %d, 0 and 0", r.ok, r.tooMany, r.failed, want)
	}
	for i, n := range r.served[:len(r.served)-1] {
		if n != l.limit {
			t.Errorf("window %d of %d served %d requests, want the limit, %d: %v", i+1, len(r.served), n, l.limit, r.served)
		}
	}
	for g, windows := range r.windowsOf {
		for i := 1; i < len(windows); i++ {
			if windows[i] > windows[i-1]+1 {
				t.Errorf("goroutine %d was served in windows %v: it waited through a window", g, windows)
				break
			}
		}
	}
	// Twice the window: the headers alone bound it to within a second more.
	if b := p.Budget(); b.Window >= 2*l.window {
		t.Errorf("the pacer holds the window to last up to %v, want less than %v: it has not learned it from the answers", b.Window, 2*l.window)
	}
}

// BenchmarkLoad measures the loads of issues 19 and 14 paced, and issue 14's
// with pacing off, which runs into 429s: go test -run '^$' -bench Load
// -benchtime 1x ./client/. floors is the wall time over the load's floor.
func BenchmarkLoad(b *testing.B) {
	if testing.Short() {
		b.Skip("takes a minute")
	}
	for _, bb := range []struct {
		name  string
		load  load
		paced bool
	}{
		{name: "issue19/paced", load: issue19Load, paced: true},
		{name: "issue14/paced", load: issue14Load, paced: true},
		{name: "issue14/unpaced", load: issue14Load},
	} {
		b.Run(bb.name, func(b *testing.B) {
			var r loadResult
			for range b.N {
				var p *client.Pacer
				if bb.paced {
					p = client.NewPacer(0)
				}
				r = runLoad(b, bb.load, p)
			}
			b.ReportMetric(float64(r.tooMany), "429s")
			b.ReportMetric(r.wall.Seconds(), "wall-s")
			b.ReportMetric(float64(r.wall)/float64(bb.load.floor()), "floors")
			b.ReportMetric(float64(r.failed), "failed")
		})
	}
}

// plannrLike serves the list of connections as Plannr limits it: limit
// requests a window, X-RateLimit-Limit and -Remaining on every answer, and
// X-RateLimit-Reset and Retry-After only on a 429. It counts its answers by
// status.
func plannrLike(t *testing.T, limit int, window time.Duration) (*httptest.Server, *logtest.Statuses) {
	t.Helper()
	limiter := server.NewFixedWindow(limit, window)
	statuses := &logtest.Statuses{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rl, _ := limiter.Allow(r.Context(), r.Header.Get("Authorization"))
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(rl.Limit))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(rl.Remaining))
		w.Header().Set("Content-Type", "application/json")
		status, body := http.StatusOK, `{"data":[]}`
		if !rl.Allowed {
			wait := (time.Until(rl.Reset) + time.Second - 1) / time.Second
			w.Header().Set("Retry-After", strconv.Itoa(int(wait)))
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(rl.Reset.Add(time.Second-1).Unix(), 10))
			status, body = http.StatusTooManyRequests, `{"message":"Too Many Attempts."}`
		}
		statuses.Add(status)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, statuses
}

// TestPacersAreNotShared: a client's pacer is its own, so that the window
// another client of the same token was given does not bind it.
func TestPacersAreNotShared(t *testing.T) {
	t.Parallel()
	srv, statuses := plannrLike(t, 3, 500*time.Millisecond)
	newClient := func(window time.Duration) *gen.ClientWithResponses {
		c, err := client.New("token", client.WithBaseURL(srv.URL), client.WithRateWindow(window))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := newClient(time.Hour)
	defer runtime.KeepAlive(first) // made first, and alive through the calls
	c := newClient(500 * time.Millisecond)
	// The fourth call needs the next window, half a second away: an hour's
	// window would fail it at once, the deadline being before the hour.
	for i := range 4 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, err := client.Check(c.ListOAuthConnectionsWithResponse(ctx))
		cancel()
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if got := statuses.Count(429); got != 0 {
		t.Errorf("the server answered %d requests with 429, want 0", got)
	}
}

// TestPacingLearnsFromAFreshCount: without X-RateLimit-Reset, as Plannr
// answers a success, a count that starts afresh shows how long the window
// lasts at most, and the pacer waits that long rather than the minute it
// assumed.
func TestPacingLearnsFromAFreshCount(t *testing.T) {
	t.Parallel()
	srv, statuses := plannrLike(t, 3, time.Second)
	c, err := client.New("token", client.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	call := func(i int) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if _, err := client.Check(c.ListOAuthConnectionsWithResponse(ctx)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	call(1)
	// The first window ends; the next call opens the second, and its count
	// of 1 shows that the first lasted at most until then.
	time.Sleep(1200 * time.Millisecond)
	for i := 2; i <= 5; i++ {
		call(i) // the fifth needs the third window
	}
	if got := statuses.Count(429); got != 0 {
		t.Errorf("the server answered %d requests with 429, want 0", got)
	}
}

// TestPacingSurvivesAnswersWithoutLimit: an answer without the rate-limit
// headers that is not the API's (a proxy's error, a captive portal's page),
// first of all, does not turn pacing off.
func TestPacingSurvivesAnswersWithoutLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		first func(http.ResponseWriter)
		// unexpected: the first answer is a 2xx, not retried, and its call
		// fails with an *client.UnexpectedAnswerError.
		unexpected bool
	}{
		{name: "a bare 502", first: func(w http.ResponseWriter) {
			w.Header()["Date"] = nil // not even that
			w.WriteHeader(http.StatusBadGateway)
		}},
		{name: "an HTML 503", first: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "<h1>Service Unavailable</h1>")
		}},
		{name: "a captive portal's HTML 200", first: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<h1>Sign in to the Wi-Fi</h1>")
		}, unexpected: true},
		{name: "another JSON service's 200", first: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"ok"}`)
		}, unexpected: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			statuses := &logtest.Statuses{}
			srv := plannrtest.NewServer(t, plannrtest.WithRateLimit(2, time.Second), plannrtest.WithLogger(slog.New(statuses)))
			target, _ := url.Parse(srv.URL)
			forward := httputil.NewSingleHostReverseProxy(target)
			var answered atomic.Bool
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if answered.CompareAndSwap(false, true) {
					tt.first(w)
					return
				}
				forward.ServeHTTP(w, r)
			}))
			t.Cleanup(proxy.Close)
			c, err := client.New(srv.Token, client.WithBaseURL(proxy.URL), client.WithRetryPolicy(patient))
			if err != nil {
				t.Fatal(err)
			}
			// More goroutines than the limit: those that wait while the
			// first answer comes would overrun the window if it turned
			// pacing off.
			var (
				wg         sync.WaitGroup
				unexpected atomic.Int32
			)
			for range 4 {
				wg.Go(func() {
					for range 2 {
						_, err := client.Check(c.ListOAuthConnectionsWithResponse(t.Context()))
						var notAPIs *client.UnexpectedAnswerError
						if errors.As(err, &notAPIs) && tt.unexpected {
							unexpected.Add(1)
						} else if err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			want200 := 8
			if tt.unexpected {
				want200--
				if got := unexpected.Load(); got != 1 {
					t.Errorf("%d calls failed with an *client.UnexpectedAnswerError, want 1", got)
				}
			}
			if got := statuses.Count(429); got != 0 || statuses.Count(200) != want200 {
				t.Errorf("the server answered %d requests with 200 and %d with 429, want %d and 0", statuses.Count(200), got, want200)
			}
		})
	}
}

// TestRateLimitedPastDeadline: a call that the rate limit holds past its
// context's deadline returns at once, with ErrRateLimited and, when the
// server answered, its 429: it does not sleep until the deadline to return a
// bare context error.
func TestRateLimitedPastDeadline(t *testing.T) {
	t.Parallel()
	// Retries that would wait out any Retry-After of the minute's window.
	waiting := client.WithRetryPolicy(client.RetryPolicy{MaxRetries: 4, MaxElapsed: 10 * time.Minute})
	tests := []struct {
		name string
		opts []client.Option
		// anotherSpends: another client spends the window, of which the
		// client's pacer knows nothing; else the client spends it.
		anotherSpends bool
		// wantAnswered: the server answered the call 429; else the pacer
		// held it and sent nothing.
		wantAnswered bool
	}{
		{
			name:         "the server's 429, not paced",
			opts:         []client.Option{waiting, client.WithoutPacing()},
			wantAnswered: true,
		},
		{
			name:          "the server's 429 to a paced client, another having spent the window",
			opts:          []client.Option{waiting},
			anotherSpends: true,
			wantAnswered:  true,
		},
		{
			name: "the pacer, its window spent: nothing sent",
			opts: []client.Option{waiting},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			statuses := &logtest.Statuses{}
			srv := plannrtest.NewServer(t, plannrtest.WithRateLimit(1, time.Minute), plannrtest.WithLogger(slog.New(statuses)))
			c := srv.Client(tt.opts...)
			spender := c
			if tt.anotherSpends {
				spender = srv.Client(client.WithoutPacing())
			}
			if _, err := client.Check(spender.ListOAuthConnectionsWithResponse(t.Context())); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			_, err := c.ListOAuthConnectionsWithResponse(ctx)
			if ctx.Err() != nil {
				t.Errorf("returned after the context's deadline, want at once")
			}
			if !errors.Is(err, client.ErrRateLimited) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want client.ErrRateLimited and context.DeadlineExceeded", err)
			}
			var limited *client.RateLimitedError
			if !errors.As(err, &limited) || time.Until(limited.Until) < 50*time.Second {
				t.Errorf("err = %#v, want a *client.RateLimitedError until about a minute from now", err)
			}
			var apiErr *client.APIError
			switch answered := errors.As(err, &apiErr); {
			case answered != tt.wantAnswered:
				t.Errorf("err wraps an *client.APIError: %v, want %v", answered, tt.wantAnswered)
			case answered && (apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Message != "Too Many Attempts."):
				t.Errorf("the answer %+v, want the server's 429", apiErr)
			case answered:
				if rl, ok := client.RateLimitOf(limited.Response); !ok || rl.Remaining != 0 || limited.Response.Header.Get("Retry-After") == "" {
					t.Errorf("the error's Response %+v, want the 429 with its headers", limited.Response)
				}
			}
			want429 := 0
			if tt.wantAnswered {
				want429 = 1 // and no retry
			}
			if got := statuses.Count(429); got != want429 {
				t.Errorf("the server answered %d requests with 429, want %d", got, want429)
			}
		})
	}
}

// TestClientsShareAPacer: clients given one Pacer count against one budget,
// which the Pacer shows; another token's client has its own.
func TestClientsShareAPacer(t *testing.T) {
	t.Parallel()
	const other = "other-token"
	statuses := &logtest.Statuses{}
	srv := plannrtest.NewServer(t, plannrtest.WithRateLimit(4, time.Minute), plannrtest.WithUser(other), plannrtest.WithLogger(slog.New(statuses)))
	p := client.NewPacer(0)
	a, b := srv.Client(client.WithPacer(p)), srv.Client(client.WithPacer(p))
	for i, c := range []*gen.ClientWithResponses{a, b, a, b} {
		if _, err := client.Check(c.ListOAuthConnectionsWithResponse(t.Context())); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	budget := p.Budget()
	if budget.Limit != 4 || budget.Remaining != 0 || budget.InFlight != 0 || time.Until(budget.Reset) < 50*time.Second {
		t.Errorf("Budget() = %+v; want the limit of 4 spent for about a minute", budget)
	}

	// b knows that a spent half the window: with a deadline before the
	// window reopens it fails at once, sending nothing.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := b.ListOAuthConnectionsWithResponse(ctx); !errors.Is(err, client.ErrRateLimited) || ctx.Err() != nil {
		t.Errorf("err = %v (context: %v), want client.ErrRateLimited before the deadline", err, ctx.Err())
	}

	if _, err := client.Check(srv.ClientFor(other).ListOAuthConnectionsWithResponse(t.Context())); err != nil {
		t.Errorf("another token: %v", err)
	}
	if got := statuses.Count(200); got != 5 || statuses.Count(429) != 0 {
		t.Errorf("the server answered %d requests with 200 and %d with 429, want 5 and 0", got, statuses.Count(429))
	}
}

// TestUnlimitedServerIsNotPaced: successes without X-RateLimit-Limit turn
// pacing off, once the first has come.
func TestUnlimitedServerIsNotPaced(t *testing.T) {
	t.Parallel()
	srv := plannrtest.NewServer(t, plannrtest.WithoutRateLimit())
	p := client.NewPacer(0)
	c := srv.Client(client.WithPacer(p))
	before := p.Budget()
	if _, err := client.Check(c.ListOAuthConnectionsWithResponse(t.Context())); err != nil {
		t.Fatal(err)
	}
	after := p.Budget()
	if before.Remaining != 1 || after.Remaining != -1 || after.Limit != 0 {
		t.Errorf("budget before the first answer %+v, after %+v; want Remaining 1, then -1", before, after)
	}
}

// TestEndedCallSpendsNoBudget: a call whose context has ended before it
// starts sends nothing and counts nothing, whether the pacer knows the
// window yet or not: only the call that is sent spends the budget.
func TestEndedCallSpendsNoBudget(t *testing.T) {
	t.Parallel()
	cancelled := func(t *testing.T) context.Context {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		return ctx
	}
	expired := func(t *testing.T) context.Context {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		t.Cleanup(cancel)
		return ctx
	}
	tests := []struct {
		name  string
		ended func(*testing.T) context.Context
		// first: the ended call comes before the window is known.
		first bool
	}{
		{name: "cancelled, the window known", ended: cancelled},
		{name: "cancelled, the window not yet known", ended: cancelled, first: true},
		{name: "past its deadline, the window known", ended: expired},
		{name: "past its deadline, the window not yet known", ended: expired, first: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, statuses := plannrLike(t, 5, time.Minute)
			p := client.NewPacer(0)
			c, err := client.New("token", client.WithBaseURL(srv.URL), client.WithPacer(p))
			if err != nil {
				t.Fatal(err)
			}
			ctx := tt.ended(t)
			callEnded := func() {
				if _, err := c.ListOAuthConnectionsWithResponse(ctx); !errors.Is(err, ctx.Err()) {
					t.Errorf("err = %v, want the context's %v", err, ctx.Err())
				}
			}
			if tt.first {
				callEnded()
			}
			if _, err := client.Check(c.ListOAuthConnectionsWithResponse(t.Context())); err != nil {
				t.Fatal(err)
			}
			if !tt.first {
				callEnded()
			}
			if got := p.Budget(); got.Remaining != 4 || got.InFlight != 0 {
				t.Errorf("Budget() = %+v, want Remaining 4 (the one call sent) and nothing in flight", got)
			}
			if got := statuses.Count(200); got != 1 {
				t.Errorf("the server answered %d requests, want 1", got)
			}
		})
	}
}
