package httpapi

import (
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
)

// toAPI is the reference appendConnection is held to: a stored connection as
// the spec's generated OAuthConnection, which encoding/json then encodes as the
// generated Visit methods would.
func toAPI(c store.Connection) gen.OAuthConnection {
	refresh := c.Provider.AuthorizationURL + "/" + c.UUID.String()
	api := gen.OAuthConnection{
		UUID:      c.UUID,
		CreatedAt: c.CreatedAt,
		UpdatedAt: c.UpdatedAt,
		Provider: gen.OAuthProvider{
			Name:             c.Provider.Name,
			Label:            c.Provider.Label,
			LogoURL:          c.Provider.LogoURL,
			AuthorizationURL: c.Provider.AuthorizationURL,
		},
		AccessTokenExpiresAt:    nullable.NewNullNullable[time.Time](),
		RefreshTokenExpiresAt:   nullable.NewNullNullable[time.Time](),
		RefreshAuthorizationURL: &refresh,
		Label:                   nullable.NewNullNullable[string](),
	}
	if c.AccessTokenExpiresAt != nil {
		api.AccessTokenExpiresAt.Set(c.AccessTokenExpiresAt.UTC())
	}
	if c.RefreshTokenExpiresAt != nil {
		api.RefreshTokenExpiresAt.Set(c.RefreshTokenExpiresAt.UTC())
	}
	if c.Label != nil {
		api.Label.Set(*c.Label)
	}
	return api
}

