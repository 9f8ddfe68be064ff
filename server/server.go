package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/nilcheck"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// specLimits are the spec's x-limits.
var specLimits = apispec.LimitsOf()

// The defaults of the options, as Plannr's: the spec's x-limits.
var (
	// DefaultRateLimit requests a DefaultRateWindow per caller (WithRateLimiter).
	DefaultRateLimit  = specLimits.RateLimit
	DefaultRateWindow = specLimits.RateWindow
	// DefaultMaxBody is the largest request body, in bytes (WithMaxBody).
	DefaultMaxBody = specLimits.RequestBodyBytes
)

// DefaultTimeout bounds each API request's wait on its dependencies
// (WithTimeout).
const DefaultTimeout = 10 * time.Second

// Server is the whole HTTP server of the API around one implementation. It is
// an http.Handler; serve it with an http.Server of your own, whose timeouts
// and limits are yours to choose. Set its DisableGeneralOptionsHandler:
// otherwise net/http answers OPTIONS * itself, a 200 that no log line,
// header or metric of this server's sees; with it, the Server answers the
// JSON 404 of any path outside the spec.
type Server struct {
	// serving counts the requests being answered, and once closed lets
	// none in: Close waits for those in.
	serving gate

	validator *validation.Validator
	auth      AuthFunc
	limiter   RateLimiter
	// dispatch holds the handler of each operation of the spec.
	dispatch map[*routers.Route]operationFunc
	pages    pages
	handler  http.Handler
	ready    readiness
	metrics  *metrics
	timeout  time.Duration
	// obs tells of the answers, the handler's and the Listener's.
	obs *observer
}

// Option configures New and Wrap. Each follows one rule: a zero or nil value
// means the option's default, and an option named Without… turns a default
// off.
type Option func(*config) error

type config struct {
	auth        AuthFunc
	limiter     RateLimiter
	maxBody     int64
	logger      *slog.Logger
	pages       map[string]http.Handler
	docs        bool
	readiness   func(context.Context) error
	validation  *ResponseValidation
	metrics     *metrics
	middlewares []gen.StrictMiddlewareFunc
	// kinOnly turns the compiled checks off (WithoutCompiledChecks).
	kinOnly bool
	timeout time.Duration
}

// New returns the server of impl. What the spec forbids never reaches impl:
// a request is matched to its operation (404, or 405 with Allow), its bearer
// token mapped to the caller by the function of WithAuth (401), counted by
// the rate limiter (429), and validated against the spec (400, 413, 415, 422,
// and 404 for a malformed UUID), before the generated strict handler binds the
// validated body and calls impl, through the middleware of
// WithOperationMiddleware. Every error, from any of these steps, from
// parameter binding or from impl, is JSON in the API's format (WriteError).
// An operation (or a middleware) that returns neither a response nor an
// error, which net/http would send as an empty 200, is answered 500, the
// cause logged: "updateOAuthConnection returned no response". So is a
// response of a status the operation does not declare (a default response
// of 418, say), whether or not answers are checked (WithResponseValidation):
// the client gets the 500, with none of that answer's body, and the log line
// "updateOAuthConnection does not declare 418".
// WithAuth is required, and impl must not be nil, nor a nil pointer (any
// nil value in the interface), which would panic on every request.
//
// The handler of each operation is the generated one: New takes them from
// gen.HandlerWithOptions, so that an operation added to the spec and
// regenerated is served, and one the generated code lacks fails New.
func New(impl gen.StrictServerInterface, opts ...Option) (*Server, error) {
	if err := nilcheck.Error("the implementation", impl); err != nil {
		return nil, fmt.Errorf("server: New: %w", err)
	}
	return build(func(cfg *config) map[string]operationFunc { return operations(impl, cfg.middlewares) }, opts)
}

