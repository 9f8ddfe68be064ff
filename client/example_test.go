package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/gen"
)

func Example() {
	plannr := fakePlannr()
	defer plannr.Close()

	c, err := client.New("my-token", client.WithBaseURL(plannr.URL))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	id := uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe")

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

// fakePlannr answers updates of one connection like Plannr, just enough for
// the example: a label longer than 255 characters is refused.
func fakePlannr() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Label string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		if len(body.Label) > 255 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"message":"The label field must not be greater than 255 characters.","errors":{"label":["The label field must not be greater than 255 characters."]}}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"uuid": "7b29add1-9028-4c1e-a87b-3c80a2e495fe", "label": body.Label,
			"created_at": "2025-06-25T15:10:48+01:00", "updated_at": "2025-06-25T15:10:48+01:00",
			"access_token_expires_at": nil, "refresh_token_expires_at": nil,
			"provider": map[string]string{"name": "fundment", "label": "Fundment", "logo_url": "https://api.plannrcrm.com/imgs/fundment-banner.png", "authorization_url": "https://api.plannrcrm.com/oauth/fundment/authorize"},
		})
	}))
}
