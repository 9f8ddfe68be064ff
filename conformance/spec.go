package conformance

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// spec is the embedded contract, and the validation the server kit checks
// its own answers with (server.WithResponseValidation): one reading of the
// spec, so that the kit and the server cannot disagree on what it allows.
type spec struct {
	v *validation.Validator
}

func loadSpec() *spec {
	// Only answers are checked: the body limit and the security check of
	// requests play no part.
	return &spec{v: validation.New(apispec.Doc(), apispec.LimitsOf().RequestBodyBytes, func(context.Context) bool { return true }, false)}
}

// check validates an answer against the spec: a status the operation declares
// (by number below 500, since `default` is for the unexpected), the declared
// headers and the body's schema; an answer to a request that is for no
// operation (unknown path, other method) must have that status and the Error
// body; and every error is JSON. The request is matched by the API's path,
// without the prefix of the base URL.
func (s *spec) check(ex *exchange) error {
	r := ex.req.Clone(ex.req.Context())
	r.URL.Path, r.URL.RawPath = ex.apiPath.Path, ex.apiPath.RawPath
	return s.v.Response(r, ex.Status, ex.Header, ex.Body)
}

// response is the spec's response for ex's answer: the one its operation
// has for the status, or else its default; nil for an answer to no
// operation.
func (s *spec) response(ex *exchange) *openapi3.Response {
	m := s.v.Find(&http.Request{Method: ex.req.Method, URL: ex.apiPath})
	if m.Route == nil {
		return nil
	}
	resp := m.Route.Operation.Responses.Status(ex.Status)
	if resp == nil {
		resp = m.Route.Operation.Responses.Default()
	}
	if resp == nil {
		return nil
	}
	return resp.Value
}

// headers are the headers the spec declares for ex's answer.
func (s *spec) headers(ex *exchange) openapi3.Headers {
	if resp := s.response(ex); resp != nil {
		return resp.Headers
	}
	return nil
}

// declared is ex's body for comparing answers, as JSON: the members that
// the schema of its answer declares, and of any other member its name
// alone. The spec says nothing of an undeclared member's value, which may
// change from one answer to the next (a request id), but one that only
// some answers have tells them apart, as a header would (sameHeaders). A
// body that is not JSON, or of an answer the spec has no schema for, is as
// it came.
func (s *spec) declared(ex *exchange) []byte {
	resp := s.response(ex)
	var v any
	if resp == nil || json.Unmarshal(ex.Body, &v) != nil {
		return ex.Body
	}
	media := resp.Content.Get(ex.Header.Get("Content-Type"))
	if media == nil || media.Schema == nil {
		return ex.Body
	}
	return mustJSON(declaredOnly(media.Schema.Value, v, true))
}

// undeclaredMember is what declaredOnly keeps of an undeclared member's
// value when it keeps the name.
const undeclaredMember = "(undeclared)"

// declaredOnly is v without the members of its objects that schema does not
// declare, at any depth, or with their names alone (their values
// undeclaredMember) if names. An object whose schema takes any member
// (additionalProperties, as a 422's errors) keeps them all.
func declaredOnly(schema *openapi3.Schema, v any, names bool) any {
	switch v := v.(type) {
	case map[string]any:
		if extra := schema.AdditionalProperties.Schema; extra != nil {
			for k, e := range v {
				v[k] = declaredOnly(extra.Value, e, names)
			}
			return v
		}
		out := map[string]any{}
		for k, e := range v {
			switch p := schema.Properties[k]; {
			case p != nil:
				out[k] = declaredOnly(p.Value, e, names)
			case names:
				out[k] = undeclaredMember
			}
		}
		return out
	case []any:
		if schema.Items != nil {
			for i, e := range v {
				v[i] = declaredOnly(schema.Items.Value, e, names)
			}
		}
	}
	return v
}

// operation is the spec's operation ex was for, "" for none.
func (s *spec) operation(ex *exchange) string {
	r := &http.Request{Method: ex.req.Method, URL: ex.apiPath}
	if m := s.v.Find(r); m.Route != nil {
		return m.Route.Operation.OperationID
	}
	return ""
}
