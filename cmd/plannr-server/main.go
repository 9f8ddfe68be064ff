// Command plannr-server runs Plannr's OAuth2-connections API: a faithful stand-in
// for the real service, or the start of an implementation of it.
//
// Every flag can also be set through the environment variable named in -h.
//
// Metrics, in Prometheus's text format, are served at /metrics: beside the API
// on -addr, or alone on -metrics-addr. Requests are traced with OpenTelemetry,
// exported over OTLP/HTTP, when OTEL_EXPORTER_OTLP_ENDPOINT is set.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/oapi-codegen/nullable"
	"golang.org/x/net/netutil"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/buildinfo"
	"github.com/plannr-toolkit/plannr-oauth/internal/deadlines"
	"github.com/plannr-toolkit/plannr-oauth/internal/envflag"
	"github.com/plannr-toolkit/plannr-oauth/internal/httpapi"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/postgres"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/sqlite"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// DefaultDemoToken is the demo user's token when -demo-token is not given. It is
// public, so the server refuses it on any address but loopback.
const DefaultDemoToken = "plannr-demo-token"

type config struct {
	addr, db, fixtures, demoToken               string
	rateLimit, maxConns                         int
	rateWindow, requestTimeout, shutdownTimeout time.Duration
	// limits is not a flag: tests shorten it; the zero value means defaultLimits.
	limits limits
	// metricsAddr serves /metrics alone; "" serves it beside the API on addr.
	metricsAddr string
	// version asks for the version on stdout instead of a server.
	version bool
	// store is not a flag: a test's store, in place of the one db opens.
	store store.Store
}

// limits are the http.Server's defences against slow and greedy clients.
type limits struct {
	// readHeader cuts off a client that sends its headers slowly (slowloris), or
	// a connection that sends nothing at all.
	readHeader time.Duration
	// read bounds the whole request, so a body sent slowly cannot hold a
	// connection for longer.
	read  time.Duration
	write time.Duration
	// idle closes a kept-alive connection that sends no next request.
	idle           time.Duration
	maxHeaderBytes int
}

// precision is how late the timeouts may cut a connection off: a tenth of
// the shortest (internal/deadlines enforces them, cheaper than a runtime timer
// re-armed at each of the eight moves net/http makes a request); 0 when
// there is none.
func (l limits) precision() time.Duration {
	shortest := time.Duration(0)
	for _, d := range []time.Duration{l.readHeader, l.read, l.write, l.idle} {
		if d > 0 && (shortest == 0 || d < shortest) {
			shortest = d
		}
	}
	if shortest == 0 {
		return 0
	}
	return max(shortest/10, time.Millisecond)
}

var defaultLimits = limits{
	readHeader:     5 * time.Second,
	read:           15 * time.Second,
	write:          30 * time.Second,
	idle:           60 * time.Second,
	maxHeaderBytes: httpapi.MaxHeaderBytes,
}

// DefaultMaxConns bounds the connections served at once, so that a flood of
// them cannot use up the process's file descriptors (SQLite needs some too).
const DefaultMaxConns = 1024

func main() {
	// A write to stderr whose reader is gone (| head) fails with EPIPE, which
	// the log survives (logWriter); unless SIGPIPE is handled, Go kills the
	// process instead.
	signal.Ignore(syscall.SIGPIPE)
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2) // a usage error, which parseFlags told
	}
	if cfg.version {
		// The version is all it prints: a write that failed (a full disk,
		// /dev/full) is told, and is a failure, as coreutils' is.
		if _, err := fmt.Println("plannr-server", buildinfo.Read()); err != nil {
			fmt.Fprintln(os.Stderr, "plannr-server: could not write the output:", err)
			os.Exit(1)
		}
		return
	}
	tuneGC(os.Getenv)
	logs := newLogWriter(os.Stderr, logFlushInterval)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg, os.Stdout, slog.New(newLogHandler(logs)))
	stop()
	logs.Close() // before the error below, which would otherwise come first
	if err != nil {
		fmt.Fprintln(os.Stderr, "plannr-server:", err)
		os.Exit(1)
	}
}

// defaultGOGC is the collector's target (runtime/debug.SetGCPercent) unless
// the environment sets GOGC or GOMEMLIMIT. A request leaves only garbage
// behind and the live heap is small, so a larger target buys throughput for a
// few megabytes; BENCHMARKS.md has the measurement behind the value.
const defaultGOGC = 400

// tuneGC sets defaultGOGC, unless the environment chose the collector's
// settings itself.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
}

