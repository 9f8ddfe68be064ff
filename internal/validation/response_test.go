package validation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// TestResponse proves the response check can fail: each bad answer is caught.
func TestResponse(t *testing.T) {
	doc, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	v := validation.New(doc, 1<<16, func(context.Context) bool { return true }, true)
	good := `{"uuid":"7b29add1-9028-4c1e-a87b-3c80a2e495fe","provider":{"name":"f","label":"F","logo_url":"https://x/l.png","authorization_url":"https://x/a"},
	  "created_at":"2025-06-25T15:10:48+01:00","updated_at":"2025-06-25T15:10:48+01:00","access_token_expires_at":null,"refresh_token_expires_at":null}`
	jsonType := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		wantErr            string
	}{
		{"good 200", "PUT", "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", 200, jsonType, good, ""},
		{"good 204", "DELETE", "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", 204, http.Header{}, "", ""},
		{"good 404 of the router", "GET", "/nope", 404, jsonType, `{"message":"x"}`, ""},
		{"good 405 of a HEAD, without the body", "HEAD", "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", 405, jsonType, "", ""},
		{"a HEAD of no operation with the wrong status", "HEAD", "/nope", 200, jsonType, "", "want 404"},
		{"503 of no path (a closed server's)", "GET", "/nope", 503, jsonType, `{"message":"x"}`, ""},
		{"503 of no method", "PATCH", "/api/v1/oauth/connections", 503, jsonType, `{"message":"x"}`, ""},
		{"503 of a HEAD of no path, without the body", "HEAD", "/nope", 503, jsonType, "", ""},
		{"503 of no operation without the Error body", "GET", "/nope", 503, jsonType, `{}`, "message"},
		{"4xx of no operation other than the router's", "PATCH", "/api/v1/oauth/connections", 404, jsonType, `{"message":"x"}`, "want 405"},
		{"text/plain error", "GET", "/nope", 404, http.Header{"Content-Type": {"text/plain"}}, "404 page not found", "Content-Type"},
		{"router 404 with the wrong body", "GET", "/nope", 404, jsonType, `{"error":"x"}`, "message"},
		{"undeclared status", "GET", "/api/v1/oauth/connections", 418, jsonType, `{"message":"x"}`, "418"},
		{"required field missing", "PUT", "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", 200, jsonType,
			strings.Replace(good, `"uuid":"7b29add1-9028-4c1e-a87b-3c80a2e495fe",`, "", 1), "uuid"},
		{"bad uuid format", "PUT", "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", 200, jsonType,
			strings.Replace(good, `"7b29add1-9028-4c1e-a87b-3c80a2e495fe"`, `"7b29"`, 1), "uuid"},
		{"relative URI", "PUT", "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", 200, jsonType,
			strings.Replace(good, `"https://x/a"`, `"/a"`, 1), "URI"},
		{"date-time with a comma fraction", "PUT", "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", 200, jsonType,
			strings.Replace(good, `"2025-06-25T15:10:48+01:00"`, `"2025-06-25T15:10:48,5+01:00"`, 1), "RFC 3339"},
		{"date-time with a one-digit hour", "PUT", "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", 200, jsonType,
			strings.Replace(good, `"2025-06-25T15:10:48+01:00"`, `"2025-06-25T5:10:48+01:00"`, 1), "RFC 3339"},
		{"rate-limit header not an integer", "GET", "/api/v1/oauth/connections", 200,
			http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Limit": {"lots"}}, `{"data":[]}`, "X-RateLimit-Limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			err := v.Response(r, tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("want valid, got %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("want an error mentioning %q, got %v", tt.wantErr, err)
			}
		})
	}
}

// TestDeclares holds Declares, which reads Responses without allocating, to
// Responses.Status, which kin-openapi reads them with: for every status, by
// number or by range (4XX), beside the spec's `default` for any 5xx.
func TestDeclares(t *testing.T) {
	responses := openapi3.NewResponses()
	for _, key := range []string{"200", "4XX", "404", "default"} {
		responses.Set(key, &openapi3.ResponseRef{Value: openapi3.NewResponse()})
	}
	route := &routers.Route{Operation: &openapi3.Operation{Responses: responses}}
	for status := -1; status <= 1000; status++ {
		want := status >= 500 || responses.Status(status) != nil
		if got := validation.Declares(route, status); got != want {
			t.Errorf("Declares(%d) = %v, want %v", status, got, want)
		}
	}
}
