package validation

import (
	"context"
	"fmt"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// TestFind: a request is matched on its escaped path, segment by segment, so
// an encoded slash stays inside its segment; HEAD is GET's.
func TestFind(t *testing.T) {
	doc, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	v := New(doc, 1<<16, func(context.Context) bool { return true }, false)
	for _, tc := range []struct{ method, path, template, allow, id string }{
		{"GET", "/api/v1/oauth/connections", "/api/v1/oauth/connections", "GET, HEAD", ""},
		{"HEAD", "/api/v1/oauth/connections", "/api/v1/oauth/connections", "GET, HEAD", ""},
		{"PUT", "/api/v1/oauth/connections/abc", "/api/v1/oauth/connections/{oauthConnection_uuid}", "DELETE, PUT", "abc"},
		{"PUT", "/api/v1/oauth/connections/a%20b", "/api/v1/oauth/connections/{oauthConnection_uuid}", "DELETE, PUT", "a b"},
		{"PATCH", "/api/v1/oauth/connections/abc", "/api/v1/oauth/connections/{oauthConnection_uuid}", "DELETE, PUT", ""},
		{"PUT", "/api/v1/oauth/%63onnections/abc", "/api/v1/oauth/connections/{oauthConnection_uuid}", "DELETE, PUT", "abc"},
		{"PUT", "/api/v1/oauth/connections%2Fabc", "", "", ""},
		{"PUT", "/api/v1/oauth/connections/", "", "", ""},
		{"GET", "/api/v1/oauth/connections/abc/def", "", "", ""},
		{"GET", "/api//v1/oauth/connections", "", "", ""},
	} {
		m := v.Find(httptest.NewRequest(tc.method, "http://h"+tc.path, nil))
		if m.Template != tc.template || m.Allow != tc.allow || m.PathParams()["oauthConnection_uuid"] != tc.id || m.PathValue("oauthConnection_uuid") != tc.id {
			t.Errorf("%s %s: %q %q %v, want %q %q %q", tc.method, tc.path, m.Template, m.Allow, m.PathParams(), tc.template, tc.allow, tc.id)
		}
		if (m.Route != nil) != (tc.id != "" || tc.method == "GET" && tc.template != "" || tc.method == "HEAD") {
			t.Errorf("%s %s: operation %v", tc.method, tc.path, m.Route)
		}
	}
}

// TestFindMoreParamsThanMatchHolds: a template with more parameters than a
// Match has room for still gives every one.
func TestFindMoreParamsThanMatchHolds(t *testing.T) {
	template := "/a"
	want := map[string]string{}
	for i := range maxParams + 1 {
		name := fmt.Sprintf("p%d", i)
		template += "/{" + name + "}"
		want[name] = fmt.Sprint(i)
	}
	item := &openapi3.PathItem{Get: &openapi3.Operation{}}
	v := &Validator{paths: []*path{newPath(&openapi3.T{}, template, item)}}
	r := httptest.NewRequest("GET", "/a/0/1/2/3/4", nil)
	m := v.Find(r)
	if got := m.PathParams(); !reflect.DeepEqual(got, want) {
		t.Errorf("PathParams %v, want %v", got, want)
	}
	m.SetPathValues(r)
	if r.PathValue("p4") != "4" {
		t.Errorf("PathValue(p4) %q", r.PathValue("p4"))
	}
}
