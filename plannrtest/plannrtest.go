// Package plannrtest runs a fake of Plannr CRM's OAuth2-connections API for
// tests. The fake is this module's real server, the handler cmd/plannr-server
// runs (the same validation, authentication, error bodies and rate limiting),
// on a loopback port and over an in-memory store. Every response it sends is
// checked against the spec, and a violation fails the test, whichever HTTP
// client made the request.
//
//	func TestRename(t *testing.T) {
//		srv := plannrtest.NewServer(t) // closed when the test ends
//		body := gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullableWithValue("Pension")}
//		_, err := client.Check(srv.Client().UpdateOAuthConnectionWithResponse(t.Context(), plannrtest.DefaultConnectionID, body))
//		if err != nil {
//			t.Fatal(err)
//		}
//		// Read the store directly rather than trusting the API to report the change.
//		if label := srv.Connections(srv.Token)[0].Label; label == nil || *label != "Pension" {
//			t.Error("the stored label is not Pension")
//		}
//	}
//
// NewServer seeds one user, of DefaultToken, who owns the connection of
// Plannr's documented example (DefaultConnectionID). Options add users, load a
// fixtures file as cmd/plannr-server -fixtures does, lower the rate limit or
// fix the clock. Start runs the same server where there is no test to fail,
// in TestMain or an example.
package plannrtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/httpapi"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// DefaultToken is the bearer token of the user NewServer and Start seed.
const DefaultToken = "plannrtest-token"

// demo is the default user's data: Plannr's documented example.
var demo = fixtures.Demo(DefaultToken)

// DefaultConnectionID is the UUID of the default user's connection, the one of
// Plannr's documented example (7b29add1-9028-4c1e-a87b-3c80a2e495fe).
var DefaultConnectionID = demo.Accounts[0].Connections[0].UUID

// DefaultProvider is the provider of a Connection that names none: Fundment,
// the one Plannr documents and the only one the fake knows without fixtures.
const DefaultProvider = "fundment"

// timeZone is the zone of a user AddUser or WithUser adds anew, as of the
// default user and of a fixtures user that names none: Plannr is a UK CRM.
var timeZone = demo.Accounts[0].Location

// Connection is an OAuth2 connection as a test gives it to the fake and
// reads it back: plannroauth.Connection with its provider by name and
// defaults for what a test leaves out.
type Connection struct {
	// UUID identifies the connection; AddUser and WithUser make a random one
	// when it is zero.
	UUID uuid.UUID
	// Provider is the provider's name; "" means DefaultProvider. Other names
	// must come from a fixtures file.
	Provider string
	// Label is nil when the user has set none; otherwise it is one the API
	// could hold, as a fixtures file's (plannroauth.CheckLabel): valid UTF-8,
	// trimmed, not blank, within the spec's maxLength and without NUL.
	Label *string
	// CreatedAt defaults to the server's clock; UpdatedAt defaults to
	// CreatedAt. Both are stored as Plannr shows them: in whole seconds, in
	// the user's zone (Europe/London, unless a fixtures file names another),
	// UpdatedAt never before CreatedAt.
	CreatedAt, UpdatedAt time.Time
	// The expiries are nil when the token never expires; they are stored in
	// UTC, to the microsecond.
	AccessTokenExpiresAt, RefreshTokenExpiresAt *time.Time
}

// Option changes one of NewServer's and Start's defaults.
type Option func(*config)

type config struct {
	defaultUser bool
	fixtures    string
	users       []user
	limiter     server.Option
	now         func() time.Time
	logger      *slog.Logger
}

type user struct {
	token string
	conns []Connection
}

// WithUser adds a user, of token, owning conns; see AddUser. It may be given
// more than once.
func WithUser(token string, conns ...Connection) Option {
	return func(c *config) { c.users = append(c.users, user{token, conns}) }
}

// WithoutDefaultUser leaves out the user of DefaultToken: Server.Token is then
// empty, and Client fails the test.
func WithoutDefaultUser() Option {
	return func(c *config) { c.defaultUser = false }
}

