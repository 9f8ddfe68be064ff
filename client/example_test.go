package client_test

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

func Example() {
	// A fake of Plannr; a program would leave out WithBaseURL and call Plannr.
	plannr, err := plannrtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer plannr.Close()

	c, err := client.New(plannrtest.DefaultToken, client.WithBaseURL(plannr.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	id := plannrtest.DefaultConnectionID

	for _, label := range []string{"My Fundment Account", strings.Repeat("x", plannroauth.LabelMaxLength()+1)} {
		body := gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullableWithValue(label)}
		resp, err := client.Check(c.UpdateOAuthConnectionWithResponse(ctx, id, body))
		var apiErr *client.APIError
		switch {
		case errors.As(err, &apiErr):
			fmt.Println(apiErr.StatusCode, slices.Sorted(maps.Keys(apiErr.Errors)))
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println(resp.StatusCode(), resp.JSON200.Label.MustGet())
		}
	}
	// Output:
	// 200 My Fundment Account
	// 422 [label]
}

// A Pacer that clients of one token share, the budget it shows, and the
// rate limit an answer states.
func ExampleRateLimitOf() {
	plannr, err := plannrtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer plannr.Close()
	pacer := client.NewPacer(client.DefaultRateWindow)
	c, err := client.New(plannrtest.DefaultToken, client.WithBaseURL(plannr.URL), client.WithPacer(pacer))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	for range 2 {
		// Before the first answer the limit is unknown (0), and one request
		// goes alone.
		b := pacer.Budget()
		fmt.Printf("the budget: %d may go now, of a limit of %d\n", b.Remaining, b.Limit)
		resp, err := client.Check(c.ListOAuthConnectionsWithResponse(ctx))
		if err != nil {
			log.Fatal(err)
		}
		if rl, ok := client.RateLimitOf(resp.HTTPResponse); ok {
			fmt.Printf("the answer: %d of %d left\n", rl.Remaining, rl.Limit)
		}
	}
	// Output:
	// the budget: 1 may go now, of a limit of 0
	// the answer: 499 of 500 left
	// the budget: 499 may go now, of a limit of 500
	// the answer: 498 of 500 left
}

// Options for one call: a shorter timeout for each attempt, no retries, and
// a header of the caller's.
func Example_perCallOptions() {
	plannr, err := plannrtest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer plannr.Close()
	c, err := client.New(plannrtest.DefaultToken, client.WithBaseURL(plannr.URL))
	if err != nil {
		log.Fatal(err)
	}

	resp, err := client.Check(c.ListOAuthConnectionsWithResponse(context.Background(),
		client.AttemptTimeout(5*time.Second),
		client.CallRetryPolicy(client.RetryPolicy{MaxRetries: 0}),
		client.CallHeader("X-Request-Id", "5f0c2a"),
	))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode(), len(resp.JSON200.Data))
	// Output: 200 1
}
