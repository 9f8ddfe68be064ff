package client_test

import (
	"context"
	"testing"

	"github.com/oapi-codegen/nullable"

	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// TestRealServerIsTheAPIsSuccess: the real server's answer to every
// operation is the API's success, through the client and Check, and as such
// turns pacing off when it states no limit.
func TestRealServerIsTheAPIsSuccess(t *testing.T) {
	t.Parallel()
	id := plannrtest.DefaultConnectionID
	tests := []struct {
		name string
		call func(context.Context, *gen.ClientWithResponses) error
	}{
		{"list", func(ctx context.Context, c *gen.ClientWithResponses) error {
			resp, err := client.Check(c.ListOAuthConnectionsWithResponse(ctx))
			if err == nil && (len(resp.JSON200.Data) != 1 || resp.JSON200.Data[0].UUID != id) {
				t.Errorf("listed %+v, want the connection %v", resp.JSON200.Data, id)
			}
			return err
		}},
		{"update", func(ctx context.Context, c *gen.ClientWithResponses) error {
			body := gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullableWithValue("Relabelled")}
			resp, err := client.Check(c.UpdateOAuthConnectionWithResponse(ctx, id, body))
			if err == nil && (resp.JSON200.UUID != id || resp.JSON200.Label.MustGet() != "Relabelled" || resp.JSON200.UpdatedAt.IsZero()) {
				t.Errorf("updated %+v, want the connection %v relabelled", resp.JSON200, id)
			}
			return err
		}},
		{"delete", func(ctx context.Context, c *gen.ClientWithResponses) error {
			_, err := client.Check(c.DeleteOAuthConnectionWithResponse(ctx, id))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := client.NewPacer(0)
			c := plannrtest.NewServer(t, plannrtest.WithoutRateLimit()).Client(client.WithPacer(p))
			if err := tt.call(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			if b := p.Budget(); b.Remaining != -1 {
				t.Errorf("budget %+v after the API's success that states no limit, want Remaining -1 (not paced)", b)
			}
		})
	}
}