// Wrap returns a server like New's that passes each valid request on to next
// in place of a generated strict handler: for a program that keeps its own
// router and handlers (gen.HandlerWithOptions, say) but wants this package's
// matching, authentication, rate limiting, validation and error rendering in
// front of them. next gets the request with the caller in its context (see
// Caller) and the body as validated; give gen.HandlerWithOptions
// ErrorHandlerFunc: WriteError, and gen.NewStrictHandlerWithOptions WriteError
// for both of its error handlers, so that their errors are JSON too.
// WithOperationMiddleware has no effect here: the strict handler is next's.
// A request that next returns from without writing an answer, or answers
// with a status its operation does not declare, is answered 500, as New
// answers an operation's. next must not be nil, nor a nil value in the
// interface (a nil http.HandlerFunc, say).
func Wrap(next http.Handler, opts ...Option) (*Server, error) {
	if err := nilcheck.Error("the handler", next); err != nil {
		return nil, fmt.Errorf("server: Wrap: %w", err)
	}
	return build(func(*config) map[string]operationFunc {
		handlers := map[string]operationFunc{}
		for _, op := range apispec.Operations() {
			handlers[op.Method+" "+op.Path] = withPathValues(next.ServeHTTP)
		}
		return handlers
	}, opts)
}

// build makes the server whose operations' handlers, by "METHOD /path", are
// what handlersOf returns.
func build(handlersOf func(*config) map[string]operationFunc, opts []Option) (*Server, error) {
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	if cfg.auth == nil {
		return nil, errors.New("server: WithAuth is required: the spec requires a bearer token on every operation")
	}
	handlers := handlersOf(&cfg)
	s := &Server{
		serving:   gate{idle: make(chan struct{})},
		validator: validation.New(apispec.Doc(), cfg.maxBody, authenticated, !cfg.kinOnly),
		auth:      cfg.auth,
		limiter:   cfg.limiter,
		dispatch:  map[*routers.Route]operationFunc{},
		metrics:   cfg.metrics,
		timeout:   cfg.timeout,
	}
	for _, route := range s.validator.Routes() {
		key := route.Method + " " + route.Path
		h := handlers[key]
		if h == nil {
			return nil, fmt.Errorf("server: no handler for %s: is gen/ what the spec generates? (go generate ./...)", key)
		}
		s.dispatch[route] = h
		delete(handlers, key)
	}
	for key := range handlers {
		return nil, fmt.Errorf("server: the generated code serves %s, which the spec does not have: is gen/ what the spec generates? (go generate ./...)", key)
	}
	s.ready.check = cfg.readiness
	// One page a path, the user's over the server's own: two of one path
	// would be served in whatever order the sort left them.
	byPath := ownPages(cfg, &s.ready, s.timeout)
	maps.Copy(byPath, cfg.pages)
	s.pages = newPages(byPath, s.validator.ErrorBody)
	var h http.Handler = http.HandlerFunc(s.route)
	if cfg.validation != nil {
		h = checkResponses(h, s.checkResponse, cfg.validation, cfg.logger)
	}
	s.obs = newObserver(cfg)
	s.handler = cfg.metrics.countInFlight(observe(s.obs, h))
	return s, nil
}

// configure returns the configuration of opts, over the defaults.
func configure(opts []Option) (config, error) {
	cfg := config{
		limiter: NewFixedWindow(DefaultRateLimit, DefaultRateWindow),
		maxBody: DefaultMaxBody,
		logger:  slog.Default(),
		pages:   map[string]http.Handler{},
		timeout: DefaultTimeout,
	}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return config{}, fmt.Errorf("server: %w", err)
		}
	}
	return cfg, nil
}

