package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/routers"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// Defaults, as Plannr's.
const (
	DefaultRateLimit  = 500
	DefaultRateWindow = time.Minute
	DefaultMaxBody    = 64 << 10
)

// Server is the whole HTTP server of the API around one implementation. It is
// an http.Handler; serve it with an http.Server of your own, whose timeouts
// and limits are yours to choose.
type Server struct {
	validator *validation.Validator
	auth      AuthFunc
	limiter   RateLimiter
	// dispatch holds the handler of each operation of the spec.
	dispatch map[*routers.Route]http.HandlerFunc
	pages    pages
	handler  http.Handler
	ready    readiness
	metrics  *metrics
	timeout  time.Duration
}

// Option configures New and Wrap.
type Option func(*config) error

type config struct {
	auth       AuthFunc
	limiter    RateLimiter
	maxBody    int64
	logger     *slog.Logger
	pages      map[string]http.Handler
	docs       bool
	readiness  func(*http.Request) error
	validation *ResponseValidation
	metrics    *metrics
	// kinOnly turns the compiled checks off (WithoutCompiledChecks).
	kinOnly bool
	timeout time.Duration
}

// New returns the server of impl. What the spec forbids never reaches impl:
// a request is matched to its operation (404, or 405 with Allow), its bearer
// token mapped to the caller by the function of WithAuth (401), counted by
// the rate limiter (429), and validated against the spec (400, 413, 415, 422,
// and 404 for a malformed UUID), before the generated strict handler binds the
// validated body and calls impl. Every error, from any of these steps, from
// parameter binding or from impl, is JSON in the API's format. WithAuth is
// required.
func New(impl gen.StrictServerInterface, opts ...Option) (*Server, error) {
	strict := gen.NewStrictHandlerWithOptions(impl, nil, gen.StrictHTTPServerOptions{
		// The validator has checked the body, so a decoding failure here is a
		// body the schema allows and Go cannot hold: still the client's error.
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			WriteError(w, r, validation.InvalidJSON)
		},
		ResponseErrorHandlerFunc: WriteError,
	})
	ops := &gen.ServerInterfaceWrapper{
		Handler: strict,
		// Parameters were validated already; a binding failure is a malformed UUID.
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			WriteError(w, r, plannroauth.ErrNotFound)
		},
	}
	// The generated handler of each operation, called once the request is
	// matched: the generated ServeMux would match it a second time, on the
	// escaped path, and answer its own misses in text/plain.
	handlers := map[string]http.HandlerFunc{
		"GET /api/v1/oauth/connections":                           ops.ListOAuthConnections,
		"PUT /api/v1/oauth/connections/{oauthConnection_uuid}":    updateConnection(impl, ops.UpdateOAuthConnection),
		"DELETE /api/v1/oauth/connections/{oauthConnection_uuid}": ops.DeleteOAuthConnection,
	}
	return build(func(route *routers.Route) http.HandlerFunc {
		return handlers[route.Method+" "+route.Path]
	}, opts)
}

// Wrap returns a server like New's that passes each valid request on to next
// in place of a generated strict handler: for a program that keeps its own
// router and handlers (gen.HandlerWithOptions, say) but wants this package's
// matching, authentication, rate limiting, validation and error rendering in
// front of them. next gets the request with the caller in its context (see
// Caller) and the body as validated; give gen.HandlerWithOptions
// ErrorHandlerFunc: WriteError, and gen.NewStrictHandlerWithOptions WriteError
// for both of its error handlers, so that their errors are JSON too.
func Wrap(next http.Handler, opts ...Option) (*Server, error) {
	return build(func(*routers.Route) http.HandlerFunc { return next.ServeHTTP }, opts)
}

