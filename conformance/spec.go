package conformance

import (
	"context"
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

// headers are the headers the spec declares for ex's answer: those of the
// response its operation has for the status, or else of its default; none
// for an answer to no operation.
func (s *spec) headers(ex *exchange) openapi3.Headers {
	m := s.v.Find(&http.Request{Method: ex.req.Method, URL: ex.apiPath})
	if m.Route == nil {
		return nil
	}
	resp := m.Route.Operation.Responses.Status(ex.Status)
	if resp == nil {
		resp = m.Route.Operation.Responses.Default()
	}
	if resp == nil || resp.Value == nil {
		return nil
	}
	return resp.Value.Headers
}

// operation is the spec's operation ex was for, "" for none.
func (s *spec) operation(ex *exchange) string {
	r := &http.Request{Method: ex.req.Method, URL: ex.apiPath}
	if m := s.v.Find(r); m.Route != nil {
		return m.Route.Operation.OperationID
	}
	return ""
}