// ServeHTTP answers one request. It sets r.Pattern to the route the request
// matched, as http.ServeMux does: the template of the spec's path, such as
// /api/v1/oauth/connections/{oauthConnection_uuid}, or the path of the
// server's page, and "" for no match. Middleware in front of the server can
// name the request by it: otelhttp names its span "PUT
// /api/v1/oauth/connections/{oauthConnection_uuid}", say. A w that is a
// StatusNoter is told the status the request is logged and counted with.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// route is the one path of a request through the server: it is matched once,
// against the spec's paths and then the server's pages, and the match goes
// along.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	m := s.validator.Find(r)
	if !s.serving.enter() {
		// Closed: nothing is served, but the 503 is logged, counted and left
		// in Pattern under the route the request is for, as any answer is.
		name := m.Template
		if name == "" {
			_, name = s.pages.find(r)
		}
		setRoute(w, name, nil)
		r.Pattern = name
		WriteError(w, r, ErrUnavailable)
		return
	}
	defer s.serving.leave()
	if m.Template == "" && s.pages.route(w, r) {
		return
	}
	setRoute(w, m.Template, m.Route)
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
	// The request's context: its deadline, then its caller, in one allocation.
	rc := &struct {
		deadline deadlineContext
		caller   identityContext
	}{}
	ctx := r.Context()
	if s.timeout > 0 {
		rc.deadline.Context, rc.deadline.deadline = ctx, time.Now().Add(s.timeout)
		defer rc.deadline.stop()
		ctx = &rc.deadline
	}
	id, err := s.authenticate(ctx, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	rc.caller.Context, rc.caller.id = ctx, id
	ctx = &rc.caller
	if s.limiter != nil && !s.limit(ctx, w, r, id.ID) {
		return
	}
	if err := s.validator.Validate(ctx, w, r, m); err != nil {
		WriteError(w, r, err)
		return
	}
	s.dispatch[m.Route](ctx, w, r, m)
	if !answered(w) {
		// An operation that returned neither a response nor an error (or
		// Wrap's handler that wrote nothing): net/http would send an empty
		// 200, which DELETE does not declare and a PUT that stored nothing
		// would pass for.
		WriteError(w, r, fmt.Errorf("%s returned no response", m.Route.Operation.OperationID))
	}
}

// answered reports whether an answer has been written to w, the writer route
// hands an operation: the recorder, or with WithResponseValidation the
// writer that holds the answer until it is checked.
func answered(w http.ResponseWriter) bool {
	a := answerOf(w)
	return a == nil || a.begun()
}

// operationFunc serves a request that route matched (m) and validated. ctx
// is the request's context with its deadline and caller; r's is still the
// one it came with, and an operationFunc that hands r to code not its own
// gives it ctx first (handedOn). Copying the request is an allocation
// of 320 bytes, which the PUT's fast path does without (BenchmarkPUT: 36
// allocations, 8,768 bytes, where it was 37 and 9,088).
type operationFunc func(ctx context.Context, w http.ResponseWriter, r *http.Request, m validation.Match)

// withPathValues serves a request with h, which reads the path's parameters
// as the generated handlers do, with Request.PathValue.
func withPathValues(h http.HandlerFunc) operationFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, m validation.Match) {
		h(w, handedOn(ctx, r, m))
	}
}

// handedOn is r as code not the server's is given it: a copy with ctx, and
// with m's path parameters as its path values.
func handedOn(ctx context.Context, r *http.Request, m validation.Match) *http.Request {
	r = r.WithContext(ctx)
	m.SetPathValues(r)
	return r
}

// deadlineContext is context.WithDeadline(parent, deadline), made only once
// something waits on it. Most requests never do (over a store in memory
// nothing calls Done), yet WithDeadline would start a timer and register with
// the request's context for each of them, about a microsecond and seven
// allocations. It answers Deadline, Done, Err and Value as WithDeadline's
// context would, before and after stop, its CancelFunc (TestDeadlineContext
// holds it to that); only context.Cause, of a deadline that passed while
// nothing waited, gives the parent's cause where WithDeadline's gives
// DeadlineExceeded.
type deadlineContext struct {
	context.Context // the parent
	deadline        time.Time

	mu sync.Mutex
	// timed is WithDeadline's context, once something asked for it.
	timed  context.Context
	cancel context.CancelFunc
	// stopped: stop was called; err is then the context's error, if it was
	// stopped before anything asked for timed.
	stopped bool
	err     error
}

// timer returns WithDeadline's context, made on the first call.
func (c *deadlineContext) timer() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timed == nil {
		c.timed, c.cancel = context.WithDeadline(c.Context, c.deadline)
		if c.stopped && c.err != context.DeadlineExceeded {
			c.cancel() // as stop would have cancelled it; a deadline passed has ended it already
		}
	}
	return c.timed
}

// made returns timed if it has been made, and the error stop left.
func (c *deadlineContext) made() (context.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timed, c.err
}

