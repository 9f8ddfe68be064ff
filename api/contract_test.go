package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/api"
	"github.com/plannr-toolkit/plannr-oauth/gen"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec)
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	return doc
}

// TestSpecIsValid loads the hand-written spec and validates it, examples included:
// kin-openapi checks every example against the schema it illustrates.
func TestSpecIsValid(t *testing.T) {
	doc := loadSpec(t)
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("api/openapi.yaml is not valid: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
}

// TestEmbeddedSpecMatchesSource catches a gen/ that was not regenerated after an
// edit of api/openapi.yaml, without needing the generator.
func TestEmbeddedSpecMatchesSource(t *testing.T) {
	embedded, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	source := loadSpec(t)
	// oapi-codegen writes operationIds in their Go spelling into the copy it
	// embeds (updateOAuthConnection becomes UpdateOAuthConnection).
	for _, item := range source.Paths.Map() {
		for _, op := range item.Operations() {
			op.OperationID = strings.ToUpper(op.OperationID[:1]) + op.OperationID[1:]
		}
	}
	want, _ := json.Marshal(source)
	got, _ := json.Marshal(embedded)
	if !bytes.Equal(want, got) {
		t.Fatal("gen.GetSpec() differs from api/openapi.yaml: run go generate ./...")
	}
}

func TestOperationsAreDeclared(t *testing.T) {
	doc := loadSpec(t)
	tests := []struct {
		method, path, operationID string
		statuses                  []string
	}{
		{"GET", "/api/v1/oauth/connections", "listOAuthConnections",
			[]string{"200", "400", "401", "417", "429", "431", "default"}},
		{"PUT", "/api/v1/oauth/connections/{oauthConnection_uuid}", "updateOAuthConnection",
			[]string{"200", "400", "401", "404", "413", "415", "417", "422", "429", "431", "default"}},
		{"DELETE", "/api/v1/oauth/connections/{oauthConnection_uuid}", "deleteOAuthConnection",
			[]string{"204", "400", "401", "404", "417", "429", "431", "default"}},
	}
	for _, tt := range tests {
		t.Run(tt.operationID, func(t *testing.T) {
			item := doc.Paths.Value(tt.path)
			if item == nil {
				t.Fatalf("path %s is missing", tt.path)
			}
			op := item.GetOperation(tt.method)
			if op == nil || op.OperationID != tt.operationID {
				t.Fatalf("%s %s: want operationId %s", tt.method, tt.path, tt.operationID)
			}
			got := slices.Sorted(maps.Keys(op.Responses.Map()))
			if !slices.Equal(got, slices.Sorted(slices.Values(tt.statuses))) {
				t.Errorf("responses = %v, want %v", got, tt.statuses)
			}
			for status, ref := range op.Responses.Map() {
				if status[0] == '2' && status != "200" {
					continue // 204 has no body
				}
				if ref.Value.Content.Get("application/json") == nil {
					t.Errorf("%s has no application/json body", status)
				}
			}
			if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
				t.Error("bearerAuth is not required on every operation")
			}
		})
	}
}