// flagSet defines the server's flags on cfg, and names the environment
// variable of each flag that has one.
func flagSet(cfg *config) (fs *flag.FlagSet, env envflag.Vars) {
	fs = flag.NewFlagSet("plannr-server", flag.ContinueOnError)
	env = envflag.Vars{}
	str := func(p *string, name, envName, value, usage string) {
		fs.StringVar(p, name, value, usage)
		env[name] = envName
	}
	str(&cfg.addr, "addr", "PLANNR_ADDR", "127.0.0.1:8080", "listen address")
	str(&cfg.db, "db", "PLANNR_DB", "plannr.db", "SQLite database file, :memory: for a throwaway server, or "+
		"a postgres:// URL, which replicas share along with the rate limit (pool size: its pool_max_conns parameter)")
	str(&cfg.fixtures, "fixtures", "PLANNR_FIXTURES", "", "JSON file of users and connections to add at start (never overwrites)")
	str(&cfg.demoToken, "demo-token", "PLANNR_DEMO_TOKEN", DefaultDemoToken, "token of the demo user seeded into an empty database without -fixtures")
	str(&cfg.metricsAddr, "metrics-addr", "PLANNR_METRICS_ADDR", "", "address to serve /metrics on, apart from the API; empty serves /metrics on -addr, beside the API")
	fs.IntVar(&cfg.rateLimit, "rate-limit", server.DefaultRateLimit, "requests per -rate-window per user; 0 turns rate limiting off")
	env["rate-limit"] = "PLANNR_RATE_LIMIT"
	fs.DurationVar(&cfg.rateWindow, "rate-window", server.DefaultRateWindow, "the rate limit's window, which opens with a user's first request; must be positive")
	env["rate-window"] = "PLANNR_RATE_WINDOW"
	fs.IntVar(&cfg.maxConns, "max-conns", DefaultMaxConns, fmt.Sprintf("connections served at once; more wait in the listen backlog "+
		"until one closes (a silent one is closed after %s, an idle kept-alive one after %s); 0 means no limit",
		defaultLimits.readHeader, defaultLimits.idle))
	env["max-conns"] = "PLANNR_MAX_CONNS"
	// Well under the write timeout, so that the client gets the 503.
	fs.DurationVar(&cfg.requestTimeout, "request-timeout", server.DefaultTimeout, "how long an API request may wait on the database before it is answered 503; 0 for no bound")
	env["request-timeout"] = "PLANNR_REQUEST_TIMEOUT"
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight requests may take to finish on SIGINT/SIGTERM")
	env["shutdown-timeout"] = "PLANNR_SHUTDOWN_TIMEOUT"
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	env.Describe(fs)
	return fs, env
}

// parseFlags reads the server's configuration from the command line and the
// environment. A usage error is told on out once, by the flag package or
// here, and returned.
func parseFlags(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var cfg config
	fs, env := flagSet(&cfg)
	fs.SetOutput(out)
	if err := fs.Parse(args); err != nil {
		return cfg, err // told, with the usage
	}
	// As -h does, whatever the environment holds: a deployment's broken
	// variable must not hide which binary it runs.
	if cfg.version {
		return cfg, nil
	}
	err := env.Apply(fs, getenv)
	if err == nil {
		err = check(cfg, fs.Args())
	}
	if err != nil {
		fmt.Fprintf(out, "plannr-server: %v\nRun 'plannr-server -h' for usage.\n", err)
	}
	return cfg, err
}

// check refuses a configuration the flags' types let through, and the
// arguments after the flags, of which the server takes none.
func check(cfg config, args []string) error {
	_, dbErr := kindOfDB(cfg.db)
	switch {
	case len(args) > 0:
		return fmt.Errorf("unexpected arguments: %v", args)
	case dbErr != nil:
		return dbErr
	case !plannroauth.ValidToken(cfg.demoToken):
		return fmt.Errorf("-demo-token: %w", plannroauth.ErrInvalidToken)
	case cfg.requestTimeout < 0:
		return fmt.Errorf("-request-timeout must not be negative, not %s", cfg.requestTimeout)
	case cfg.shutdownTimeout < 0:
		return fmt.Errorf("-shutdown-timeout must not be negative, not %s", cfg.shutdownTimeout)
	case cfg.maxConns < 0:
		return fmt.Errorf("-max-conns must be 0 or more, not %d", cfg.maxConns)
	case cfg.rateLimit < 0 || cfg.rateWindow <= 0:
		return fmt.Errorf("-rate-limit must be 0 or more and -rate-window positive, not %d and %s", cfg.rateLimit, cfg.rateWindow)
	}
	if err := checkAddr("-addr", cfg.addr); err != nil {
		return err
	}
	if cfg.metricsAddr != "" { // "": beside the API
		return checkAddr("-metrics-addr", cfg.metricsAddr)
	}
	return nil
}