func build(handlerOf func(*routers.Route) http.HandlerFunc, opts []Option) (*Server, error) {
	cfg := config{
		limiter: NewFixedWindow(DefaultRateLimit, DefaultRateWindow),
		maxBody: DefaultMaxBody,
		logger:  slog.Default(),
		pages:   map[string]http.Handler{},
	}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if cfg.auth == nil {
		return nil, errors.New("server: WithAuth is required: the spec requires a bearer token on every operation")
	}
	doc, err := gen.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("server: embedded spec: %w", err)
	}
	s := &Server{
		validator: validation.New(doc, cfg.maxBody, authenticated, !cfg.kinOnly),
		auth:      cfg.auth,
		limiter:   cfg.limiter,
		dispatch:  map[*routers.Route]http.HandlerFunc{},
		metrics:   cfg.metrics,
		timeout:   cfg.timeout,
	}
	for _, route := range s.validator.Routes() {
		h := handlerOf(route)
		if h == nil {
			return nil, fmt.Errorf("server: no handler for %s %s", route.Method, route.Path)
		}
		s.dispatch[route] = h
	}
	s.ready.check = cfg.readiness
	s.pages = newPages(cfg, &s.ready)
	var h http.Handler = http.HandlerFunc(s.route)
	if cfg.validation != nil {
		h = checkResponses(h, s.checkResponse, cfg.validation, cfg.logger)
	}
	s.handler = cfg.metrics.countInFlight(observe(cfg.logger, cfg.metrics, h))
	return s, nil
}

// ServeHTTP answers one request. It sets r.Pattern to the route the request
// matched, as http.ServeMux does: the template of the spec's path, such as
// /api/v1/oauth/connections/{oauthConnection_uuid}, or the path of the
// server's page, and "" for no match. Middleware in front of the server can
// name the request by it: otelhttp names its span "PUT
// /api/v1/oauth/connections/{oauthConnection_uuid}", say.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// route is the one path of a request through the server: it is matched once,
// and the match goes along.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if h, name := s.pages.find(r.URL.Path); h != nil {
		setRoute(w, name)
		r.Pattern = name
		s.pages.serve(w, r, h)
		return
	}
	m := s.validator.Find(r)
	setRoute(w, m.Template)
	r.Pattern = m.Template
	if r.Method == http.MethodOptions && m.Template != "" {
		// What the path allows, without authentication, as Laravel answers it.
		w.Header().Set("Allow", m.Allow)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := m.Err(); err != nil {
		WriteError(w, r, err)
		return
	}
	ctx := r.Context()
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	id, err := s.authenticate(ctx, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	r = r.WithContext(withIdentity(ctx, id))
	if s.limiter != nil && !s.limit(w, r, id.ID) {
		return
	}
	if err := s.validator.Validate(w, r, m); err != nil {
		WriteError(w, r, err)
		return
	}
	for name, value := range m.PathParams {
		r.SetPathValue(name, value)
	}
	s.dispatch[m.Route](w, r)
}

// CheckResponse reports whether a response the server gave to r keeps to the
// spec: an operation's status is declared, its headers and body match their
// schemas, and every error, also of a page outside the spec, is JSON in the
// API's format. WithResponseValidation runs it on every answer; a test with
// its own transport may call it too.
func (s *Server) CheckResponse(r *http.Request, status int, header http.Header, body []byte) error {
	return s.checkResponse(r, status, header, body)
}

func (s *Server) checkResponse(r *http.Request, status int, header http.Header, body []byte) error {
	if h, _ := s.pages.find(r.URL.Path); h == nil {
		return s.validator.Response(r, status, header, body)
	}
	if status >= 400 {
		return s.validator.ErrorBody(header, body)
	}
	return nil
}

// WithMaxBody refuses request bodies over n bytes with a 413 (DefaultMaxBody,
// 64 KiB, if not given). n must be positive.
func WithMaxBody(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxBody(%d): the limit must be positive", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithTimeout bounds the time the server gives each API request, from its
// match to its answer: the request's context ends after d, and an AuthFunc, a
// RateLimiter or an operation that fails with the context's error then is
// answered 503, so that a database that hangs makes answers slow, never
// endless. Zero, the default, sets no bound; d must not be negative.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithTimeout(%s): the bound must not be negative", d)
		}
		c.timeout = d
		return nil
	}
}

// WithLogger logs one line per request to l: method, route template (never
// the raw path), status, duration, request ID, and the cause of a 5xx. Tokens,
// labels and bodies are never logged. The default is slog.Default(); a nil l
// logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.logger = l
		return nil
	}
}

// WithoutCompiledChecks validates every request with kin-openapi alone. By
// default the spec's simple schemas (strings with a length, a format and
// null, objects of them) are compiled at start into checks that accept what
// kin-openapi accepts, and anything they do not accept, every rejection
// included, goes on to kin-openapi, which words the answer: answers are the
// same either way, only faster. This option is for a test that compares the
// two, or to rule the compiled checks out while looking for a fault.
func WithoutCompiledChecks() Option {
	return func(c *config) error {
		c.kinOnly = true
		return nil
	}
}