// WithFixtures loads the fixtures file at path, as cmd/plannr-server -fixtures
// does, in place of the default user, whose connection such a file often
// holds too. A file that does not load fails the test.
func WithFixtures(path string) Option {
	return func(c *config) {
		c.fixtures = path
		c.defaultUser = false
	}
}

// WithRateLimit allows each user n requests a window instead of Plannr's
// (server.DefaultRateLimit a server.DefaultRateWindow, the spec's x-limits);
// zero or less means Plannr's, for either. A window of a second lets
// a test run into a 429 and wait out its Retry-After quickly.
func WithRateLimit(n int, window time.Duration) Option {
	return func(c *config) {
		c.limiter = server.WithRateLimiter(server.NewFixedWindow(n, window))
	}
}

// WithoutRateLimit turns rate limiting off: answers carry no X-RateLimit-*
// headers, and no request is refused with a 429.
func WithoutRateLimit() Option {
	return func(c *config) {
		c.limiter = server.WithoutRateLimit()
	}
}

// WithClock makes now the clock of updated_at and of AddUser's default
// created_at, so that a test can expect exact timestamps. The rate limit keeps
// to real time. Nil means the default, time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			now = time.Now
		}
		c.now = now
	}
}

// WithLogger logs one line per request to l: method, route, status, duration.
// The default, and what a nil l means, is to log nothing, which keeps test
// output quiet.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.logger = l
	}
}

// reporter is what a Server needs of a test: testing.TB, or standalone for a
// Server from Start.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Server is a running fake of Plannr.
type Server struct {
	// URL is the server's base URL, for client.WithBaseURL or a request of the
	// test's own.
	URL string
	// Token is the default user's bearer token: DefaultToken, or "" under
	// WithoutDefaultUser or WithFixtures.
	Token string

	t     reporter
	srv   *httptest.Server
	store *memory.Store
	now   func() time.Time

	mu sync.Mutex
	// seeded holds the UUID of every connection ever added, deleted ones too,
	// because the store skips such a UUID silently and a test must hear of it.
	seeded map[uuid.UUID]bool
}