// checkAddr refuses a listen address without a port, or with one that is
// none, which net.Listen would refuse only once the start is logged, and an
// empty one, on which it would listen on every interface at a random port.
func checkAddr(flagName, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		return fmt.Errorf("%s %q is not host:port, such as 127.0.0.1:8080: %w", flagName, addr, err)
	}
	return nil
}

// run serves until ctx is cancelled, then lets in-flight requests finish.
func run(ctx context.Context, cfg config, stdout io.Writer, log *slog.Logger) error {
	bi := buildinfo.Read()
	// First, so that every log of a run says what ran.
	log.Info("plannr-server starting", "version", bi.Version, "revision", bi.Revision, "modified", bi.Modified, "go", bi.GoVersion)
	ln, err := net.Listen("tcp", cfg.addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w: another program listens there; choose another address with -addr or PLANNR_ADDR", err)
	}
	if err != nil {
		return err
	}
	defer ln.Close()
	loopback := isLoopback(ln.Addr())

	st := cfg.store
	if st == nil {
		if st, err = openStore(ctx, cfg.db, log); err != nil {
			return err
		}
	}
	// The store is closed last, and once the server has no request left
	// that may use it (server.Server.Close), not even one that
	// -shutdown-timeout cut off.
	closeStore := st.Close
	defer func() { _ = closeStore() }()
	demo, err := seed(ctx, st, cfg, loopback)
	if err != nil {
		return err
	}

	if cfg.limits == (limits{}) {
		cfg.limits = defaultLimits
	}
	reg, metricsOpts, metricsSrv, err := startMetrics(cfg, stdout, log)
	if err != nil {
		return err
	}
	if metricsSrv != nil {
		defer metricsSrv.Close()
	}
	if pg, ok := st.(*postgres.Store); ok {
		reg.MustRegister(pg.Collector())
	}
	opts := append(metricsOpts, server.WithLogger(log), server.WithDocs(), rateLimit(st, cfg), server.WithTimeout(cfg.requestTimeout))
	if cfg.requestTimeout == 0 {
		opts = append(opts, server.WithoutTimeout())
	}
	h, err := httpapi.NewHandler(httpapi.Config{Store: st, Metrics: reg, Options: opts})
	if err != nil {
		return err
	}
	closeStore = func() error {
		h.Close()
		return st.Close()
	}
	handler, stopTracing, err := traced(ctx, h, log, cfg.shutdownTimeout)
	if err != nil {
		return err
	}
	defer stopTracing()
	// Requests still running on the way out (-shutdown-timeout is up) are
	// cut off: their connections are closed unanswered (the operations are
	// idempotent: a client may retry), then their contexts end, and the
	// store waits for them (h.Close). In that order, so that none is sent
	// the empty 200 of a handler that gives up without writing.
	requests, cutOff := context.WithCancel(context.Background())
	defer cutOff()
	srv := newHTTPServer(handler, log, cfg.limits)
	srv.BaseContext = func(net.Listener) context.Context { return requests }
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "plannr-server listening on %s (API reference: %s/docs/)\n", base, base)
	if demo {
		fmt.Fprintf(stdout, "Demo user token: %s", cfg.demoToken)
		if _, ok := st.(*postgres.Store); ok {
			// Not the URL, which may hold the password.
			fmt.Fprint(stdout, " (the PostgreSQL database keeps every change: to start over, stop every replica, then drop the database and create it again)")
		} else if cfg.db != ":memory:" {
			fmt.Fprintf(stdout, " (%s keeps every change: to start over, stop the server and delete it)", cfg.db)
		}
		try, err := demoCurl(base, cfg.demoToken)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nTry:\n  %s\n", try)
	}

	if p := cfg.limits.precision(); p > 0 {
		ln = deadlines.Listen(ln, p)
	}
	if cfg.maxConns > 0 {
		ln = netutil.LimitListener(ln, cfg.maxConns)
	}
	// Outermost, where net/http writes its own errors: in JSON too, logged
	// and counted by h as its other answers are.
	ln = h.Listener(ln)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.shutdownTimeout)
	h.Drain() // a load balancer polling /readyz stops sending new requests
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err = srv.Shutdown(shutdownCtx); err != nil {
		err = fmt.Errorf("-shutdown-timeout (%s) is up: the requests still running are cut off, unanswered: %w", cfg.shutdownTimeout, err)
	}
	if metricsSrv != nil {
		// Last, so that the draining is seen to the end.
		err = errors.Join(err, metricsSrv.Shutdown(shutdownCtx))
	}
	return err
}