func (c *deadlineContext) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *deadlineContext) Done() <-chan struct{} { return c.timer().Done() }

func (c *deadlineContext) Err() error {
	timed, err := c.made()
	switch {
	case timed != nil:
		return timed.Err()
	case err != nil:
		return err
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return c.timer().Err() // DeadlineExceeded, with Done closed
	}
	return nil
}

func (c *deadlineContext) Value(key any) any {
	if timed, _ := c.made(); timed != nil {
		return timed.Value(key)
	}
	return c.Context.Value(key)
}

// stop ends the context, as WithDeadline's CancelFunc does, and releases its
// timer if it has one.
func (c *deadlineContext) stop() {
	c.mu.Lock()
	cancel := c.cancel
	if cancel == nil && !c.stopped {
		// The error WithDeadline's context would have now.
		switch c.err = c.Context.Err(); {
		case c.err != nil:
		case !time.Now().Before(c.deadline):
			c.err = context.DeadlineExceeded
		default:
			c.err = context.Canceled
		}
	}
	c.stopped = true
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Close waits for the requests being answered to return, and answers every
// later one 503 {"message": "Service Unavailable"} without calling the
// implementation (at once, also while it waits), so that what the implementation uses (its store) can then
// be closed under no request. It closes no connection: that is the
// http.Server's part (Shutdown, then Close, cuts off requests still running,
// whose contexts then end). A request that ignores its context keeps Close
// waiting.
func (s *Server) Close() { s.serving.close() }

// gate counts the requests in, and once closed lets none in. Unlike a
// sync.RWMutex, whose pending Lock holds every new RLock, a closing gate
// turns new requests away at once while it waits for those in.
type gate struct {
	// state is closedBit once closed, plus the count of requests in.
	state atomic.Int64
	once  sync.Once
	idle  chan struct{} // closed once the gate is closed and empty
}

const closedBit = 1 << 62

// enter lets a request in, unless the gate is closed.
func (g *gate) enter() bool {
	if g.state.Add(1)&closedBit != 0 {
		g.leave()
		return false
	}
	return true
}

func (g *gate) leave() {
	if g.state.Add(-1) == closedBit {
		g.empty()
	}
}

// close closes the gate and waits until no request is in.
func (g *gate) close() {
	if g.state.Or(closedBit)&^closedBit == 0 {
		g.empty()
	}
	<-g.idle
}

func (g *gate) empty() { g.once.Do(func() { close(g.idle) }) }

// CheckResponse reports whether a response the server gave to r keeps to the
// spec: an operation's status is declared, its headers and body match their
// schemas, and every error, also of a page outside the spec, is JSON in the
// API's format. WithResponseValidation runs it on every answer; a test with
// its own transport may call it too.
func (s *Server) CheckResponse(r *http.Request, status int, header http.Header, body []byte) error {
	return s.checkResponse(r, status, header, body)
}

func (s *Server) checkResponse(r *http.Request, status int, header http.Header, body []byte) error {
	if s.validator.Find(r).Template == "" {
		if h, _ := s.pages.find(r); h != nil {
			if status >= 400 {
				return s.validator.ErrorBody(header, body)
			}
			return nil
		}
	}
	return s.validator.Response(r, status, header, body)
}

// WithMaxBody refuses request bodies over n bytes with a 413. Zero or less
// means DefaultMaxBody, the spec's x-limits.requestBodyBytes.
func WithMaxBody(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			n = DefaultMaxBody
		}
		c.maxBody = n
		return nil
	}
}

// WithTimeout bounds the time the server gives each API request, from its
// match to its answer, and each /readyz check: the request's context ends
// after d, and an AuthFunc, a RateLimiter or an operation that fails with
// the context's error then is answered 503, so that a dependency that hangs
// makes answers slow, never endless. Zero or less means DefaultTimeout;
// WithoutTimeout sets no bound.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			d = DefaultTimeout
		}
		c.timeout = d
		return nil
	}
}

// WithoutTimeout sets no bound on a request's time (see WithTimeout).
func WithoutTimeout() Option {
	return func(c *config) error {
		c.timeout = 0
		return nil
	}
}

