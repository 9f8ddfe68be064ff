package client

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// hops records which server each request of a redirect chain reached, and
// with which Authorization.
type hops struct {
	mu   sync.Mutex
	auth map[string]string // server name to the Authorization it got
}

func (h *hops) record(server string, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.auth[server] = r.Header.Get("Authorization")
}

func (h *hops) get(server string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	auth, ok := h.auth[server]
	return auth, ok
}

// TestTokenOnlyToTheBaseOrigin: a redirect away from the base URL's origin
// (scheme, host and port) never carries the token, whoever made the client's
// http.Client; a redirect within it does.
func TestTokenOnlyToTheBaseOrigin(t *testing.T) {
	t.Parallel()
	allowAll := func(*http.Request, []*http.Request) error { return nil }
	tests := []struct {
		name string
		tls  bool // the base URL is https
		// target is where the base server redirects, from the other
		// server's URL and the base's.
		target    func(other, base *url.URL) string
		ownClient *http.Client // nil: New's default (the TLS server's client when tls)
		wantToken bool
	}{
		{
			name: "https to http on the same host", tls: true,
			target: func(other, _ *url.URL) string { return "http://127.0.0.1:" + other.Port() + "/landed" },
		},
		{
			name:   "another port of the same host",
			target: func(other, _ *url.URL) string { return "http://127.0.0.1:" + other.Port() + "/landed" },
		},
		{
			name:      "another port, through a caller's client that follows every redirect",
			target:    func(other, _ *url.URL) string { return "http://127.0.0.1:" + other.Port() + "/landed" },
			ownClient: &http.Client{CheckRedirect: allowAll, Timeout: 5 * time.Second},
		},
		{
			name:   "another host",
			target: func(other, _ *url.URL) string { return "http://localhost:" + other.Port() + "/landed" },
		},
		{
			name:      "the same origin",
			target:    func(_, base *url.URL) string { return base.String() + "/landed" },
			wantToken: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &hops{auth: map[string]string{}}
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.record("other", r)
				emptyList(w)
			}))
			defer other.Close()
			otherURL, _ := url.Parse(other.URL)
			var baseURL *url.URL
			base := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/landed" {
					h.record("base, after the redirect", r)
					emptyList(w)
					return
				}
				h.record("base", r)
				http.Redirect(w, r, tt.target(otherURL, baseURL), http.StatusTemporaryRedirect)
			}))
			if tt.tls {
				base.StartTLS()
			} else {
				base.Start()
			}
			defer base.Close()
			baseURL, _ = url.Parse(base.URL)

			var opts []Option
			switch {
			case tt.ownClient != nil:
				opts = append(opts, WithHTTPClient(tt.ownClient))
			case tt.tls:
				opts = append(opts, WithHTTPClient(base.Client()))
			}
			if err := list(t.Context(), newClient(t, base.URL, opts...)); err != nil {
				t.Fatal(err)
			}
			if auth, _ := h.get("base"); auth != "Bearer "+testToken {
				t.Errorf("the base server got Authorization %q, want the token", auth)
			}
			landed := "other"
			if tt.wantToken {
				landed = "base, after the redirect"
			}
			auth, ok := h.get(landed)
			switch {
			case !ok:
				t.Errorf("the redirect did not reach %s", landed)
			case tt.wantToken && auth != "Bearer "+testToken:
				t.Errorf("%s got Authorization %q, want the token", landed, auth)
			case !tt.wantToken && auth != "":
				t.Errorf("%s got Authorization %q, want none", landed, auth)
			}
		})
	}
}