// NewServer starts a fake of Plannr for t and closes it when t ends. Any
// response that breaks the spec fails t; so does a setup that fails, such as a
// fixtures file that does not load.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := newServer(t, opts)
	if err != nil {
		t.Fatalf("plannrtest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Start starts a fake of Plannr outside a test, e.g. in TestMain or an example.
// The caller must Close it, which returns the violations of the spec it saw;
// AddUser and Connections panic where they would fail a test.
func Start(opts ...Option) (*Server, error) {
	s, err := newServer(&standalone{}, opts)
	if err != nil {
		return nil, fmt.Errorf("plannrtest: %w", err)
	}
	return s, nil
}

func newServer(t reporter, opts []Option) (*Server, error) {
	cfg := config{
		defaultUser: true,
		limiter:     server.WithRateLimiter(nil),
		now:         time.Now,
		logger:      slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	s := &Server{t: t, store: memory.New(), now: cfg.now, seeded: map[uuid.UUID]bool{}}
	h, err := httpapi.NewHandler(httpapi.Config{
		Store: s.store,
		Now:   cfg.now,
		Options: []server.Option{cfg.limiter, server.WithLogger(cfg.logger),
			server.WithResponseValidation(server.ResponseValidation{
				Report: func(_ *http.Request, err error) { t.Errorf("plannrtest: %v", err) },
			})},
	})
	if err != nil {
		return nil, err
	}
	if cfg.defaultUser {
		s.Token = DefaultToken
		if err := s.seed(*demo); err != nil {
			return nil, err
		}
	}
	if cfg.fixtures != "" {
		d, err := fixtures.Load(cfg.fixtures)
		if err == nil {
			err = s.seed(*d)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, u := range cfg.users {
		if _, err := s.addUser(u.token, u.conns); err != nil {
			return nil, fmt.Errorf("WithUser: %w", err)
		}
	}
	s.srv = httptest.NewUnstartedServer(h)
	// Headers that plannr-server answers 431 are not served here either.
	s.srv.Config.MaxHeaderBytes = httpapi.MaxHeaderBytes
	s.srv.Config.DisableGeneralOptionsHandler = true // OPTIONS * to the handler, as plannr-server
	s.srv.Listener = h.Listener(s.srv.Listener)      // net/http's own errors in JSON and logged, as plannr-server
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server, once in-flight requests are answered. For a Server
// from Start it returns every violation of the spec the server committed; for
// one from NewServer, which has already failed its test for them, nil.
func (s *Server) Close() error {
	s.srv.Close()
	if sa, ok := s.t.(*standalone); ok {
		return sa.err()
	}
	return nil
}

// testRetryPolicy is Client's: the client's number of retries, but a quick
// back-off, since the fake needs no time to recover, and a budget of a few
// seconds, so that a retry waits out a short rate-limit window but never
// Plannr's minute. (The pacer, not the retries, holds a call made once the
// window is spent: ClientFor says so.)
var testRetryPolicy = client.RetryPolicy{
	MaxRetries: client.DefaultMaxRetries,
	MinWait:    10 * time.Millisecond,
	MaxWait:    100 * time.Millisecond,
	MaxElapsed: 5 * time.Second,
}

// Client returns a client of the default user; see ClientFor.
func (s *Server) Client(opts ...client.Option) *gen.ClientWithResponses {
	s.t.Helper()
	return s.ClientFor(s.Token, opts...)
}

// ClientFor returns the client of package client, made with client.New for
// token and this server, as a program would make it. It retries like the
// production client, but backs off for milliseconds rather than seconds and
// stops retrying after 5 s; a Retry-After is waited out. opts come after
// these defaults and so override them. The client paces itself as a
// program's does, learning the rate-limit window from the fake's answers,
// which say when it ends (X-RateLimit-Reset): a call made once the window is
// spent waits for the next, up to Plannr's minute unless WithRateLimit set a
// shorter window or the call's context has a deadline. client.WithPacer(p)
// makes clients share p. client.WithRetryPolicy(client.RetryPolicy{}) with
// client.WithoutPacing() makes a client that never retries and sends
// requests into every 429 (a paced client waits for the window instead).
func (s *Server) ClientFor(token string, opts ...client.Option) *gen.ClientWithResponses {
	s.t.Helper()
	// The server's own transport, whose idle connections Close shuts.
	hc := &http.Client{Transport: s.srv.Client().Transport, Timeout: 10 * time.Second}
	defaults := []client.Option{client.WithBaseURL(s.URL), client.WithHTTPClient(hc), client.WithRetryPolicy(testRetryPolicy)}
	c, err := client.New(token, append(defaults, opts...)...)
	if err != nil {
		s.t.Fatalf("plannrtest: ClientFor: %v", err)
	}
	return c
}

// AddUser adds a user of token owning conns, or, if the user exists, adds conns
// to it, and returns conns as stored: with their UUID, provider and timestamps
// filled in. A token that cannot be sent as a bearer token, an unknown provider,
// a UUID the server has had before, or a label or time the API could not hold
// (plannroauth.Connection.Check, as for a fixtures file) fails the test.
func (s *Server) AddUser(token string, conns ...Connection) []Connection {
	s.t.Helper()
	added, err := s.addUser(token, conns)
	if err != nil {
		s.t.Fatalf("plannrtest: AddUser: %v", err)
	}
	return added
}

func (s *Server) addUser(token string, conns []Connection) ([]Connection, error) {
	if !plannroauth.ValidToken(token) {
		return nil, fmt.Errorf("token %q cannot be sent as a bearer token", token)
	}
	// A user already there keeps its zone, which a fixtures file may have
	// named, and an update stamps updated_at in it: created_at goes there too.
	loc := timeZone
	switch u, err := s.store.UserByToken(context.Background(), plannroauth.HashToken(token)); {
	case err == nil:
		loc = u.Location
	case !errors.Is(err, plannroauth.ErrNotFound):
		return nil, err
	}
	now := s.now()
	a := plannroauth.Account{Token: token, Location: loc}
	added := make([]Connection, len(conns))
	for i, c := range conns {
		if c.UUID == uuid.Nil {
			c.UUID = uuid.New()
		}
		if c.Provider == "" {
			c.Provider = DefaultProvider
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		if c.UpdatedAt.IsZero() {
			c.UpdatedAt = c.CreatedAt
		}
		// In the formats the API shows, as a fixtures file's are.
		c.CreatedAt = plannroauth.Stamp(c.CreatedAt, loc, time.Time{})
		c.UpdatedAt = plannroauth.Stamp(c.UpdatedAt, loc, c.CreatedAt)
		c.AccessTokenExpiresAt = stampExpiry(c.AccessTokenExpiresAt)
		c.RefreshTokenExpiresAt = stampExpiry(c.RefreshTokenExpiresAt)
		// A test's data keeps to a fixtures file's rules, which are the API's.
		d := c.domain()
		if err := d.Check(loc); err != nil {
			return nil, fmt.Errorf("conns[%d].%w", i, err)
		}
		added[i] = c
		a.Connections = append(a.Connections, d)
	}
	// Fundment comes along, for a server without the default user to know it.
	return added, s.seed(plannroauth.Data{Providers: []plannroauth.Provider{fixtures.Fundment}, Accounts: []plannroauth.Account{a}})
}

// domain is c as a store keeps it, its provider named.
func (c Connection) domain() plannroauth.Connection {
	return plannroauth.Connection{
		UUID:                  c.UUID,
		Provider:              plannroauth.Provider{Name: c.Provider},
		Label:                 c.Label,
		CreatedAt:             c.CreatedAt,
		UpdatedAt:             c.UpdatedAt,
		AccessTokenExpiresAt:  c.AccessTokenExpiresAt,
		RefreshTokenExpiresAt: c.RefreshTokenExpiresAt,
	}
}

// connection is c as a test reads it.
func connection(c plannroauth.Connection) Connection {
	return Connection{
		UUID:                  c.UUID,
		Provider:              c.Provider.Name,
		Label:                 c.Label,
		CreatedAt:             c.CreatedAt,
		UpdatedAt:             c.UpdatedAt,
		AccessTokenExpiresAt:  c.AccessTokenExpiresAt,
		RefreshTokenExpiresAt: c.RefreshTokenExpiresAt,
	}
}

func stampExpiry(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	e := plannroauth.StampExpiry(*t)
	return &e
}

// seed adds d to the store, refusing a connection UUID the store has had.
func (s *Server) seed(d plannroauth.Data) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := map[uuid.UUID]bool{}
	for _, a := range d.Accounts {
		for _, c := range a.Connections {
			if s.seeded[c.UUID] || ids[c.UUID] {
				return fmt.Errorf("connection %s was added before", c.UUID)
			}
			ids[c.UUID] = true
		}
	}
	if err := s.store.Seed(context.Background(), d); err != nil {
		return err
	}
	for id := range ids {
		s.seeded[id] = true
	}
	return nil
}

// Connections returns the connections of the user of token, oldest first, read
// straight from the store, so that a test can check what a request changed
// without trusting the API to report it. An unknown token fails the test.
func (s *Server) Connections(token string) []Connection {
	s.t.Helper()
	ctx := context.Background()
	u, err := s.store.UserByToken(ctx, plannroauth.HashToken(token))
	if err != nil {
		s.t.Fatalf("plannrtest: Connections: no user has token %q", token)
		return nil
	}
	stored, err := s.store.ListConnections(ctx, u.ID)
	if err != nil {
		s.t.Fatalf("plannrtest: Connections: %v", err)
		return nil
	}
	conns := make([]Connection, len(stored))
	for i, c := range stored {
		conns[i] = connection(c)
	}
	return conns
}

// standalone is the reporter of a Server from Start: it keeps the violations
// for Close and panics on a misuse, as there is no test to fail.
type standalone struct {
	mu   sync.Mutex
	errs []error
}

func (*standalone) Helper() {}

func (r *standalone) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

func (*standalone) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (r *standalone) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}
