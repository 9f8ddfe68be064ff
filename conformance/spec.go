package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// spec is the embedded contract, and what it says of one answer.
type spec struct {
	doc   *openapi3.T
	error *openapi3.Schema // the Error body, for answers outside every operation
}

func loadSpec() (*spec, error) {
	doc, err := gen.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("conformance: the embedded spec: %w", err)
	}
	ref := doc.Components.Schemas["Error"]
	if ref == nil || ref.Value == nil {
		return nil, errors.New("conformance: the embedded spec has no Error schema")
	}
	return &spec{doc: doc, error: ref.Value}, nil
}

// formats checks the string formats the spec uses as the API means them; the
// date-time one is RFC 3339 (kin-openapi's default takes other forms too).
var formats = openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
	"uuid": openapi3.NewCallbackValidator(func(s string) error {
		if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
			return errors.New("not a UUID")
		}
		return nil
	}),
	"uri": openapi3.NewCallbackValidator(func(s string) error {
		if u, err := url.Parse(s); err != nil || !u.IsAbs() {
			return errors.New("not an absolute URI")
		}
		return nil
	}),
	"date-time": openapi3.NewCallbackValidator(func(s string) error {
		_, err := time.Parse(time.RFC3339Nano, s)
		return err
	}),
})

// schemaOptions keep a report short: the failing path and rule, without the
// whole schema and value.
var schemaOptions = []openapi3.SchemaValidationOption{formats, openapi3.DisableSchemaErrorDetails(), openapi3.MultiErrors()}

// route finds the operation of method and the request's path by the spec's
// path templates, segment by segment on the escaped path, so that an encoded
// slash stays inside its segment. kin-openapi's routers are not used: the
// spec's servers entry names Plannr's host, and the kit talks to any host.
func (s *spec) route(method string, u *url.URL) (*routers.Route, map[string]string) {
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for template, item := range s.doc.Paths.Map() {
		tsegs := strings.Split(strings.TrimPrefix(template, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		params := map[string]string{}
		matched := true
		for i, t := range tsegs {
			seg, err := url.PathUnescape(segs[i])
			if err != nil {
				seg = segs[i]
			}
			if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && seg != "" {
				params[t[1:len(t)-1]] = seg
			} else if t != segs[i] {
				matched = false
				break
			}
		}
		if !matched {
			continue
		}
		op := item.GetOperation(method)
		if op == nil {
			return nil, nil
		}
		return &routers.Route{Spec: s.doc, Path: template, PathItem: item, Method: method, Operation: op}, params
	}
	return nil, nil
}

// check validates an answer against the spec: a status the operation declares
// (by number below 500, since `default` is for the unexpected), the declared
// headers and the body's schema. An answer to a request that is for no
// operation (unknown path, other method, HEAD, OPTIONS) must still be JSON with
// the Error body when it is an error.
func (s *spec) check(ex *exchange) error {
	if ex.Status >= 400 {
		if err := s.errorBody(ex); err != nil {
			return err
		}
	}
	route, params := s.route(ex.req.Method, ex.req.URL)
	if route == nil {
		return nil
	}
	if ex.Status < 500 && route.Operation.Responses.Status(ex.Status) == nil {
		return fmt.Errorf("status %d is not declared for %s %s", ex.Status, route.Method, route.Path)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: ex.req, PathParams: params, Route: route},
		Status:                 ex.Status,
		Header:                 ex.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus:   true,
			MultiError:              true,
			SchemaValidationOptions: schemaOptions,
		},
	}
	in.SetBodyBytes(ex.Body)
	return openapi3filter.ValidateResponse(ex.req.Context(), in)
}

// errorBody checks the house rule that every error is JSON with a string
// message.
func (s *spec) errorBody(ex *exchange) error {
	if ex.req.Method == http.MethodHead {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ex.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fmt.Errorf("error answer has Content-Type %q, want application/json", ex.Header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(ex.Body, &v); err != nil {
		return fmt.Errorf("error body is not JSON: %w", err)
	}
	if err := s.error.VisitJSON(v, schemaOptions...); err != nil {
		return fmt.Errorf("error body is not the Error schema: %w", err)
	}
	return nil
}