// TestCallOptions: per-call options change one call, not the client.
func TestCallOptions(t *testing.T) {
	t.Parallel()
	ok := reply{status: http.StatusOK, body: `{"data":[]}`}
	noRetries := WithRetryPolicy(RetryPolicy{MaxRetries: 0})
	tests := []struct {
		name    string
		replies []reply
		opts    []Option
		call    func(context.Context, *testing.T, string, []Option) error
		// The call's error must hold wantErr ("" for none); the server must
		// have got wantAttempts requests, the last with wantHeader.
		wantErr      string
		wantAttempts int
		wantHeader   [2]string
	}{
		{
			name: "CallRetryPolicy retries where the client would not", replies: []reply{jsonError(503, "Service Unavailable"), ok}, opts: []Option{noRetries},
			call: func(ctx context.Context, t *testing.T, url string, opts []Option) error {
				_, err := Check(newClient(t, url, opts...).ListOAuthConnectionsWithResponse(ctx, CallRetryPolicy(fast)))
				return err
			},
			wantAttempts: 2,
		},
		{
			name: "AttemptTimeout bounds each attempt", replies: []reply{{hang: true}},
			opts: []Option{WithHTTPClient(&http.Client{Timeout: time.Minute})},
			call: func(ctx context.Context, t *testing.T, url string, opts []Option) error {
				c := newClient(t, url, opts...)
				start := time.Now()
				_, err := c.ListOAuthConnectionsWithResponse(ctx, AttemptTimeout(50*time.Millisecond), CallRetryPolicy(RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond}))
				if elapsed := time.Since(start); elapsed > 2*time.Second {
					t.Errorf("took %v", elapsed)
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, which says the call's context ended", err)
				}
				return err
			},
			wantErr: "giving up after 2 attempt(s)", wantAttempts: 2,
		},
		{
			name: "CallHeader adds a header", replies: []reply{ok},
			call: func(ctx context.Context, t *testing.T, url string, opts []Option) error {
				_, err := Check(newClient(t, url, opts...).ListOAuthConnectionsWithResponse(ctx, CallHeader("X-Request-Id", "42")))
				return err
			},
			wantAttempts: 1, wantHeader: [2]string{"X-Request-Id", "42"},
		},
		{
			name: "CallHeader replaces New's", replies: []reply{ok},
			call: func(ctx context.Context, t *testing.T, url string, opts []Option) error {
				_, err := Check(newClient(t, url, opts...).ListOAuthConnectionsWithResponse(ctx, CallHeader("User-Agent", "probe/1")))
				return err
			},
			wantAttempts: 1, wantHeader: [2]string{"User-Agent", "probe/1"},
		},
		{
			name: "CallHeader refuses Authorization", replies: []reply{ok},
			call: func(ctx context.Context, t *testing.T, url string, opts []Option) error {
				_, err := newClient(t, url, opts...).ListOAuthConnectionsWithResponse(ctx, CallHeader("authorization", "Bearer other"))
				return err
			},
			wantErr: "cannot set Authorization", wantAttempts: 0,
		},
		{
			name: "AttemptTimeout refuses zero", replies: []reply{ok},
			call: func(ctx context.Context, t *testing.T, url string, opts []Option) error {
				_, err := newClient(t, url, opts...).ListOAuthConnectionsWithResponse(ctx, AttemptTimeout(0))
				return err
			},
			wantErr: "must be positive", wantAttempts: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPlannr(t, tt.replies...)
			err := tt.call(t.Context(), t, p.url, tt.opts)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			reqs := p.received()
			if len(reqs) != tt.wantAttempts {
				t.Fatalf("attempts = %d, want %d", len(reqs), tt.wantAttempts)
			}
			if k := tt.wantHeader[0]; k != "" {
				if v := reqs[len(reqs)-1].header.Get(k); v != tt.wantHeader[1] {
					t.Errorf("%s = %q, want %q", k, v, tt.wantHeader[1])
				}
			}
		})
	}
}

