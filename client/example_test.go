package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/oapi-codegen/nullable"

	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
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

	for _, label := range []string{"My Fundment Account", strings.Repeat("x", 256)} {
		body := gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullableWithValue(label)}
		resp, err := client.Check(c.UpdateOAuthConnectionWithResponse(ctx, id, body))
		var apiErr *client.APIError
		switch {
		case errors.As(err, &apiErr):
			fmt.Println(apiErr.StatusCode, apiErr.Errors["label"])
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println(resp.StatusCode(), resp.JSON200.Label.MustGet())
		}
	}
	// Output:
	// 200 My Fundment Account
	// 422 [The label field must not be greater than 255 characters.]
}
