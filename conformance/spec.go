package conformance

import (
	"context"
	"fmt"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// spec is the embedded contract, and the validation the server kit checks
// its own answers with (server.WithResponseValidation): one reading of the
// spec, so that the kit and the server cannot disagree on what it allows.
type spec struct {
	v *validation.Validator
}

func loadSpec() (*spec, error) {
	doc, err := gen.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("conformance: the embedded spec: %w", err)
	}
	// Only answers are checked: the body limit and the security check of
	// requests play no part.
	return &spec{v: validation.New(doc, server.DefaultMaxBody, func(context.Context) bool { return true }, false)}, nil
}

// check validates an answer against the spec: a status the operation declares
// (by number below 500, since `default` is for the unexpected), the declared
// headers and the body's schema, date-times that are not Go's zero time; an
// answer to a request that is for no operation (unknown path, other method)
// must have that status and the Error body; and every error is JSON.
func (s *spec) check(ex *exchange) error {
	return s.v.Response(ex.req, ex.Status, ex.Header, ex.Body)
}
