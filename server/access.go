package server

// Who may call, and how often: the bearer token mapped to the caller
// (AuthFunc), then the caller's requests counted (RateLimiter).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/nilcheck"
)

// Identity is who made a request, as an AuthFunc found it.
type Identity struct {
	// ID names the caller for the rate limiter: requests with the same ID
	// share one budget. It must not be the token itself.
	ID string
	// Principal is the implementation's own value for the caller (its user
	// type, say), which operations read back with PrincipalFrom.
	Principal any
}

// AuthFunc maps a bearer token to the caller. For a token it does not know it
// returns ErrUnauthenticated (or an error wrapping it), which the server
// answers 401; any other error is answered as WriteError says (a 503 for
// ErrUnavailable, say). It is called before the body is read, and only with
// a token that plannroauth.ValidToken accepts.
type AuthFunc func(ctx context.Context, token string) (Identity, error)

// WithAuth sets how bearer tokens are authenticated. It is required: there
// is no default, and a nil f fails New.
func WithAuth(f AuthFunc) Option {
	return func(c *config) error {
		c.auth = f
		return nil
	}
}

// identityContext carries the caller without an allocation of its own (route
// makes it along with the request's deadline), where context.WithValue would
// take two: the context, and the Identity boxed in an any.
type identityContext struct {
	context.Context
	id Identity
}

type identityKey struct{}

// Value answers identityKey with the identityContext itself, which a pointer
// holds without boxing.
func (c *identityContext) Value(key any) any {
	if key == (identityKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// Caller returns the identity that authenticated the request of ctx.
// Operations read the caller from here and never look at the Authorization
// header again.
func Caller(ctx context.Context) (Identity, bool) {
	c, ok := ctx.Value(identityKey{}).(*identityContext)
	if !ok {
		return Identity{}, false
	}
	return c.id, true
}

// PrincipalFrom returns the Principal of the caller of ctx, if it is a T.
func PrincipalFrom[T any](ctx context.Context) (T, bool) {
	id, _ := Caller(ctx)
	p, ok := id.Principal.(T)
	return p, ok
}

// authenticated tells kin-openapi's security check whether the request was
// authenticated, which route did before it: the spec's security requirements
// are enforced all the same.
func authenticated(ctx context.Context) bool {
	_, ok := Caller(ctx)
	return ok
}

// authenticate returns the caller of r's bearer token. A request with more than
// one Authorization header is refused: a proxy that reads the last one would
// see someone else than the first, which net/http's Get returns.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (Identity, error) {
	values := r.Header["Authorization"]
	if len(values) != 1 {
		return Identity{}, apierror.Unauthenticated
	}
	token, ok := bearerToken(values[0])
	if !ok {
		return Identity{}, apierror.Unauthenticated
	}
	id, err := s.auth(ctx, token)
	if errors.Is(err, ErrUnauthenticated) {
		return Identity{}, apierror.Unauthenticated
	}
	return id, err
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header.
// The scheme is case-insensitive.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if !plannroauth.ValidToken(token) {
		return "", false
	}
	return token, true
}

// Rate limiting.

// RateLimiter counts the requests of each caller. The server asks it once per
// authenticated request, with the caller's Identity.ID as key, and answers 429
// when it refuses. Implementations must be safe for concurrent use.
type RateLimiter interface {
	// Allow counts one request of key and returns the state of its window
	// after that request. An error is a failure of the limiter itself, which
	// the server answers with a 500; so is a RateLimit the headers cannot
	// tell (see RateLimit).
	Allow(ctx context.Context, key string) (RateLimit, error)
}

// RateLimit is the state of one caller's window, as the X-RateLimit-* headers
// tell it. Limit, Remaining and Reset are required, within what the spec's
// header schemas allow: a RateLimit with a Limit below 1, a Remaining below 0
// or over Limit, or a zero Reset (or one before 1970) is a failure of the
// limiter, answered 500 with the field named in the request's log line.
type RateLimit struct {
	// Allowed reports whether the request is within the limit.
	Allowed bool
	// Limit is how many requests a window allows: at least 1.
	Limit int
	// Remaining is how many requests are left in the window, from 0 (when
	// refused) to Limit.
	Remaining int
	// Reset is when the window closes and the full Limit is available again.
	Reset time.Time
	// Now is the time of the clock that times the window, when it counted
	// this request: Retry-After and X-RateLimit-Reset are measured from it,
	// so that a limiter whose clock is not the server's (a database's, shared
	// by replicas) tells a client to wait exactly what its window has left.
	// Zero means the server's own clock.
	Now time.Time
}