// TestSchemas checks what the schemas accept and refuse, with the seed's own
// examples among the cases.
func TestSchemas(t *testing.T) {
	doc := loadSpec(t)
	seedRequest := readJSON(t, "testdata/seed-request.json")
	seedResponse := readJSON(t, "testdata/seed-response.json")
	withNullExpiries := readJSON(t, "testdata/seed-response.json").(map[string]any)
	withNullExpiries["access_token_expires_at"] = nil
	withNullExpiries["refresh_token_expires_at"] = nil
	withNullExpiries["label"] = nil
	withoutLabel := readJSON(t, "testdata/seed-response.json").(map[string]any)
	delete(withoutLabel, "label")

	tests := []struct {
		name   string
		schema string
		value  any
		valid  bool
	}{
		{"seed request", "UpdateOAuthConnectionRequest", seedRequest, true},
		{"empty request", "UpdateOAuthConnectionRequest", map[string]any{}, true},
		{"null label", "UpdateOAuthConnectionRequest", map[string]any{"label": nil}, true},
		{"label of maxLength", "UpdateOAuthConnectionRequest", map[string]any{"label": strings.Repeat("a", plannroauth.LabelMaxLength())}, true},
		{"unknown property ignored", "UpdateOAuthConnectionRequest", map[string]any{"colour": "red"}, true},
		{"label over maxLength", "UpdateOAuthConnectionRequest", map[string]any{"label": strings.Repeat("a", plannroauth.LabelMaxLength()+1)}, false},
		{"label with a NUL", "UpdateOAuthConnectionRequest", map[string]any{"label": "a\x00b"}, false},
		{"numeric label", "UpdateOAuthConnectionRequest", map[string]any{"label": 42.0}, false},
		{"boolean label", "UpdateOAuthConnectionRequest", map[string]any{"label": true}, false},
		{"array body", "UpdateOAuthConnectionRequest", []any{}, false},
		{"seed response", "OAuthConnection", seedResponse, true},
		{"null expiries and label", "OAuthConnection", withNullExpiries, true},
		{"label absent", "OAuthConnection", withoutLabel, true},
		{"uuid missing", "OAuthConnection", without(seedResponse, "uuid"), false},
		{"error", "Error", map[string]any{"message": "Unauthenticated."}, true},
		{"error without message", "Error", map[string]any{}, false},
		{"validation error", "ValidationError", map[string]any{
			"message": "m", "errors": map[string]any{"label": []any{"m"}}}, true},
		{"validation error with a bare string", "ValidationError", map[string]any{
			"message": "m", "errors": map[string]any{"label": "m"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schema := doc.Components.Schemas[tt.schema].Value
			err := schema.VisitJSON(tt.value, openapi3.MultiErrors())
			if tt.valid && err != nil {
				t.Errorf("want valid, got %v", err)
			}
			if !tt.valid && err == nil {
				t.Error("want invalid, got valid")
			}
		})
	}
}

func without(v any, key string) map[string]any {
	out := map[string]any{}
	for k, val := range v.(map[string]any) {
		if k != key {
			out[k] = val
		}
	}
	return out
}

// TestSeedResponseRoundTrips decodes the seed's exact response into the generated
// type and encodes it back to the same JSON: no field is lost or reformatted.
func TestSeedResponseRoundTrips(t *testing.T) {
	raw, err := os.ReadFile("testdata/seed-response.json")
	if err != nil {
		t.Fatal(err)
	}
	var conn gen.OAuthConnection
	if err := json.Unmarshal(raw, &conn); err != nil {
		t.Fatal(err)
	}
	if got, _ := conn.Label.Get(); got != "My Fundment Account 1" {
		t.Errorf("label = %q", got)
	}
	if conn.Provider.Name != "fundment" || conn.UUID.String() != "7b29add1-9028-4c1e-a87b-3c80a2e495fe" {
		t.Errorf("decoded %+v", conn)
	}
	again, err := json.Marshal(conn)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	_ = json.Unmarshal(raw, &want)
	_ = json.Unmarshal(again, &got)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("round trip changed the JSON:\nwant %s\ngot  %s", raw, again)
	}
}

// TestRequestLabelHasThreeStates: absent, null and a value stay apart, which is
// what the nullable-type generator option is for.
func TestRequestLabelHasThreeStates(t *testing.T) {
	tests := []struct {
		body                 string
		specified, null      bool
		value                string
		encodedAgainAsBefore string
	}{
		{`{}`, false, false, "", `{}`},
		{`{"label":null}`, true, true, "", `{"label":null}`},
		{`{"label":"x"}`, true, false, "x", `{"label":"x"}`},
	}
	for _, tt := range tests {
		var req gen.UpdateOAuthConnectionRequest
		if err := json.Unmarshal([]byte(tt.body), &req); err != nil {
			t.Fatal(err)
		}
		if req.Label.IsSpecified() != tt.specified || req.Label.IsNull() != tt.null {
			t.Errorf("%s: specified=%v null=%v", tt.body, req.Label.IsSpecified(), req.Label.IsNull())
		}
		if v, _ := req.Label.Get(); v != tt.value {
			t.Errorf("%s: value %q", tt.body, v)
		}
		if out, _ := json.Marshal(req); string(out) != tt.encodedAgainAsBefore {
			t.Errorf("%s: encoded as %s", tt.body, out)
		}
	}
}

func readJSON(t *testing.T, path string) any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
