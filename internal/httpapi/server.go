// Package httpapi is this module's implementation of the API: Service, the
// operations over a store, served by the public server kit (package server)
// with the store's users as its callers. cmd/plannr-server and plannrtest both
// serve NewHandler's handler.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storemetrics"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// Config is what NewHandler needs; only Store is required.
type Config struct {
	Store store.Store
	// RateLimit is the number of requests a user may make per RateWindow; 0
	// turns rate limiting off. Plannr's is server.DefaultRateLimit.
	RateLimit int
	// RateWindow is the rate limit's window; 0 means server.DefaultRateWindow.
	RateWindow time.Duration
	// RateLimiter, if not nil, counts requests in place of an in-process
	// fixed window of RateLimit per RateWindow (a limiter shared by replicas).
	RateLimiter server.RateLimiter
	// MaxBody is the largest request body accepted, in bytes (server.DefaultMaxBody if 0).
	MaxBody int64
	// Logger gets one line per request (slog.Default() if nil).
	Logger *slog.Logger
	// Docs serves Swagger UI at /docs/.
	Docs bool
	// Metrics, if not nil, gets the server's metrics (server.WithMetrics) and
	// those of every call of Store (storemetrics.Instrument). Serving them is
	// the caller's part.
	Metrics prometheus.Registerer
	// Options come after those of the fields above.
	Options []server.Option
}

// NewHandler returns the server of the API over cfg.Store.
func NewHandler(cfg Config) (*server.Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("httpapi: Config.Store is required")
	}
	if cfg.Metrics != nil {
		st, err := storemetrics.Instrument(cfg.Store, cfg.Metrics)
		if err != nil {
			return nil, fmt.Errorf("httpapi: %w", err)
		}
		cfg.Store = st
	}
	opts := []server.Option{
		server.WithAuth(authFunc(cfg.Store)),
		server.WithReadiness(cfg.Store.Ready),
		server.WithRateLimiter(nil), // unless one of the cases below
		server.WithMetrics(cfg.Metrics),
	}
	switch {
	case cfg.RateLimiter != nil:
		opts = append(opts, server.WithRateLimiter(cfg.RateLimiter))
	case cfg.RateLimit > 0:
		window := cfg.RateWindow
		if window == 0 {
			window = server.DefaultRateWindow
		}
		opts = append(opts, server.WithRateLimiter(server.NewFixedWindow(cfg.RateLimit, window)))
	case cfg.RateLimit < 0:
		return nil, fmt.Errorf("httpapi: negative RateLimit %d", cfg.RateLimit)
	}
	if cfg.MaxBody != 0 {
		opts = append(opts, server.WithMaxBody(cfg.MaxBody))
	}
	if cfg.Logger != nil {
		opts = append(opts, server.WithLogger(cfg.Logger))
	}
	if cfg.Docs {
		opts = append(opts, server.WithDocs())
	}
	return server.New(&Service{store: cfg.Store}, append(opts, cfg.Options...)...)
}

// authFunc authenticates a token against the store's users: the caller's
// Principal is its store.User, and its rate-limit key the user's ID.
func authFunc(st store.Store) server.AuthFunc {
	return func(ctx context.Context, token string) (server.Identity, error) {
		u, err := st.UserByToken(ctx, store.HashToken(token))
		switch {
		case errors.Is(err, store.ErrNotFound):
			return server.Identity{}, server.ErrUnauthenticated
		case err != nil:
			return server.Identity{}, err
		}
		return server.Identity{ID: strconv.FormatInt(int64(u.ID), 10), Principal: u}, nil
	}
}
