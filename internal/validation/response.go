package validation

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Response checks a response the server gave to r against the spec: its status is
// declared for the operation, its headers and body match their schemas, and every
// body is JSON. Answers that belong to no operation (404 and 405 of the router,
// or the unexpected, such as a closed server's 503) must have the Error body.
// Tests and the plannrtest fake run every response through it.
func (v *Validator) Response(r *http.Request, status int, header http.Header, body []byte) error {
	if status != http.StatusNoContent && r.Method != http.MethodHead {
		if err := isJSON(header); err != nil {
			return err
		}
	}
	m := v.Find(r)
	if routeErr := m.Err(); routeErr != nil {
		if r.Method == http.MethodOptions && status == http.StatusNoContent && m.Template != "" {
			return nil
		}
		if status != routeErr.Status && !unexpected(status) {
			return fmt.Errorf("%s %s belongs to no operation: got %d, want %d", r.Method, r.URL.Path, status, routeErr.Status)
		}
		if r.Method == http.MethodHead {
			return nil // the Error body a GET would have, not sent
		}
		return v.ErrorBody(header, body)
	}
	if !Declares(m.Route, status) {
		return fmt.Errorf("%s %s: %w", r.Method, m.Route.Path, Undeclared(m.Route, status))
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: m.PathParams(), Route: m.Route},
		Status:                 status,
		Header:                 header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus:   true,
			MultiError:              true,
			SchemaValidationOptions: responseOptions,
			// A HEAD answer is a GET's without its body.
			ExcludeResponseBody: r.Method == http.MethodHead,
		},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(r.Context(), in)
}

// Undeclared is the failure of an answer of status, which route's operation
// does not declare (Declares): one wording whether the check of a response
// finds it or the server refuses the status as it is written.
func Undeclared(route *routers.Route, status int) error {
	return fmt.Errorf("%s does not declare %d", route.Operation.OperationID, status)
}

// Declares reports whether the spec lets route's operation answer status: a
// status the client can act on declared by number, or the unexpected, which
// the operation's `default` holds.
func Declares(route *routers.Route, status int) bool {
	if unexpected(status) {
		return true
	}
	if status < 100 || status > 599 {
		return false
	}
	// Responses.Status, without the two strings it makes per call: this is
	// asked of every rejected request.
	r := route.Operation.Responses
	return r.Value(statusKeys[status-100]) != nil || r.Value(rangeKeys[status/100-1]) != nil
}

// statusKeys are the keys of Responses for the statuses 100 to 599, and
// rangeKeys those of their ranges, 1XX to 5XX.
var (
	statusKeys = func() (keys [500]string) {
		for i := range keys {
			keys[i] = strconv.Itoa(100 + i)
		}
		return keys
	}()
	rangeKeys = [...]string{"1XX", "2XX", "3XX", "4XX", "5XX"}
)

// unexpected reports whether status is what the spec's `default` responses
// are for: a failure of the server or of what it depends on (5xx), which any
// request may meet, before it is matched (a closed server's 503) as after. A
// status the client can act on must be declared by number.
func unexpected(status int) bool { return status >= http.StatusInternalServerError }

// ErrorBody checks an error response that no operation declares (a 404 or 405
// outside the API, say): it must still be JSON with the spec's Error body.
func (v *Validator) ErrorBody(header http.Header, body []byte) error {
	if err := isJSON(header); err != nil {
		return err
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return v.errorSchema.VisitJSON(value, append(responseOptions, openapi3.MultiErrors())...)
}

func isJSON(header http.Header) error {
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", header.Get("Content-Type"))
	}
	return nil
}

// responseOptions check answers with responseFormats, and word a failure by
// where it is and what it breaks, without the whole schema and value: a
// report is read by a person.
var responseOptions = []openapi3.SchemaValidationOption{responseFormats, openapi3.DisableSchemaErrorDetails()}