// FixedWindow is the in-memory RateLimiter of Plannr (Laravel's throttle
// middleware): a window of Window that opens with a caller's first request
// and allows Limit requests. Each process counts on its own, so replicas
// behind a load balancer each allow Limit; share a limiter between them
// instead (see RateLimiter).
type FixedWindow struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	windows map[string]*window
	// sweepAt is the count of windows at which closed ones are dropped, so
	// that the map holds the callers of about one window, not of all time.
	sweepAt int
}

type window struct {
	opened time.Time
	count  int
}

// NewFixedWindow returns a FixedWindow of limit requests per window; zero or
// less means DefaultRateLimit and DefaultRateWindow, the spec's.
func NewFixedWindow(limit int, per time.Duration) *FixedWindow {
	if limit <= 0 {
		limit = DefaultRateLimit
	}
	if per <= 0 {
		per = DefaultRateWindow
	}
	return &FixedWindow{limit: limit, window: per, now: time.Now, windows: map[string]*window{}, sweepAt: minSweep}
}

// Allow implements RateLimiter; it never fails.
func (l *FixedWindow) Allow(_ context.Context, key string) (RateLimit, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	if w == nil {
		if len(l.windows) >= l.sweepAt {
			l.sweep(now)
		}
		w = &window{}
		l.windows[key] = w
	}
	if now.Sub(w.opened) >= l.window {
		w.opened, w.count = now, 0
	}
	rl := RateLimit{Limit: l.limit, Reset: w.opened.Add(l.window), Now: now}
	if w.count >= l.limit {
		return rl, nil
	}
	w.count++
	rl.Allowed, rl.Remaining = true, l.limit-w.count
	return rl, nil
}

// minSweep is the fewest windows worth a sweep.
const minSweep = 1024

// sweep drops the windows that have closed, and sets the next sweep at twice
// what is left, so that sweeping costs O(1) a request on average.
func (l *FixedWindow) sweep(now time.Time) {
	for key, w := range l.windows {
		if now.Sub(w.opened) >= l.window {
			delete(l.windows, key)
		}
	}
	l.sweepAt = max(2*len(l.windows), minSweep)
}

// WithRateLimiter counts each caller's requests with l instead of the default,
// a FixedWindow of DefaultRateLimit a DefaultRateWindow (the spec's
// x-limits). Nil means that default; WithoutRateLimit turns limiting off. A
// nil pointer in l (a nil *FixedWindow, say), which would panic on every
// request, fails New: it is no nil that could mean the default.
func WithRateLimiter(l RateLimiter) Option {
	return func(c *config) error {
		if l == nil {
			l = NewFixedWindow(DefaultRateLimit, DefaultRateWindow)
		}
		if err := nilcheck.Error("the limiter", l); err != nil {
			return fmt.Errorf("WithRateLimiter: %w: give nil for the default, or WithoutRateLimit() for none", err)
		}
		c.limiter = l
		return nil
	}
}

// WithoutRateLimit counts no requests: answers then carry no X-RateLimit-*
// headers, and none is refused with a 429.
func WithoutRateLimit() Option {
	return func(c *config) error {
		c.limiter = nil
		return nil
	}
}

// The headers' keys in canonical form, which Header.Set would otherwise make
// anew on every call (X-RateLimit-Limit is not canonical: X-Ratelimit-Limit is).
var (
	limitKey     = http.CanonicalHeaderKey("X-RateLimit-Limit")
	remainingKey = http.CanonicalHeaderKey("X-RateLimit-Remaining")
	resetKey     = http.CanonicalHeaderKey("X-RateLimit-Reset")
)

// maxCached is the largest count of remaining requests whose header value is
// made once rather than on each request.
const maxCached = 1000

// cachedValues holds the decimal values 0..maxCached as shared header slices.
// Sharing is safe because no one writes into a header's slice: Set and Del
// replace it, and Add appends to a full one, which copies it.
var cachedValues = func() [][]string {
	v := make([][]string, maxCached+1)
	for n := range v {
		v[n] = []string{strconv.Itoa(n)}
	}
	return v
}()

func headerValue(n int) []string {
	if n >= 0 && n < len(cachedValues) {
		return cachedValues[n]
	}
	return []string{strconv.Itoa(n)}
}

