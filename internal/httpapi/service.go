// Package httpapi is this module's implementation of the API: Service, the
// operations over a store, served by the public server kit (package server)
// with the store's users as its callers. cmd/plannr-server and plannrtest both
// serve NewHandler's handler.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storemetrics"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// Config is what NewHandler needs; only Store is required.
type Config struct {
	Store store.Store
	// Now is the clock of updated_at; nil means time.Now.
	Now func() time.Time
	// Metrics, if not nil, gets the server's metrics (server.WithMetrics) and
	// those of every call of Store (storemetrics.Instrument). Serving them is
	// the caller's part.
	Metrics prometheus.Registerer
	// Options configure the server kit (rate limit, logger, pages, ...); they
	// come after NewHandler's own, authentication and readiness by Store.
	Options []server.Option
}

// NewHandler returns the server of the API over cfg.Store.
func NewHandler(cfg Config) (*server.Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("httpapi: Config.Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
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
		server.WithMetrics(cfg.Metrics),
	}
	return server.New(&Service{store: cfg.Store, now: cfg.Now}, append(opts, cfg.Options...)...)
}

// authFunc authenticates a token against the store's users: the caller's
// Principal is its plannroauth.User, and its rate-limit key the user's ID.
func authFunc(st store.Store) server.AuthFunc {
	return func(ctx context.Context, token string) (server.Identity, error) {
		u, err := st.UserByToken(ctx, plannroauth.HashToken(token))
		switch {
		case errors.Is(err, plannroauth.ErrNotFound):
			return server.Identity{}, server.ErrUnauthenticated
		case err != nil:
			return server.Identity{}, err
		}
		return server.Identity{ID: strconv.FormatInt(int64(u.ID), 10), Principal: u}, nil
	}
}

// Service implements the API's operations over a store. Requests reach it
// validated and authenticated; a missing connection is a typed 404 response, and
// only the unexpected (a store failure) is returned as an error.
type Service struct {
	store store.Store
	now   func() time.Time
}

var _ gen.StrictServerInterface = (*Service)(nil)

var errNoUser = errors.New("httpapi: no authenticated user in the context")

// ListOAuthConnections answers GET /api/v1/oauth/connections.
func (s *Service) ListOAuthConnections(ctx context.Context, _ gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	u, ok := server.PrincipalFrom[plannroauth.User](ctx)
	if !ok {
		return nil, errNoUser
	}
	conns, err := s.store.ListConnections(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return connectionListResponse(conns), nil
}

// UpdateOAuthConnection answers PUT /api/v1/oauth/connections/{uuid}: the
// domain's rule of an update, run by the store inside its write, with the
// clock read there too, so that writes are stamped in the order they are made.
func (s *Service) UpdateOAuthConnection(ctx context.Context, req gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	u, ok := server.PrincipalFrom[plannroauth.User](ctx)
	if !ok {
		return nil, errNoUser
	}
	change := plannroauth.LabelChange{Keep: !req.Body.Label.IsSpecified()}
	if label, err := req.Body.Label.Get(); err == nil {
		change.Label = &label
	}
	c, err := s.store.UpdateConnection(ctx, u.ID, req.OAuthConnectionUUID, func(c *plannroauth.Connection) {
		c.Update(change, s.now(), u.Location)
	})
	if errors.Is(err, plannroauth.ErrNotFound) {
		return gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
	}
	if err != nil {
		return nil, err
	}
	return connectionResponse(c), nil
}

// DeleteOAuthConnection answers DELETE /api/v1/oauth/connections/{uuid}.
func (s *Service) DeleteOAuthConnection(ctx context.Context, req gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	u, ok := server.PrincipalFrom[plannroauth.User](ctx)
	if !ok {
		return nil, errNoUser
	}
	err := s.store.DeleteConnection(ctx, u.ID, req.OAuthConnectionUUID)
	if errors.Is(err, plannroauth.ErrNotFound) {
		return gen.DeleteOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
	}
	if err != nil {
		return nil, err
	}
	return gen.DeleteOAuthConnection204Response{}, nil
}
