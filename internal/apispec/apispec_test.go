package apispec

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/api"
)

func TestOperations(t *testing.T) {
	want := []struct {
		id, method, path, goName string
		success                  []int
		params                   []string
	}{
		{"listOAuthConnections", http.MethodGet, "/api/v1/oauth/connections", "ListOAuthConnections", []int{200}, nil},
		{"deleteOAuthConnection", http.MethodDelete, "/api/v1/oauth/connections/{oauthConnection_uuid}", "DeleteOAuthConnection", []int{204}, []string{"oauthConnection_uuid"}},
		{"updateOAuthConnection", http.MethodPut, "/api/v1/oauth/connections/{oauthConnection_uuid}", "UpdateOAuthConnection", []int{200}, []string{"oauthConnection_uuid"}},
	}
	for _, w := range want {
		op, ok := OperationOf(w.method, w.path)
		if !ok || op.ID != w.id || !slices.Equal(op.Success, w.success) {
			t.Errorf("OperationOf(%s, %s) = %+v, %v; want %s with %v", w.method, w.path, op, ok, w.id, w.success)
		}
		if op.GoName() != w.goName || !slices.Equal(op.PathParams(), w.params) {
			t.Errorf("%s: GoName %q, PathParams %q; want %q, %q", w.id, op.GoName(), op.PathParams(), w.goName, w.params)
		}
	}
	if len(Operations()) != len(want) {
		t.Errorf("%d operations, want %d", len(Operations()), len(want))
	}
}

func TestOperationAt(t *testing.T) {
	for _, tt := range []struct {
		method, path, want string
	}{
		{"GET", "/api/v1/oauth/connections", "listOAuthConnections"},
		{"GET", "/plannr/api/v1/oauth/connections", "listOAuthConnections"},
		{"PUT", "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", "updateOAuthConnection"},
		{"DELETE", "/x/api/v1/oauth/connections/abc", "deleteOAuthConnection"},
		{"PATCH", "/api/v1/oauth/connections/abc", ""},
		{"GET", "/api/v1/oauth", ""},
	} {
		op, ok := OperationAt(tt.method, tt.path)
		if op.ID != tt.want || ok != (tt.want != "") {
			t.Errorf("OperationAt(%s, %s) = %s, %v; want %q", tt.method, tt.path, op.ID, ok, tt.want)
		}
	}
}

// TestEnvelope: the top-level properties of each JSON success, as its schema
// requires them, in the spec's order; a status without a JSON body, declared
// or not, has none.
func TestEnvelope(t *testing.T) {
	const (
		list = "/api/v1/oauth/connections"
		one  = "/api/v1/oauth/connections/{oauthConnection_uuid}"
	)
	for _, tt := range []struct {
		method, path string
		status       int
		want         []string // nil: no JSON body
	}{
		{"GET", list, 200, []string{"data"}},
		{"PUT", one, 200, []string{"uuid", "created_at", "updated_at", "provider", "access_token_expires_at", "refresh_token_expires_at"}},
		{"PUT", one, 201, nil},
		{"DELETE", one, 204, nil},
	} {
		op, _ := OperationOf(tt.method, tt.path)
		got, jsonBody := op.Envelope[tt.status]
		if !slices.Equal(got, tt.want) || jsonBody != (tt.want != nil) {
			t.Errorf("%s %s: Envelope[%d] = %q, %v; want %q", tt.method, tt.path, tt.status, got, jsonBody, tt.want)
		}
	}
}

func TestAllow(t *testing.T) {
	for path, want := range map[string][]string{
		"/api/v1/oauth/connections":                        {"GET", "HEAD"},
		"/api/v1/oauth/connections/{oauthConnection_uuid}": {"DELETE", "PUT"},
		"/nope": nil,
	} {
		if got := Allow(path); !slices.Equal(got, want) {
			t.Errorf("Allow(%s) = %v, want %v", path, got, want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{Format("The :attribute field must not be greater than :max characters.", "attribute", "label", "max", "9"),
			"The label field must not be greater than 9 characters."},
		{Format("no placeholders"), "no placeholders"},
		{Plural("(and :count more error)|(and :count more errors)", 1), "(and 1 more error)"},
		{Plural("(and :count more error)|(and :count more errors)", 3), "(and 3 more errors)"},
		{Plural("one form only: :count", 2), "one form only: 2"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestParseRefuses: a spec whose extensions lack a message, misspell a key or
// set a limit of zero does not load, rather than serve empty messages.
func TestParseRefuses(t *testing.T) {
	valid := string(api.Spec)
	tests := map[string]struct{ old, new, want string }{
		"missing message": {"  notFound: OAuth2 connection not found.\n", "", "x-messages.notFound is missing"},
		"unknown key":     {"  notFound:", "  notFund:", "unknown field"},
		"zero limit":      {"requestBodyBytes: 65536", "requestBodyBytes: 0", "must be positive"},
		"no x-limits":     {"x-limits:", "x-limitz:", "x-limits is missing"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(valid, tt.old) {
				t.Fatalf("the spec has no %q", tt.old)
			}
			_, err := parse([]byte(strings.Replace(valid, tt.old, tt.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parse: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestLimitsAndLengths(t *testing.T) {
	l := LimitsOf()
	if l.RequestBodyBytes <= 0 || l.RateLimit <= 0 || l.RateWindow <= 0 {
		t.Errorf("limits %+v", l)
	}
	if n, ok := MaxLength("UpdateOAuthConnectionRequest", "label"); !ok || n <= 0 {
		t.Errorf("label maxLength %d, %v", n, ok)
	}
	if _, ok := MaxLength("UpdateOAuthConnectionRequest", "nope"); ok {
		t.Error("a property that does not exist has a maxLength")
	}
	if n, ok := HeaderMinimum("X-RateLimit-Limit"); !ok || n != 1 {
		t.Errorf("X-RateLimit-Limit's minimum %d, %v, want 1", n, ok)
	}
	if _, ok := HeaderMinimum("X-Nope"); ok {
		t.Error("a header that does not exist has a minimum")
	}
}
