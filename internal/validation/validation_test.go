package validation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oapi-codegen/nullable"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// capture is a strict server that keeps the body of the last update it got.
type capture struct {
	body *gen.UpdateOAuthConnectionRequest
}

func (capture) ListOAuthConnections(context.Context, gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	return gen.ListOAuthConnections200JSONResponse{}, nil
}

func (capture) DeleteOAuthConnection(context.Context, gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	return gen.DeleteOAuthConnection204Response{}, nil
}

func (c capture) UpdateOAuthConnection(_ context.Context, req gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	*c.body = *req.Body
	return gen.UpdateOAuthConnection200JSONResponse{}, nil
}

// TestHandlerGetsTheValidatedBody proves the generated handler binds the value
// that was validated, not its own decoding of the bytes: encoding/json would
// take {"Label": ...}, which the schema ignores as an unknown property, for the
// label, and so let a label of any length through.
func TestHandlerGetsTheValidatedBody(t *testing.T) {
	doc, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	v := validation.New(doc, 1<<16, func(context.Context) bool { return true })
	tests := []struct {
		body string
		want nullable.Nullable[string]
	}{
		{`{"label":"x"}`, nullable.NewNullableWithValue("x")},
		{`{"label":null}`, nullable.NewNullNullable[string]()},
		{`{}`, nil},
		{`{"Label":"` + strings.Repeat("a", 300) + `"}`, nil},
		{`{"LABEL":"y","label":"x"}`, nullable.NewNullableWithValue("x")},
	}
	for _, tt := range tests {
		var got gen.UpdateOAuthConnectionRequest
		h := v.Route(v.Request(gen.Handler(gen.NewStrictHandler(capture{&got}, nil))))
		r := httptest.NewRequest(http.MethodPut, "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", strings.NewReader(tt.body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 300 {
			t.Errorf("%.40s: status %d %s", tt.body, w.Code, w.Body)
			continue
		}
		if got.Label.IsSpecified() != tt.want.IsSpecified() || got.Label.IsNull() != tt.want.IsNull() || got.Label.GetOrEmpty() != tt.want.GetOrEmpty() {
			t.Errorf("%.40s: the handler got label %v, want %v", tt.body, got.Label, tt.want)
		}
	}
}
