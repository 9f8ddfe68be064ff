package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// connections is the smallest implementation: no connections at all.
type connections struct{}

func (connections) ListOAuthConnections(ctx context.Context, _ gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	user, _ := server.PrincipalFrom[string](ctx) // what the AuthFunc put there
	fmt.Println("listing the connections of", user)
	return gen.ListOAuthConnections200JSONResponse{Body: gen.OAuthConnectionList{Data: []gen.OAuthConnection{}}}, nil
}

func (connections) UpdateOAuthConnection(context.Context, gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	return gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
}

func (connections) DeleteOAuthConnection(context.Context, gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	return gen.DeleteOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
}

// lookup maps the one token it knows to its user.
func lookup(_ context.Context, token string) (server.Identity, error) {
	if token != "alice-token" {
		return server.Identity{}, server.ErrUnauthenticated
	}
	return server.Identity{ID: "alice", Principal: "Alice"}, nil
}

// show sends a request and prints the answer's status and body.
func show(method, url, token, body string) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s", resp.StatusCode, b)
}

// An implementation and a token lookup are all it takes: the kit answers what
// the spec forbids before the implementation sees it.
func ExampleNew() {
	h, err := server.New(connections{}, server.WithAuth(lookup), server.WithoutLogging())
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	show("GET", srv.URL+"/api/v1/oauth/connections", "alice-token", "")
	show("GET", srv.URL+"/api/v1/oauth/connections", "mallory-token", "")
	show("PUT", srv.URL+"/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", "alice-token", `{"label":"x"`)
	show("PATCH", srv.URL+"/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", "alice-token", `{}`)
	// Output:
	// listing the connections of Alice
	// 200 {"data":[]}
	// 401 {"message":"Unauthenticated."}
	// 400 {"message":"The request body is not valid JSON."}
	// 405 {"message":"This method is not supported for this route. Supported methods: DELETE, PUT."}
}

// Wrap puts the kit in front of handlers of your own, here the generated
// ones on the standard library's ServeMux, with the kit's error renderer for
// their errors.
func ExampleWrap() {
	strict := gen.NewStrictHandlerWithOptions(connections{}, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  server.WriteError,
		ResponseErrorHandlerFunc: server.WriteError,
	})
	mux := gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{ErrorHandlerFunc: server.WriteError})
	h, err := server.Wrap(mux, server.WithAuth(lookup), server.WithoutLogging())
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	show("PUT", srv.URL+"/api/v1/oauth/connections/not-a-uuid", "alice-token", `{}`)
	show("PUT", srv.URL+"/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", "alice-token", `{"label":"x"}`)
	// Output:
	// 404 {"message":"OAuth2 connection not found."}
	// 404 {"message":"OAuth2 connection not found."}
}

// broken answers a list with a connection of which it filled in nothing.
type broken struct{ connections }

func (broken) ListOAuthConnections(context.Context, gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	return gen.ListOAuthConnections200JSONResponse{Body: gen.OAuthConnectionList{Data: []gen.OAuthConnection{{}}}}, nil
}

// With Refuse, an answer that breaks the spec never reaches the client, and
// Report hears why (a test would call t.Error).
func ExampleWithResponseValidation() {
	h, err := server.New(broken{}, server.WithAuth(lookup), server.WithoutLogging(),
		server.WithResponseValidation(server.ResponseValidation{
			Refuse: true,
			Report: func(r *http.Request, err error) {
				fmt.Println("violation:", strings.Contains(err.Error(), "zero time"))
			},
		}))
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	show("GET", srv.URL+"/api/v1/oauth/connections", "alice-token", "")
	// Output:
	// violation: true
	// 500 {"message":"Server Error"}
}
