package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"golang.org/x/net/http/httpguts"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/baseurl"
	"github.com/plannr-toolkit/plannr-oauth/internal/buildinfo"
)

// DefaultBaseURL is Plannr CRM's production API, the server the spec names.
const DefaultBaseURL = "https://api.plannrcrm.com"

// DefaultTimeout bounds each attempt (connecting, sending, reading the
// answer) when WithHTTPClient is not used.
const DefaultTimeout = 30 * time.Second

// userAgent names this module and its version, so that Plannr can tell its
// traffic apart and find the callers of a faulty release.
var userAgent = "plannr-oauth-go/" + buildinfo.Read().Version

// Option changes one of New's defaults.
type Option func(*config)

type config struct {
	baseURL    string
	httpClient *http.Client
	policy     RetryPolicy
	logger     *slog.Logger
	userAgent  string
	unpaced    bool
	rateWindow time.Duration
	pacer      *Pacer
	maxAnswer  int64
}

// WithBaseURL sends requests to baseURL instead of DefaultBaseURL, e.g. a
// test server. It may carry a path prefix, but no query or fragment, which
// no request would carry.
func WithBaseURL(baseURL string) Option {
	return func(c *config) { c.baseURL = baseURL }
}

// WithHTTPClient makes every attempt through hc, whose Transport, Timeout,
// CheckRedirect and Jar then apply to each attempt; retries are layered on
// top of it. hc itself is not changed. Its Timeout bounds each attempt once
// the pacer lets it go, not the wait before. The token goes
// only to the base URL's origin, whatever hc's CheckRedirect lets through.
// The client never closes idle connections of hc's Transport (or of
// http.DefaultTransport, when it has none), which may serve others too.
// The default is a client with its own connection pool and DefaultTimeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithRetryPolicy replaces the retry policy; see RetryPolicy for which zero
// fields take the defaults.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) { c.policy = p.withDefaults() }
}

// WithLogger logs each attempt and retry to l (requests at Debug, failed
// attempts at Error). The default is not to log. The token is never logged:
// it travels in a header and only method and URL are.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithUserAgent puts product (e.g. "my-app/1.2") in front of this module's
// own User-Agent token, so that Plannr sees which application calls.
func WithUserAgent(product string) Option {
	return func(c *config) { c.userAgent = product + " " + userAgent }
}

// WithoutPacing turns pacing off: requests go as soon as they are made, and
// a 429 is only retried. See the package documentation.
func WithoutPacing() Option {
	return func(c *config) { c.unpaced = true }
}

// WithRateWindow is the longest the server's rate-limit window may last,
// which the client's pacer assumes until the answers say more (Plannr says
// when a window ends only on a 429); the default is DefaultRateWindow,
// Plannr's minute. A longer length than the server's makes requests wait
// longer than they need until the answers have shown the window's length; a
// shorter one runs into a 429 before the pacer learns better. d <= 0 means
// the default. It is the length of the client's own pacer: with WithPacer,
// give it to NewPacer instead.
func WithRateWindow(d time.Duration) Option {
	return func(c *config) { c.rateWindow = d }
}

// WithMaxAnswerBody reads answers of up to n bytes; a call whose answer is
// larger fails with ErrAnswerTooLarge, and is not retried. n <= 0 means
// DefaultMaxAnswerBody.
func WithMaxAnswerBody(n int64) Option {
	return func(c *config) { c.maxAnswer = n }
}

// WithPacer paces the client's requests with p instead of a pacer of its
// own, so that clients of the same token and server share one budget: each
// counts the others' requests rather than take them for another process's.
// A Pacer serves one token at one base URL; New refuses it for another.
func WithPacer(p *Pacer) Option {
	return func(c *config) { c.pacer = p }
}

// New returns the generated client set up to call Plannr with token: the
// bearer token, Accept and User-Agent on every request, a per-attempt
// timeout, and retries of 429, 5xx and connection errors as the RetryPolicy
// says. See the package documentation for the defaults. A token that is
// empty, or that cannot be sent in a header (it holds a control character
// such as a line break, as from a file read whole), is refused.
func New(token string, opts ...Option) (*gen.ClientWithResponses, error) {
	// An empty token (an unset environment variable, typically) would only
	// come back as a 401 from every call; say so at construction instead.
	if token == "" {
		return nil, errors.New("client: empty token")
	}
	// Go's transport would refuse the header at the first call, with an
	// error about a request rather than the configuration. The error words
	// the rule, never the token.
	if !httpguts.ValidHeaderFieldValue(token) {
		return nil, errors.New("client: the token cannot be sent in a header: it holds a control character, such as a line break")
	}
	cfg := config{baseURL: DefaultBaseURL, policy: RetryPolicy{MaxRetries: DefaultMaxRetries}.withDefaults(), userAgent: userAgent}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.maxAnswer <= 0 {
		cfg.maxAnswer = DefaultMaxAnswerBody
	}
	// gen takes any string as the server and fails only at the first call,
	// with an error about a request rather than about the configuration.
	base, err := baseurl.Parse(cfg.baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	hc := cfg.httpClient
	ownPool := hc == nil
	if ownPool {
		// A pool of our own rather than http.DefaultTransport: it is the
		// only one whose idle connections the client closes, as
		// retryablehttp asks whenever it gives up.
		hc = cleanhttp.DefaultPooledClient()
		hc.Timeout = DefaultTimeout
	}
	t := &transport{base: hc.Transport, origin: originOf(base), authorization: "Bearer " + token, timeout: hc.Timeout, ownPool: ownPool, maxAnswerBody: cfg.maxAnswer}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	switch {
	case cfg.pacer != nil && cfg.unpaced:
		return nil, errors.New("client: WithPacer and WithoutPacing contradict each other")
	case cfg.pacer != nil && cfg.rateWindow > 0:
		return nil, errors.New("client: WithRateWindow is the window of the client's own pacer; with WithPacer, give it to NewPacer")
	case cfg.pacer != nil:
		if err := cfg.pacer.bind(pacerKey(token, cfg.baseURL)); err != nil {
			return nil, err
		}
		t.pacer = cfg.pacer
	case !cfg.unpaced:
		t.pacer = NewPacer(cfg.rateWindow)
	}
	attempts := *hc
	attempts.Transport, attempts.Timeout = t, 0
	headers := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", cfg.userAgent)
		return nil
	}
	doer := &retryingDoer{httpClient: &attempts, policy: cfg.policy, logger: cfg.logger}
	c, err := gen.NewClient(cfg.baseURL, gen.WithHTTPClient(doer), gen.WithRequestEditorFn(headers))
	if err != nil {
		return nil, err
	}
	return &gen.ClientWithResponses{ClientInterface: utf8Labels{c}}, nil
}