// newHTTPServer is the http.Server run serves h with, bounded by l.
func newHTTPServer(h http.Handler, log *slog.Logger, l limits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
		// A larger header block is answered 431 by net/http itself.
		MaxHeaderBytes: l.maxHeaderBytes,
		// OPTIONS * goes to h too, which answers it as it answers every request.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// dbKind is the store -db names.
type dbKind int

const (
	sqliteFile dbKind = iota
	inMemory
	postgresURL
)

var (
	// libpq's other form of a connection string: keyword = value ...
	keywordValue = regexp.MustCompile(`^\s*[A-Za-z_]+\s*=`)
	// A URL's scheme (RFC 3986), followed by an authority.
	urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)
)

// kindOfDB reads -db. A libpq key=value string or a URL of another scheme is
// refused rather than taken for a SQLite file's name, which run would then
// create and print, password and all; its errors quote nothing of db but
// the scheme.
func kindOfDB(db string) (dbKind, error) {
	switch {
	case db == ":memory:":
		return inMemory, nil
	case postgres.IsURL(db):
		return postgresURL, nil
	case keywordValue.MatchString(db):
		return 0, errors.New("-db: a libpq key=value connection string is not taken (nor printed here: it may hold a password); " +
			"write it as a postgres:// URL, or a SQLite file whose name has an = as ./NAME")
	}
	if m := urlScheme.FindStringSubmatch(db); m != nil {
		return 0, fmt.Errorf("-db: a URL of scheme %q is not taken: only postgres:// and postgresql:// are", m[1])
	}
	return sqliteFile, nil
}

func openStore(ctx context.Context, db string, log *slog.Logger) (store.Store, error) {
	kind, err := kindOfDB(db)
	switch {
	case err != nil:
		return nil, err
	case kind == inMemory:
		return memory.New(), nil
	case kind == postgresURL:
		pg, err := postgres.Open(ctx, db)
		if err == nil {
			log.Info("PostgreSQL schema up to date", "migrations_applied", pg.Migrated())
		}
		return pg, err
	}
	return sqlite.Open(ctx, db)
}

// rateLimit is the server's rate limiting: none with -rate-limit 0; the
// replicas' shared limiter in st's PostgreSQL database; on memory and
// SQLite, where one process is the whole server, the kit's in-process one.
func rateLimit(st store.Store, cfg config) server.Option {
	if cfg.rateLimit == 0 {
		return server.WithoutRateLimit()
	}
	if pg, ok := st.(*postgres.Store); ok {
		return server.WithRateLimiter(sharedLimiter{db: pg, limit: cfg.rateLimit, window: cfg.rateWindow})
	}
	return server.WithRateLimiter(server.NewFixedWindow(cfg.rateLimit, cfg.rateWindow))
}

// seed loads the fixtures, or the demo user into an empty store, and reports
// whether the demo user is there to advertise. Off loopback it refuses the
// public default token, whatever brought it in: the fixtures, the demo, or an
// earlier run on the same database.
func seed(ctx context.Context, st store.Store, cfg config, loopback bool) (demo bool, err error) {
	if cfg.fixtures != "" {
		d, err := fixtures.Load(cfg.fixtures)
		if err == nil {
			err = st.Seed(ctx, *d)
		}
		if err != nil {
			return false, err
		}
	} else {
		empty, err := st.Empty(ctx)
		if err != nil {
			return false, err
		}
		if empty {
			if !loopback && cfg.demoToken == DefaultDemoToken {
				// Never written to the database, unlike a fixtures file's.
				return false, errors.New("refusing to seed the demo user with the public default token on a non-loopback address: pass -demo-token or -fixtures")
			}
			if err := st.Seed(ctx, *fixtures.Demo(cfg.demoToken)); err != nil {
				return false, err
			}
		}
		// Advertised on every start while the demo user is there, not only the first.
		_, err = st.UserByToken(ctx, plannroauth.HashToken(cfg.demoToken))
		demo = err == nil
	}
	if !loopback {
		if _, err := st.UserByToken(ctx, plannroauth.HashToken(DefaultDemoToken)); err == nil {
			return false, fmt.Errorf("a user has the demo token %q, which is public: listen on a loopback address, or remove that user", DefaultDemoToken)
		}
	}
	return demo, nil
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// demoCurl relabels the demo user's connection, the one of Plannr's example,
// with the request the generated client sends: its method, URL, Content-Type
// and body.
func demoCurl(base, token string) (string, error) {
	id := fixtures.Demo(token).Accounts[0].Connections[0].UUID
	req, err := gen.NewUpdateOAuthConnectionRequest(base, id, gen.UpdateOAuthConnectionJSONRequestBody{
		Label: nullable.NewNullableWithValue("My Fundment Account 2"),
	})
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return "", err
	}
	return "curl --request " + req.Method + " '" + req.URL.String() + "' " +
		`--header "Authorization: Bearer ` + token + `" --header "Accept: application/json" ` +
		`--header "Content-Type: ` + req.Header.Get("Content-Type") + `" --data '` + string(body) + `'`, nil
}