// WithLogger logs one line per request to l: method, route template (never
// the raw path), status, duration, request ID, and the cause of a 5xx; and,
// through Server.Listener, one for each of net/http's own errors.
// Tokens, labels and bodies are never logged. Nil means slog.Default(), the
// default; WithoutLogging logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			l = slog.Default()
		}
		c.logger = l
		return nil
	}
}

// WithoutLogging logs nothing (see WithLogger).
func WithoutLogging() Option {
	return func(c *config) error {
		c.logger = slog.New(slog.DiscardHandler)
		return nil
	}
}

// WithoutCompiledChecks validates every request with kin-openapi alone. By
// default the spec's simple schemas (strings with a length, a pattern, a
// format and null, objects of them) are compiled at start into checks that
// decide a request as kin-openapi would and answer it as the kin-openapi path
// would, a rejection worded from the spec by the same code; what they do not
// cover goes on to kin-openapi. Answers are the same either way, only faster.
// This option is for a test that compares the two, or to rule the compiled
// checks out while looking for a fault.
func WithoutCompiledChecks() Option {
	return func(c *config) error {
		c.kinOnly = true
		return nil
	}
}

// The operations: their handlers, taken from the generated code, and the
// middleware around them.

// WithOperationMiddleware runs mw around each operation, the last given
// outermost (it runs first), as oapi-codegen's strict server runs its
// middleware, each wrapping the ones before it: each gets
// the operation's name (its generated method's, "UpdateOAuthConnection"),
// the typed request object and the typed response, after the kit's checks
// and before the response is written. Use it for what an implementation does
// around every operation: an audit line, a span, a transaction. Nil entries
// are skipped.
func WithOperationMiddleware(mw ...gen.StrictMiddlewareFunc) Option {
	return func(c *config) error {
		for _, m := range mw {
			if m != nil {
				c.middlewares = append(c.middlewares, m)
			}
		}
		return nil
	}
}

// operations returns the handler of each operation of impl, by "METHOD
// /path", as the generated gen.HandlerWithOptions registers them: the
// generated parameter binding, then the generated strict handler with
// middlewares, which binds the body and calls impl. The generated ServeMux
// is not used, since the server has matched the request already, on the
// escaped path, and answers misses in JSON. Where fastOperations has an
// operation, its handler stands in front of the generated one.
func operations(impl gen.StrictServerInterface, middlewares []gen.StrictMiddlewareFunc) map[string]operationFunc {
	strict := gen.NewStrictHandlerWithOptions(impl, middlewares, gen.StrictHTTPServerOptions{
		// The validator has checked the body, so a decoding failure here is a
		// body the schema allows and Go cannot hold: still the client's error.
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			WriteError(w, r, validation.InvalidJSON)
		},
		ResponseErrorHandlerFunc: WriteError,
	})
	handlers := routeTable{}
	gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		BaseRouter: handlers,
		// Parameters were validated already; a binding failure is a malformed UUID.
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			WriteError(w, r, plannroauth.ErrNotFound)
		},
	})
	ops := map[string]operationFunc{}
	for key, h := range handlers {
		ops[key] = withPathValues(h)
	}
	for _, op := range apispec.Operations() {
		key := op.Method + " " + op.Path
		if fast := fastOperations[op.ID]; fast != nil && handlers[key] != nil {
			ops[key] = fast(op, impl, middlewares, handlers[key])
		}
	}
	return ops
}

// routeTable records what gen.HandlerWithOptions registers: the generated
// handler of each operation, by its ServeMux pattern, "METHOD /path".
type routeTable map[string]http.HandlerFunc

func (t routeTable) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	t[pattern] = h
}

// ServeHTTP is never called: the server dispatches on the table itself.
func (routeTable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, validation.RouteNotFound)
}

// fastOperations are the handlers, by operationId, that stand in front of an
// operation's generated one for a request the compiled checks accepted, and
// pass any other on to it. The generated strict handler binds a JSON body
// with runtime.BindJSONBody, which turns a nullable.Nullable field back into
// JSON to decode it again; an operation with a JSON body binds the fields the
// compiled checks found instead. TestEveryOperationIsServed fails when the spec
// has an operation with a JSON body that is not here, so that adding one is
// a choice.
var fastOperations = map[string]func(op apispec.Operation, impl gen.StrictServerInterface, middlewares []gen.StrictMiddlewareFunc, generated http.HandlerFunc) operationFunc{
	"updateOAuthConnection": updateConnection,
}