// headerMinimums are the minimums of the X-RateLimit-* headers, the spec's.
var headerMinimums = struct{ limit, remaining, reset int64 }{
	limit:     headerMinimum("X-RateLimit-Limit"),
	remaining: headerMinimum("X-RateLimit-Remaining"),
	reset:     headerMinimum("X-RateLimit-Reset"),
}

func headerMinimum(name string) int64 {
	n, ok := apispec.HeaderMinimum(name)
	if !ok {
		panic("server: the spec's " + name + " has no minimum")
	}
	return n
}

// tellable refuses a RateLimit that the X-RateLimit-* headers cannot tell as
// the spec has them, reset being what X-RateLimit-Reset would say.
func (rl RateLimit) tellable(reset int64) error {
	switch {
	case int64(rl.Limit) < headerMinimums.limit:
		return fmt.Errorf("RateLimit.Limit %d is below %d", rl.Limit, headerMinimums.limit)
	case int64(rl.Remaining) < headerMinimums.remaining || rl.Remaining > rl.Limit:
		return fmt.Errorf("RateLimit.Remaining %d is not within %d to Limit, %d", rl.Remaining, headerMinimums.remaining, rl.Limit)
	case rl.Reset.IsZero():
		return errors.New("RateLimit.Reset is zero")
	case reset < headerMinimums.reset:
		return fmt.Errorf("RateLimit.Reset %s is %d s after the Unix epoch, below %d", rl.Reset.Format(time.RFC3339), reset, headerMinimums.reset)
	}
	return nil
}

// limit counts a request of the caller key, sets the X-RateLimit-* headers,
// and answers 429 if the request is over the limit, reporting whether it may
// go on. ctx is the request's, with its deadline and caller.
func (s *Server) limit(ctx context.Context, w http.ResponseWriter, r *http.Request, key string) bool {
	rl, err := s.limiter.Allow(ctx, key)
	if err != nil {
		WriteError(w, r, err)
		return false
	}
	// What is left of the window, by the clock that times it. Its end, rounded
	// up as Retry-After is (at the advertised second the window is open
	// again), is told on the server's clock, which Date and the client's own
	// go by: moved by the limiter's clock's offset from it in whole seconds,
	// so that the few microseconds between the limiter's reading and this one
	// never move one window's end to the next second for some answers.
	now := time.Now()
	from := now
	secs := rl.Reset.Unix()
	if rl.Reset.Nanosecond() > 0 {
		secs++
	}
	if !rl.Now.IsZero() {
		from = rl.Now
		secs += int64(now.Sub(rl.Now).Round(time.Second) / time.Second)
	}
	if err := rl.tellable(secs); err != nil {
		WriteError(w, r, fmt.Errorf("the RateLimiter's %w", err))
		return false
	}
	h := w.Header()
	h[limitKey] = headerValue(rl.Limit)
	h[remainingKey] = headerValue(rl.Remaining)
	h[resetKey] = []string{strconv.FormatInt(secs, 10)}
	if rec := recorderOf(w); rec != nil {
		// Also beside X-Request-Id, when w holds the answer until it is
		// checked (WithResponseValidation): they go out, as unchecked, with
		// the 500 that replaces a refused answer or one lost to a panic.
		own := rec.Header()
		for _, k := range [...]string{limitKey, remainingKey, resetKey} {
			own[k] = h[k]
		}
	}
	if rl.Allowed {
		return true
	}
	s.metrics.refused()
	e := *tooManyAttempts
	e.Header = http.Header{"Retry-After": {strconv.FormatInt(max(wait(from, rl.Reset), 1), 10)}}
	WriteError(w, r, &e)
	return false
}

// wait is the time from from to reset in whole seconds, rounded up, so that
// waiting the advertised time always suffices. It is reckoned in Unix seconds
// rather than as a time.Duration, which holds 292 years at most: a Reset
// further ahead (a caller shut out for good) would saturate it, and rounding
// up would then overflow into a wait of nothing.
func wait(from, reset time.Time) int64 {
	secs := reset.Unix() - from.Unix()
	if reset.Nanosecond() > from.Nanosecond() {
		secs++
	}
	return secs
}

// tooManyAttempts is the 429, whose Retry-After each refusal sets.
var tooManyAttempts = apierror.New(http.StatusTooManyRequests, apispec.MessagesOf().TooManyAttempts).Prerender()
