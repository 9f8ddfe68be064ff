package httpapi

import (
	"context"
	"errors"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// Service implements the API's operations over a store. Requests reach it
// validated and authenticated; a missing connection is a typed 404 response, and
// only the unexpected (a store failure) is returned as an error.
type Service struct {
	store store.Store
}

var _ gen.StrictServerInterface = (*Service)(nil)

var errNoUser = errors.New("httpapi: no authenticated user in the context")

// ListOAuthConnections answers GET /api/v1/oauth/connections.
func (s *Service) ListOAuthConnections(ctx context.Context, _ gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	u, ok := server.PrincipalFrom[store.User](ctx)
	if !ok {
		return nil, errNoUser
	}
	conns, err := s.store.ListConnections(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	list := gen.OAuthConnectionList{Data: make([]gen.OAuthConnection, len(conns))}
	for i, c := range conns {
		list.Data[i] = toAPI(c)
	}
	return gen.ListOAuthConnections200JSONResponse{Body: list}, nil
}

// UpdateOAuthConnection answers PUT /api/v1/oauth/connections/{uuid}.
func (s *Service) UpdateOAuthConnection(ctx context.Context, req gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	u, ok := server.PrincipalFrom[store.User](ctx)
	if !ok {
		return nil, errNoUser
	}
	change := store.LabelUpdate{Keep: !req.Body.Label.IsSpecified()}
	if label, err := req.Body.Label.Get(); err == nil {
		change.Label = &label
	}
	c, err := s.store.UpdateLabel(ctx, u.ID, req.OAuthConnectionUUID, change)
	if errors.Is(err, store.ErrNotFound) {
		return gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
	}
	if err != nil {
		return nil, err
	}
	return gen.UpdateOAuthConnection200JSONResponse{Body: toAPI(c)}, nil
}

// DeleteOAuthConnection answers DELETE /api/v1/oauth/connections/{uuid}.
func (s *Service) DeleteOAuthConnection(ctx context.Context, req gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	u, ok := server.PrincipalFrom[store.User](ctx)
	if !ok {
		return nil, errNoUser
	}
	err := s.store.DeleteConnection(ctx, u.ID, req.OAuthConnectionUUID)
	if errors.Is(err, store.ErrNotFound) {
		return gen.DeleteOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
	}
	if err != nil {
		return nil, err
	}
	return gen.DeleteOAuthConnection204Response{}, nil
}