// updateConnection is the PUT's fast handler: the accepted body bound to the
// generated type, and impl called as the generated strict handler calls it:
// the same request object, through the same middleware with the same
// operation name, the response visited, errors to WriteError.
func updateConnection(op apispec.Operation, impl gen.StrictServerInterface, middlewares []gen.StrictMiddlewareFunc, generated http.HandlerFunc) operationFunc {
	bind := newBinder[gen.UpdateOAuthConnectionJSONRequestBody]()
	params := op.PathParams()
	if bind == nil || len(params) != 1 {
		return withPathValues(generated) // a field of a type binder does not know, or a path of another shape
	}
	var chain gen.StrictHandlerFunc // nil without middleware: impl is called as it is
	if len(middlewares) > 0 {
		chain = func(ctx context.Context, _ http.ResponseWriter, _ *http.Request, req any) (any, error) {
			return impl.UpdateOAuthConnection(ctx, req.(gen.UpdateOAuthConnectionRequestObject))
		}
		for _, m := range middlewares {
			chain = m(chain, op.GoName())
		}
	}
	fallback := withPathValues(generated)
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, m validation.Match) {
		fields, ok := validation.CompiledFields(r)
		// The parameter was validated as a UUID in its canonical form, which
		// uuid.Parse reads as the generated binding would.
		id, err := uuid.Parse(m.PathValue(params[0]))
		if !ok || err != nil {
			fallback(ctx, w, r, m)
			return
		}
		req := gen.UpdateOAuthConnectionRequestObject{OAuthConnectionUUID: id, Body: bind.bind(fields)}
		var resp any
		if chain == nil {
			// Nothing but impl sees the request, and impl only its context:
			// its path values are not set.
			resp, err = impl.UpdateOAuthConnection(ctx, req)
		} else {
			// As the generated handler hands r to the middleware.
			resp, err = chain(ctx, w, handedOn(ctx, r, m), req)
		}
		if err == nil {
			if v, ok := resp.(gen.UpdateOAuthConnectionResponseObject); ok {
				err = v.VisitUpdateOAuthConnectionResponse(w)
			} else if resp != nil {
				err = fmt.Errorf("unexpected response type: %T", resp)
			}
		}
		if err != nil {
			WriteError(w, r, err)
		}
	}
}

// binder binds the fields of a body the compiled checks accepted to T, a
// generated struct, as runtime.BindJSONValue would bind the value they
// describe: by exact JSON name, a property T lacks ignored, null as
// encoding/json decodes it.
type binder[T any] struct {
	fields []boundField
}

type boundField struct {
	name  string
	index int
}

// newBinder returns the binder of T, or nil if T has a field other than a
// string, a *string or a nullable.Nullable[string] with a JSON name.
func newBinder[T any]() *binder[T] {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil
	}
	b := &binder[T]{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || f.Anonymous || name == "" || name == "-":
			return nil
		case f.Type != reflect.TypeFor[string]() && f.Type != reflect.TypeFor[*string]() && f.Type != reflect.TypeFor[nullable.Nullable[string]]():
			return nil
		}
		b.fields = append(b.fields, boundField{name: name, index: i})
	}
	return b
}

func (b *binder[T]) bind(fields []validation.Field) *T {
	body := new(T)
	v := reflect.ValueOf(body).Elem()
	for _, f := range fields {
		for _, bf := range b.fields {
			if bf.name != f.Name {
				continue
			}
			switch p := v.Field(bf.index).Addr().Interface().(type) {
			case *nullable.Nullable[string]:
				if f.Null {
					p.SetNull()
				} else {
					p.Set(f.Value)
				}
			case **string:
				if f.Null {
					*p = nil
				} else {
					s := f.Value
					*p = &s
				}
			case *string:
				if !f.Null { // null leaves a string as it is
					*p = f.Value
				}
			}
		}
	}
	return body
}
