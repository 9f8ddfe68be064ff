package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-cleanhttp"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// DefaultBaseURL is Plannr CRM's production API, the server the spec names.
const DefaultBaseURL = "https://api.plannrcrm.com"

// DefaultTimeout bounds each attempt (connecting, sending, reading the
// answer) when WithHTTPClient is not used.
const DefaultTimeout = 30 * time.Second

// modulePath is looked up in the build info to name this module's version in
// the User-Agent.
const modulePath = "github.com/plannr-toolkit/plannr-oauth"

// userAgent names this module and its version, so that Plannr can tell its
// traffic apart and find the callers of a faulty release.
var userAgent = "plannr-oauth-go/" + moduleVersion()

// moduleVersion is this module's version when a program depends on it, or
// "devel" when it is built from its own tree (tests, a checkout).
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	for _, m := range info.Deps {
		if m.Path == modulePath && m.Version != "" {
			return m.Version
		}
	}
	return "devel"
}

// Option changes one of New's defaults.
type Option func(*config)

type config struct {
	baseURL    string
	httpClient *http.Client
	policy     RetryPolicy
	logger     *slog.Logger
	userAgent  string
}

// WithBaseURL sends requests to baseURL instead of DefaultBaseURL, e.g. a
// test server. It may carry a path prefix.
func WithBaseURL(baseURL string) Option {
	return func(c *config) { c.baseURL = baseURL }
}

// WithHTTPClient makes every attempt through hc, whose Transport and Timeout
// then apply to each attempt; retries are layered on top of it. The default
// is a client with its own connection pool and DefaultTimeout.
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

// New returns the generated client set up to call Plannr with token: the
// bearer token, Accept and User-Agent on every request, a per-attempt
// timeout, and retries of 429, 5xx and connection errors as the RetryPolicy
// says. See the package documentation for the defaults.
func New(token string, opts ...Option) (*gen.ClientWithResponses, error) {
	// An empty token (an unset environment variable, typically) would only
	// come back as a 401 from every call; say so at construction instead.
	if token == "" {
		return nil, errors.New("client: empty token")
	}
	cfg := config{baseURL: DefaultBaseURL, policy: RetryPolicy{MaxRetries: DefaultMaxRetries}.withDefaults(), userAgent: userAgent}
	for _, opt := range opts {
		opt(&cfg)
	}
	// gen takes any string as the server and fails only at the first call,
	// with an error about a request rather than about the configuration.
	if u, err := url.Parse(cfg.baseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q is not an absolute http(s) URL", cfg.baseURL)
	}
	if cfg.httpClient == nil {
		// A transport of our own rather than http.DefaultTransport, because
		// retryablehttp closes the idle connections of the client it is
		// given whenever it gives up.
		cfg.httpClient = cleanhttp.DefaultPooledClient()
		cfg.httpClient.Timeout = DefaultTimeout
	}
	headers := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", cfg.userAgent)
		return nil
	}
	doer := &retryingDoer{httpClient: cfg.httpClient, policy: cfg.policy, logger: cfg.logger}
	return gen.NewClientWithResponses(cfg.baseURL, gen.WithHTTPClient(doer), gen.WithRequestEditorFn(headers))
}
