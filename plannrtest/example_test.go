package plannrtest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/oapi-codegen/nullable"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
	"maps"
	"slices"
)

// A test would call plannrtest.NewServer(t) instead of Start, and leave it to t
// to close the server and to fail on an answer that breaks the spec.
func Example() {
	srv, err := plannrtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	c := srv.Client()

	for _, label := range []string{"Pension", strings.Repeat("x", plannroauth.LabelMaxLength()+1)} {
		body := gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullableWithValue(label)}
		_, err := client.Check(c.UpdateOAuthConnectionWithResponse(ctx, plannrtest.DefaultConnectionID, body))
		var apiErr *client.APIError
		if errors.As(err, &apiErr) {
			fmt.Println(apiErr.StatusCode, slices.Sorted(maps.Keys(apiErr.Errors)))
		} else if err != nil {
			log.Fatal(err)
		}
	}
	// The store, read directly: the refused label changed nothing.
	fmt.Println(*srv.Connections(srv.Token)[0].Label)
	// Close reports any answer of the server that broke the spec.
	if err := srv.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 422 [label]
	// Pension
}

func ExampleServer_AddUser() {
	srv, err := plannrtest.Start(plannrtest.WithoutDefaultUser())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	srv.AddUser("alice-token",
		plannrtest.Connection{Label: new("ISA")},
		plannrtest.Connection{Label: nil},
	)

	resp, err := client.Check(srv.ClientFor("alice-token").ListOAuthConnectionsWithResponse(ctx))
	if err != nil {
		log.Fatal(err)
	}
	for _, conn := range resp.JSON200.Data {
		label := "(no label)"
		if l, err := conn.Label.Get(); err == nil {
			label = l
		}
		fmt.Println(conn.Provider.Label, label)
	}
	// Output:
	// Fundment ISA
	// Fundment (no label)
}

func ExampleWithClock() {
	now := time.Date(2026, 7, 1, 9, 30, 0, 0, time.UTC)
	srv, err := plannrtest.Start(plannrtest.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	body := gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullNullable[string]()}
	resp, err := client.Check(srv.Client().UpdateOAuthConnectionWithResponse(ctx, plannrtest.DefaultConnectionID, body))
	if err != nil {
		log.Fatal(err)
	}
	// Written in the account's offset, as Plannr does: British Summer Time.
	fmt.Println(resp.JSON200.UpdatedAt.Format(time.RFC3339), resp.JSON200.Label.IsNull())
	// Output: 2026-07-01T10:30:00+01:00 true
}
