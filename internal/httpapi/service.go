// Package httpapi is this module's implementation of the API: Service, the
// operations over a store, served by the public server kit (package server)
// with the store's users as its callers. cmd/plannr-server and plannrtest both
// serve NewHandler's handler.
package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/nilcheck"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storemetrics"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// MaxHeaderBytes is the http.Server's MaxHeaderBytes for the handler: a
// larger header block is answered 431 by net/http, before the handler runs
// (net/http allows 4 KiB on top). It is here so that plannrtest answers as
// cmd/plannr-server does.
const MaxHeaderBytes = 16 << 10

// Config is what NewHandler needs; only Store is required, and must not be
// a nil pointer either.
type Config struct {
	Store store.Store
	// Now is the clock of updated_at; nil means time.Now.
	Now func() time.Time
	// Metrics, if not nil, gets the server's metrics (server.WithMetrics) and
	// those of every call of Store (storemetrics.Instrument). Serving them is
	// the caller's part. A nil pointer in it (a (*prometheus.Registry)(nil))
	// fails NewHandler.
	Metrics prometheus.Registerer
	// Options configure the server kit (rate limit, logger, pages, ...); they
	// come after NewHandler's own, authentication and readiness by Store.
	Options []server.Option
}

// NewHandler returns the server of the API over cfg.Store.
func NewHandler(cfg Config) (*server.Server, error) {
	if err := nilcheck.Error("Config.Store", cfg.Store); err != nil {
		return nil, fmt.Errorf("httpapi: %w: it is required", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics != nil {
		if err := nilcheck.Error("Config.Metrics", cfg.Metrics); err != nil {
			return nil, fmt.Errorf("httpapi: %w: nil means no metrics", err)
		}
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
// domain's rule of an update, run by the store inside its write. The clock is
// read before the write, as Laravel stamps a model before its UPDATE, so that
// a busy row's writers do not wait on one another's clock reads (BENCHMARKS.md,
// round six); Stamp still keeps a write that waited behind a later one from
// stamping updated_at back.
func (s *Service) UpdateOAuthConnection(ctx context.Context, req gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	u, ok := server.PrincipalFrom[plannroauth.User](ctx)
	if !ok {
		return nil, errNoUser
	}
	change := plannroauth.LabelChange{Keep: !req.Body.Label.IsSpecified()}
	if label, err := req.Body.Label.Get(); err == nil {
		change.Label = &label
	}
	now := s.now()
	c, err := s.store.UpdateConnection(ctx, u.ID, req.OAuthConnectionUUID, func(c *plannroauth.Connection) {
		c.Update(change, now, u.Location)
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

// The answers.

// The 200 answers are written here rather than by the generated Visit methods.
// Those would take the connection as the generated gen.OAuthConnection, whose
// nullable.Nullable fields are maps (two allocations each), and encode it with a
// new json.Encoder into a new bytes.Buffer, through Nullable's MarshalJSON (a
// json.Marshal each) and time.Time's: about thirty allocations a connection.
// Here the stored connection is appended to a pooled buffer as exactly the
// bytes encoding/json writes for the generated type: encode_test.go holds the
// two to that, header and status too, and fails when the spec gives
// OAuthConnection a field that appendConnection does not write.

// connectionResponse is the 200 of an update.
type connectionResponse plannroauth.Connection

func (c connectionResponse) VisitUpdateOAuthConnectionResponse(w http.ResponseWriter) error {
	return writeJSON(w, func(b []byte) ([]byte, error) {
		return appendConnection(b, (*plannroauth.Connection)(&c))
	})
}

// connectionListResponse is the 200 of a list.
type connectionListResponse []plannroauth.Connection

func (l connectionListResponse) VisitListOAuthConnectionsResponse(w http.ResponseWriter) error {
	return writeJSON(w, func(b []byte) ([]byte, error) {
		b = append(b, `{"data":[`...)
		for i := range l {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendConnection(b, &l[i]); err != nil {
				return nil, err
			}
		}
		return append(b, "]}"...), nil
	})
}

var buffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer kept for the next response: a rare huge list
// must not pin its memory for good.
const maxPooled = 64 << 10

// jsonType is the Content-Type of every 200, shared as observe shares its
// headers' values.
var jsonType = []string{"application/json"}

// writeJSON answers 200 with what encode appends, and a newline, as the
// generated Visit methods do. If encode fails nothing is written, so that the
// caller can still answer 500.
func writeJSON(w http.ResponseWriter, encode func([]byte) ([]byte, error)) error {
	p := buffers.Get().(*[]byte)
	b, err := encode((*p)[:0])
	if err == nil {
		w.Header()["Content-Type"] = jsonType
		w.WriteHeader(http.StatusOK)
		_, err = w.Write(append(b, '\n'))
	}
	if cap(b) <= maxPooled {
		*p = b
		buffers.Put(p)
	}
	return err
}

// appendConnection writes c as the spec's OAuthConnection, with the generated
// struct's fields in their order: a missing label or expiry is null, the
// timestamps as the domain writes them, and the refresh URL as
// c.RefreshAuthorizationURL says, in pieces.
func appendConnection(b []byte, c *plannroauth.Connection) ([]byte, error) {
	var err error
	b = append(b, `{"access_token_expires_at":`...)
	if b, err = appendExpiry(b, c.AccessTokenExpiresAt); err != nil {
		return nil, err
	}
	b = append(b, `,"created_at":`...)
	if b, err = appendTime(b, c.CreatedAt, plannroauth.AppendTimestamp); err != nil {
		return nil, err
	}
	b = append(b, `,"label":`...)
	if c.Label == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *c.Label)
	}
	b = append(b, `,"provider":{"authorization_url":`...)
	b = appendString(b, c.Provider.AuthorizationURL)
	b = append(b, `,"label":`...)
	b = appendString(b, c.Provider.Label)
	b = append(b, `,"logo_url":`...)
	b = appendString(b, c.Provider.LogoURL)
	b = append(b, `,"name":`...)
	b = appendString(b, c.Provider.Name)
	b = append(b, `},"refresh_authorization_url":"`...)
	b = appendEscaped(b, c.Provider.AuthorizationURL)
	b = append(b, '/')
	b = appendUUID(b, c.UUID)
	b = append(b, `","refresh_token_expires_at":`...)
	if b, err = appendExpiry(b, c.RefreshTokenExpiresAt); err != nil {
		return nil, err
	}
	b = append(b, `,"updated_at":`...)
	if b, err = appendTime(b, c.UpdatedAt, plannroauth.AppendTimestamp); err != nil {
		return nil, err
	}
	b = append(b, `,"uuid":"`...)
	b = appendUUID(b, c.UUID)
	return append(b, `"}`...), nil
}

// appendExpiry writes an expiry as the API does (plannroauth.AppendExpiry),
// or null for one that never comes.
func appendExpiry(b []byte, t *time.Time) ([]byte, error) {
	if t == nil {
		return append(b, "null"...), nil
	}
	return appendTime(b, t.UTC(), plannroauth.AppendExpiry) // checked as written
}

// appendTime writes t quoted, as format appends it, and fails where the
// generated types' MarshalJSON fails: a year RFC 3339 cannot write.
func appendTime(b []byte, t time.Time, format func([]byte, time.Time) []byte) ([]byte, error) {
	if !plannroauth.Writable(t) {
		return nil, errors.New("timestamp: year outside of range [0,9999]")
	}
	return append(format(append(b, '"'), t), '"'), nil
}

// appendUUID writes what uuid.UUID's String does, which needs no escaping.
func appendUUID(b []byte, u uuid.UUID) []byte {
	for i, part := range [][]byte{u[:4], u[4:6], u[6:8], u[8:10], u[10:]} {
		if i > 0 {
			b = append(b, '-')
		}
		b = hex.AppendEncode(b, part)
	}
	return b
}

// appendString quotes s as encoding/json does by default.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped writes s escaped as encoding/json escapes a string: <, > and &
// for HTML, control characters, invalid UTF-8 as U+FFFD, U+2028 and U+2029.
// A string escaped in pieces is the whole escaped, provided no piece splits a
// UTF-8 sequence.
func appendEscaped(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}
