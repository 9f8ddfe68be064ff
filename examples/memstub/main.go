// Command memstub is the whole API over a map, in one file: what an
// implementer writes on top of package server. It has the three operations and
// a token lookup; every 4xx, header and error body comes from the kit.
//
//	go run ./examples/memstub -addr 127.0.0.1:8081 -fixtures fixtures/testdata/example.json
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/oapi-codegen/nullable"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// stub implements gen.StrictServerInterface over users keyed by the hash of
// their token, so that the map holds no working token.
type stub struct {
	mu    sync.Mutex
	users map[[sha256.Size]byte]*user
}

// user is an account: its time zone and its connections, oldest first.
type user struct {
	loc   *time.Location
	conns []gen.OAuthConnection
}

func (s *stub) authenticate(_ context.Context, token string) (server.Identity, error) {
	h := sha256.Sum256([]byte(token))
	if u, ok := s.users[h]; ok { // the map is never written after start
		return server.Identity{ID: string(h[:]), Principal: u}, nil
	}
	return server.Identity{}, server.ErrUnauthenticated
}

func (s *stub) ListOAuthConnections(ctx context.Context, _ gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	u, _ := server.PrincipalFrom[*user](ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	// A copy, never nil: a user without connections gets "data": [], which
	// the spec requires, where a nil slice would go out as null.
	return gen.ListOAuthConnections200JSONResponse{Body: gen.OAuthConnectionList{Data: append([]gen.OAuthConnection{}, u.conns...)}}, nil
}

func (s *stub) UpdateOAuthConnection(ctx context.Context, req gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	u, _ := server.PrincipalFrom[*user](ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(u.conns, func(c gen.OAuthConnection) bool { return c.UUID == req.OAuthConnectionUUID })
	if i < 0 { // another user's connection too
		return gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
	}
	c := &u.conns[i]
	if req.Body.Label.IsSpecified() { // absent keeps the label; null clears it
		c.Label = req.Body.Label
	}
	c.UpdatedAt.Time = plannroauth.Stamp(time.Now(), u.loc, c.UpdatedAt.Time) // never back, whole seconds
	return gen.UpdateOAuthConnection200JSONResponse{Body: *c}, nil
}

func (s *stub) DeleteOAuthConnection(ctx context.Context, req gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	u, _ := server.PrincipalFrom[*user](ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(u.conns)
	u.conns = slices.DeleteFunc(u.conns, func(c gen.OAuthConnection) bool { return c.UUID == req.OAuthConnectionUUID })
	if len(u.conns) == n {
		return gen.DeleteOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
	}
	return gen.DeleteOAuthConnection204Response{}, nil
}

// load turns fixtures into users, each connection as the API shows it.
func load(d *fixtures.Data) map[[sha256.Size]byte]*user {
	users := map[[sha256.Size]byte]*user{}
	for _, a := range d.Accounts {
		u := &user{loc: a.Location}
		for _, c := range a.Connections {
			p, refresh := c.Provider, c.RefreshAuthorizationURL()
			u.conns = append(u.conns, gen.OAuthConnection{
				UUID: c.UUID, Label: orNull(c.Label),
				Provider:  gen.OAuthProvider{Name: p.Name, Label: p.Label, LogoURL: p.LogoURL, AuthorizationURL: p.AuthorizationURL},
				CreatedAt: plannroauth.Timestamp{Time: c.CreatedAt}, UpdatedAt: plannroauth.Timestamp{Time: c.UpdatedAt},
				RefreshAuthorizationURL: &refresh,
				AccessTokenExpiresAt:    expiry(c.AccessTokenExpiresAt), RefreshTokenExpiresAt: expiry(c.RefreshTokenExpiresAt),
			})
		}
		users[sha256.Sum256([]byte(a.Token))] = u
	}
	return users
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

// orNull is a nullable value: JSON null where the fixtures have none.
func orNull[T any](v *T) nullable.Nullable[T] {
	if v == nil {
		return nullable.NewNullNullable[T]()
	}
	return nullable.NewNullableWithValue(*v)
}

// expiry is a token's expiry as the API writes it, null for never.
func expiry(t *time.Time) nullable.Nullable[plannroauth.Expiry] {
	if t == nil {
		return nullable.NewNullNullable[plannroauth.Expiry]()
	}
	return nullable.NewNullableWithValue(plannroauth.Expiry{Time: *t})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	file := flag.String("fixtures", "fixtures/testdata/example.json", "fixtures file, as plannr-server -fixtures reads it")
	flag.Parse()
	s := &stub{users: load(must(fixtures.Load(*file)))}
	h := must(server.New(s, server.WithAuth(s.authenticate)))
	ln := must(net.Listen("tcp", *addr))
	log.Printf("memstub listening on http://%s", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, DisableGeneralOptionsHandler: true}
	stopped, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		log.Fatal(err)
	case <-stopped.Done(): // Ctrl-C or SIGTERM: a graceful stop, and exit status 0
	}
	stop() // a second Ctrl-C ends the process at once
	log.Print("memstub shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil { // requests in flight finish first
		log.Fatal(err)
	}
}