// emptyList answers a list as the API does when there is nothing to list.
func emptyList(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"data":[]}`)
}

// TestAttemptErrorsAsTheyAre: an attempt that fails before its timeout
// fails with its own error, which the caller can tell apart (a refused
// connection, a certificate no one vouches for), not with the timeout's; and
// what no retry can fix is not retried.
func TestAttemptErrorsAsTheyAre(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// serve returns the base URL and the count of connections made to it.
		serve       func(t *testing.T) (string, func() int)
		is          func(error) bool
		connections int // -1: not counted
	}{
		{
			name: "connection refused",
			serve: func(t *testing.T) (string, func() int) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				_ = ln.Close() // nothing listens there now
				return "http://" + ln.Addr().String(), func() int { return -1 }
			},
			is:          func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) },
			connections: -1,
		},
		{
			name: "certificate of an unknown authority",
			serve: func(t *testing.T) (string, func() int) {
				var n atomic.Int32
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { emptyList(w) }))
				srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
					if s == http.StateNew {
						n.Add(1)
					}
				}
				srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
				srv.StartTLS()
				t.Cleanup(srv.Close)
				return srv.URL, func() int { return int(n.Load()) }
			},
			is: func(err error) bool {
				var verify *tls.CertificateVerificationError
				return errors.As(err, &verify)
			},
			connections: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, connections := tt.serve(t)
			err := list(t.Context(), newClient(t, url, WithRetryPolicy(fast)))
			var timeout *attemptTimeoutError
			if !tt.is(err) || errors.As(err, &timeout) {
				t.Errorf("err = %v", err)
			}
			if n := connections(); n != tt.connections {
				t.Errorf("%d connections, want %d", n, tt.connections)
			}
		})
	}
}

// answers serves its n-th request with the n-th handler, repeating the last
// once they run out, and counts the requests.
type answers struct {
	handlers []http.HandlerFunc
	n        atomic.Int32
}

func (a *answers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(a.n.Add(1))
	a.handlers[min(n, len(a.handlers))-1](w, r)
}

// cutShort answers a JSON 200 that says a Content-Length of 100 and closes
// the connection after body.
func cutShort(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"+body)
		_ = conn.Close()
	}
}

// TestReadingTheAnswerIsPartOfTheAttempt: an answer whose body stalls or is
// cut short fails its attempt, which is retried; one that stalls past the
// attempt timeout fails with the timeout's error, not with the context's
// (the call's context has no deadline).
func TestReadingTheAnswerIsPartOfTheAttempt(t *testing.T) {
	t.Parallel()
	const partial = `{"data":[`
	stall := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, partial)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	cut := cutShort(partial)
	whole := func(w http.ResponseWriter, _ *http.Request) { emptyList(w) }
	isTimeout := func(err error) bool {
		return errors.As(err, new(*attemptTimeoutError)) && !errors.Is(err, context.DeadlineExceeded)
	}
	tests := []struct {
		name         string
		answers      []http.HandlerFunc
		is           func(error) bool // nil: no error
		wantAttempts int32
	}{
		{name: "the body stalls", answers: []http.HandlerFunc{stall}, is: isTimeout, wantAttempts: 3},
		{name: "the body stalls, then comes whole", answers: []http.HandlerFunc{stall, whole}, wantAttempts: 2},
		{name: "the body is cut short", answers: []http.HandlerFunc{cut}, is: func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }, wantAttempts: 3},
		{name: "the body is cut short, then comes whole", answers: []http.HandlerFunc{cut, whole}, wantAttempts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &answers{handlers: tt.answers}
			srv := httptest.NewServer(a)
			defer srv.Close()
			c := newClient(t, srv.URL, WithRetryPolicy(RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond}))
			_, err := Check(c.ListOAuthConnectionsWithResponse(t.Context(), AttemptTimeout(200*time.Millisecond)))
			if tt.is == nil && err != nil || tt.is != nil && !tt.is(err) {
				t.Errorf("err = %v", err)
			}
			if n := a.n.Load(); n != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", n, tt.wantAttempts)
			}
		})
	}
}

// TestAnswerCutShortIsNoSuccess: an answer cut short is not the API's
// success, though what came of its body reads as the API's JSON: it does not
// tell the pacer that the server limits no one.
func TestAnswerCutShortIsNoSuccess(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(cutShort(`{"data":[]}`))
	defer srv.Close()
	p := NewPacer(0)
	c := newClient(t, srv.URL, WithPacer(p), WithRetryPolicy(RetryPolicy{MaxRetries: 0}))
	if _, err := Check(c.ListOAuthConnectionsWithResponse(t.Context())); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	// Nothing is known of the window: one request goes alone.
	if b := p.Budget(); b.Remaining != 1 {
		t.Errorf("budget = %+v, want Remaining 1, not -1 (unpaced)", b)
	}
}

// TestSlowBodyHoldsNoPacedCall: an answer that states the limit tells the
// pacer so once its headers come, not once its body is read. The first
// request asks the state of the window alone; a body slow to follow its
// headers must not hold the second call until it is whole.
func TestSlowBodyHoldsNoPacedCall(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	secondIn := make(chan struct{})
	// held says whether the first body was held back long enough for the
	// second request to come, in vain: the pacer held that request until
	// the body was whole.
	held := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		w.Header().Set("X-RateLimit-Limit", "60")
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(60-int(k)))
		if k > 1 {
			if k == 2 {
				close(secondIn)
			}
			emptyList(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":[`)
		w.(http.Flusher).Flush()
		select {
		case <-secondIn:
			held <- false
		case <-time.After(10 * time.Second): // well within the attempt's timeout
			held <- true
		}
		_, _ = io.WriteString(w, `]}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := Check(c.ListOAuthConnectionsWithResponse(t.Context())); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if <-held {
		t.Error("the second request reached the server only once the first answer's body was whole")
	}
}

// TestTimeoutSpansRedirects: the attempt timeout bounds an attempt's
// redirects together, as http.Client's Timeout does, but not the time a hop
// waits for the pacer.
func TestTimeoutSpansRedirects(t *testing.T) {
	t.Parallel()
	const timeout = 400 * time.Millisecond
	tests := []struct {
		name string
		// The server redirects hops times within its origin, each answer
		// after delay; with limit > 0 its answers say that it allows limit
		// requests a window, which the pacer takes to last a second.
		hops      int
		delay     time.Duration
		limit     int
		opts      []Option
		editors   []gen.RequestEditorFn
		wantErr   bool          // an *attemptTimeoutError, else none
		minElapse time.Duration // the least the call takes
	}{
		{
			name: "the client's timeout, over hops that outlast it", hops: 5, delay: 150 * time.Millisecond,
			opts: []Option{WithHTTPClient(&http.Client{Timeout: timeout})}, wantErr: true,
		},
		{
			name: "AttemptTimeout, over hops that outlast it", hops: 5, delay: 150 * time.Millisecond,
			editors: []gen.RequestEditorFn{AttemptTimeout(timeout)}, wantErr: true,
		},
		{
			name: "hops within the timeout", hops: 2, delay: 50 * time.Millisecond,
			opts: []Option{WithHTTPClient(&http.Client{Timeout: timeout})},
		},
		{
			name: "a hop that waits for the pacer longer than the timeout", hops: 2, limit: 2,
			opts:      []Option{WithHTTPClient(&http.Client{Timeout: timeout}), WithRateWindow(time.Second)},
			minElapse: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				k := int(n.Add(1))
				time.Sleep(tt.delay)
				if tt.limit > 0 {
					w.Header().Set("X-RateLimit-Limit", strconv.Itoa(tt.limit))
					w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(tt.limit-1-(k-1)%tt.limit))
				}
				if k <= tt.hops {
					http.Redirect(w, r, r.URL.Path+"?hop="+strconv.Itoa(k), http.StatusFound)
					return
				}
				emptyList(w)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, append(tt.opts, WithRetryPolicy(RetryPolicy{MaxRetries: 0}))...)
			start := time.Now()
			_, err := Check(c.ListOAuthConnectionsWithResponse(t.Context(), tt.editors...))
			elapsed := time.Since(start)
			if tt.wantErr != errors.As(err, new(*attemptTimeoutError)) || !tt.wantErr && err != nil {
				t.Errorf("err = %v after %v and %d requests", err, elapsed, n.Load())
			}
			if elapsed < tt.minElapse {
				t.Errorf("took %v, want at least %v", elapsed, tt.minElapse)
			}
		})
	}
}

// TestIdleConnectionsOfOthersStayOpen: a call that gives up does not close
// the idle connections of a transport the client was given, which others
// use too. Not parallel: http.DefaultTransport is the whole process's, and
// every httptest.Server that closes closes its idle connections.
func TestIdleConnectionsOfOthersStayOpen(t *testing.T) {
	tests := []struct {
		name      string
		transport http.RoundTripper // nil: http.DefaultTransport
	}{
		{name: "an http.Client without a Transport, so http.DefaultTransport"},
		{name: "an http.Client with a Transport of the caller's", transport: &http.Transport{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var conns atomic.Int32
			other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { emptyList(w) }))
			other.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			other.Start()
			defer other.Close()
			hc := &http.Client{Transport: tt.transport, Timeout: 5 * time.Second}
			// A request of someone else's, whose connection stays idle.
			get := func() {
				resp, err := hc.Get(other.URL)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			get()
			p := newPlannr(t, jsonError(http.StatusServiceUnavailable, "Service Unavailable"))
			c := newClient(t, p.url, WithHTTPClient(hc), WithRetryPolicy(RetryPolicy{MaxRetries: 1, MinWait: time.Millisecond}))
			if _, err := Check(c.ListOAuthConnectionsWithResponse(t.Context())); err == nil {
				t.Fatal("the call did not give up")
			}
			get()
			if n := conns.Load(); n != 1 {
				t.Errorf("the other server got %d connections, want 1: the idle one was closed", n)
			}
		})
	}
}

// TestPacingOffThroughACallersTransport: a server that states no limit turns
// pacing off through a caller's transport that leaves an answer's Request
// unset, as the pacer reads the operation from the request the client sent.
func TestPacingOffThroughACallersTransport(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { emptyList(w) }))
	t.Cleanup(srv.Close)
	p := NewPacer(0)
	hc := &http.Client{Transport: requestless{srv.Client().Transport}}
	if err := list(t.Context(), newClient(t, srv.URL, WithPacer(p), WithHTTPClient(hc))); err != nil {
		t.Fatal(err)
	}
	if b := p.Budget(); b.Remaining != -1 {
		t.Errorf("budget %+v after a success that states no limit, want Remaining -1 (not paced)", b)
	}
}

// requestless is a transport that does not set its answers' Request.
type requestless struct{ base http.RoundTripper }

func (r requestless) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if resp != nil {
		resp.Request = nil
	}
	return resp, err
}

// TestRedirectResendsTheBody: a 307 or 308 asks for the same request
// elsewhere, body included. http.Client follows one only when it can send the
// body again, which a body given as a plain io.Reader does not allow by
// itself.
func TestRedirectResendsTheBody(t *testing.T) {
	t.Parallel()
	const want = `{"label":"Fundment"}`
	typed := func(ctx context.Context, c *gen.ClientWithResponses) (*gen.UpdateOAuthConnectionResponse, error) {
		return c.UpdateOAuthConnectionWithResponse(ctx, testID, label)
	}
	reader := func(ctx context.Context, c *gen.ClientWithResponses) (*gen.UpdateOAuthConnectionResponse, error) {
		// MultiReader hides the strings.Reader, whose body http.NewRequest
		// would know how to send again.
		return c.UpdateOAuthConnectionWithBodyWithResponse(ctx, testID, "application/json", io.MultiReader(strings.NewReader(want)))
	}
	tests := []struct {
		name   string
		status int
		call   func(context.Context, *gen.ClientWithResponses) (*gen.UpdateOAuthConnectionResponse, error)
	}{
		{name: "307, typed body", status: http.StatusTemporaryRedirect, call: typed},
		{name: "308, typed body", status: http.StatusPermanentRedirect, call: typed},
		{name: "307, body from a reader", status: http.StatusTemporaryRedirect, call: reader},
		{name: "308, body from a reader", status: http.StatusPermanentRedirect, call: reader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var landed atomic.Value // the body the redirect's target got
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/moved" {
					http.Redirect(w, r, "/moved", tt.status)
					return
				}
				body, _ := io.ReadAll(r.Body)
				landed.Store(strings.TrimSpace(string(body)))
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, connection)
			}))
			defer srv.Close()
			resp, err := tt.call(t.Context(), newClient(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != http.StatusOK {
				t.Errorf("status = %d, want 200 from the redirect's target", resp.StatusCode())
			}
			if got, _ := landed.Load().(string); got != want {
				t.Errorf("the redirect's target got body %q, want %q", got, want)
			}
		})
	}
}

// TestAnswerTooLarge: an answer whose body is larger than the limit is
// refused with ErrAnswerTooLarge, and not retried, rather than held in
// memory whole; one at the limit is read.
func TestAnswerTooLarge(t *testing.T) {
	t.Parallel()
	const kib = 1 << 10
	tests := []struct {
		name    string
		opts    []Option
		status  int
		size    int // of the body
		wantErr bool
	}{
		{name: "DefaultMaxAnswerBody", size: DefaultMaxAnswerBody},
		{name: "past DefaultMaxAnswerBody", size: DefaultMaxAnswerBody + 1, wantErr: true},
		{name: "WithMaxAnswerBody", opts: []Option{WithMaxAnswerBody(kib)}, size: kib},
		{name: "past WithMaxAnswerBody", opts: []Option{WithMaxAnswerBody(kib)}, size: kib + 1, wantErr: true},
		{name: "past WithMaxAnswerBody, an error, not retried", opts: []Option{WithMaxAnswerBody(kib)}, status: 500, size: kib + 1, wantErr: true},
		{name: "WithMaxAnswerBody(0) is the default", opts: []Option{WithMaxAnswerBody(0)}, size: kib + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var attempts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				attempts.Add(1)
				body := `{"data":[]}`
				if tt.status != 0 {
					body = `{"message":"Server Error"}`
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(cmp.Or(tt.status, http.StatusOK))
				_, _ = io.WriteString(w, body+strings.Repeat(" ", tt.size-len(body)))
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, append([]Option{WithRetryPolicy(fast)}, tt.opts...)...)
			err := list(t.Context(), c)
			switch {
			case tt.wantErr && !errors.Is(err, ErrAnswerTooLarge):
				t.Errorf("err = %v, want ErrAnswerTooLarge", err)
			case !tt.wantErr && err != nil:
				t.Errorf("err = %v, want the answer", err)
			}
			if n := attempts.Load(); n != 1 {
				t.Errorf("attempts = %d, want 1", n)
			}
		})
	}
}
