// Package httpapi assembles the HTTP server: one path for every API request,
//
//	log and recover -> route (404, 405) -> auth (401) -> rate limit (429)
//	  -> validation (400, 413, 415, 422, 404 for a malformed UUID)
//	  -> generated strict handler -> Service -> store
//
// and every error on the way is rendered by package apierror.
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/api"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/auth"
	"github.com/plannr-toolkit/plannr-oauth/internal/ratelimit"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// Defaults, as Plannr's.
const (
	DefaultRateLimit  = 500
	DefaultRateWindow = time.Minute
	DefaultMaxBody    = 64 << 10
)

// Config is what NewHandler needs; only Store is required.
type Config struct {
	Store store.Store
	// RateLimit is the number of requests a user may make per RateWindow
	// (DefaultRateLimit if 0; negative disables rate limiting).
	RateLimit  int
	RateWindow time.Duration
	// MaxBody is the largest request body accepted, in bytes (DefaultMaxBody if 0).
	MaxBody int64
	// Logger gets one line per request (slog.Default() if nil).
	Logger *slog.Logger
	// Docs, if not nil, serves the API reference under /docs.
	Docs http.Handler
}

// Handler is the whole server: the API, /healthz, /openapi.yaml and /docs.
type Handler struct {
	http.Handler
	// Validator is the spec the server enforces.
	Validator *validation.Validator
	extra     func(path string) http.Handler
}

// NewHandler builds the server's handler from cfg.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("httpapi: Config.Store is required")
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = DefaultRateWindow
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	doc, err := gen.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("httpapi: embedded spec: %w", err)
	}
	v := validation.New(doc, cfg.MaxBody, func(ctx context.Context) bool {
		_, ok := auth.UserFrom(ctx)
		return ok
	})

	strict := gen.NewStrictHandlerWithOptions(&Service{store: cfg.Store}, nil, gen.StrictHTTPServerOptions{
		// The validator has checked the body, so a decoding failure here is a
		// body the schema allows and Go cannot hold: still the client's error.
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			apierror.Write(w, r, apierror.New(http.StatusBadRequest, "The request body is not valid JSON."))
		},
		ResponseErrorHandlerFunc: apierror.Write,
	})
	var apiHandler http.Handler = gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		// Parameters were validated already; a binding failure is a malformed UUID.
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			apierror.Write(w, r, apierror.NotFound)
		},
	})
	apiHandler = v.Request(apiHandler)
	if cfg.RateLimit > 0 {
		apiHandler = ratelimit.Middleware(server.NewFixedWindow(cfg.RateLimit, cfg.RateWindow), apiHandler)
	}
	apiHandler = auth.Middleware(cfg.Store, apiHandler)
	apiHandler = v.Route(apiHandler)

	extras := map[string]http.Handler{
		"/healthz": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
		}),
		"/openapi.yaml": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write(api.Spec)
		}),
	}
	var docs http.Handler
	if cfg.Docs != nil {
		docs = jsonErrors(cfg.Docs)
	}
	extra := func(path string) http.Handler {
		if docs != nil && (path == "/docs" || strings.HasPrefix(path, "/docs/")) {
			return docs
		}
		return extras[path]
	}
	// The route of a log line: never the raw path of an unknown URL, which
	// may hold anything a client put there.
	routeOf := func(r *http.Request) string {
		if t := v.Template(r); t != "" {
			return t
		}
		if extra(r.URL.Path) != nil {
			return r.URL.Path
		}
		return "unmatched"
	}
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := extra(r.URL.Path)
		switch {
		case h == nil:
			// The API's own router answers 404 and 405 in JSON.
			apiHandler.ServeHTTP(w, r)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			e := apierror.New(http.StatusMethodNotAllowed, "This method is not supported for this route. Supported methods: GET, HEAD.")
			e.Header = http.Header{"Allow": {"GET, HEAD"}}
			apierror.Write(w, r, e)
		default:
			h.ServeHTTP(w, r)
		}
	})
	return &Handler{Handler: observe(cfg.Logger, routeOf, root), Validator: v, extra: extra}, nil
}
