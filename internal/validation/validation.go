package validation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/uuid"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
)

// Validator checks requests (and, in tests, responses) against one spec.
type Validator struct {
	paths       []*path
	maxBody     int64
	tooLarge    *apierror.Error // the 413, the same for every request
	errorSchema *openapi3.Schema
	// Security and parameters are checked first, with the body left out, then
	// the body on its own (see Request).
	params *openapi3filter.Options
	body   []openapi3.SchemaValidationOption
}

// Authenticated tells kin-openapi's security check whether the request was
// authenticated. Authentication itself happens earlier (package auth); this makes
// the spec's security requirements enforced all the same.
type Authenticated func(context.Context) bool

// New builds a Validator for doc, refusing bodies over maxBody bytes.
func New(doc *openapi3.T, maxBody int64, authenticated Authenticated) *Validator {
	v := &Validator{
		maxBody:     maxBody,
		tooLarge:    apierror.New(http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", maxBody)),
		errorSchema: doc.Components.Schemas["Error"].Value,
	}
	for template, item := range doc.Paths.Map() {
		v.paths = append(v.paths, newPath(doc, template, item))
	}
	authFunc := func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
		if !authenticated(in.RequestValidationInput.Request.Context()) {
			return apierror.Unauthenticated
		}
		return nil
	}
	v.params = &openapi3filter.Options{
		MultiError:              true,
		ExcludeRequestBody:      true,
		AuthenticationFunc:      authFunc,
		SchemaValidationOptions: FormatOptions(),
	}
	// What openapi3filter.ValidateRequestBody would pass for a JSON body. The
	// defaults the schema sets are written into the decoded value, which is what
	// the handler gets (see validatedBody).
	v.body = append([]openapi3.SchemaValidationOption{
		openapi3.VisitAsRequest(),
		openapi3.MultiErrors(),
		openapi3.DefaultsSet(func() {}),
	}, FormatOptions()...)
	if doc.IsOpenAPI31OrLater() {
		v.body = append(v.body, openapi3.EnableJSONSchema2020())
	}
	return v
}

// FormatOptions checks the string formats the spec uses that kin-openapi does not
// check by itself. Per validation, not global, so that embedding this server
// changes nothing else in the program.
func FormatOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{formats}
}

// formats is one map for every validation: WithStringFormatValidator would make
// a new map in each validation it is applied to. No option after it may add to
// the map, which is shared.
var formats = openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
	"uuid": uuidFormat,
	"uri":  uriFormat,
})

// responseFormats checks answers: the request formats, and date-times that are
// not Go's zero time. "0001-01-01T00:00:00Z" is valid RFC 3339, but no
// connection of this API was made in year 1: it is what an unset Go value
// (a nullable.Nullable[time.Time] never set, say) looks like on the wire.
var responseFormats = openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
	"uuid": uuidFormat,
	"uri":  uriFormat,
	"date-time": openapi3.NewCallbackValidator(func(s string) error {
		t, err := time.Parse(time.RFC3339Nano, s)
		switch {
		case err != nil:
			return errors.New("not an RFC 3339 date-time")
		case t.Year() <= 1:
			return errors.New("the zero time of an unset Go value, not a timestamp")
		}
		return nil
	}),
})

var (
	uuidFormat = openapi3.NewCallbackValidator(func(s string) error {
		// uuid.Parse also takes braces, URNs and no dashes; the API takes the
		// canonical 36-character form only (any letter case).
		if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
			return errors.New("not a UUID")
		}
		return nil
	})
	uriFormat = openapi3.NewCallbackValidator(func(s string) error {
		if u, err := url.Parse(s); err != nil || !u.IsAbs() {
			return errors.New("not an absolute URI")
		}
		return nil
	})
)

// Validate checks a request that Find matched to an operation and that the
// server authenticated: security and parameters first, then the body. A path
// parameter that breaks its schema (a malformed UUID) is a 404, like an
// unknown one. The returned error is an *apierror.Error. On success, r.Body is
// the validated body, which the generated handler binds (see validatedBody).
func (v *Validator) Validate(w http.ResponseWriter, r *http.Request, m Match) error {
	ctx := r.Context()
	// kin-openapi's security step reads and re-buffers the whole body before it
	// asks AuthenticationFunc (5 allocations a PUT); with the body set aside for
	// that step it reads nothing. Setting it aside in place, rather than in a
	// copy of the request, spares the copy.
	unread := r.Body
	r.Body = http.NoBody
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: m.PathParams, Route: m.Route, Options: v.params}
	err := openapi3filter.ValidateRequest(ctx, in)
	r.Body = unread
	if err != nil {
		return paramsError(err)
	}
	rb := m.Route.Operation.RequestBody
	if rb == nil {
		return nil
	}
	media, data, err := v.readBody(w, r, rb.Value)
	if err != nil {
		return err
	}
	// The body is decoded once, by kin-openapi's own JSON decoder, and that value
	// is both what the schema checks and what the handler gets.
	// openapi3filter.ValidateRequestBody would read and copy the body again and
	// leave the handler to decode it a second time, with encoding/json matching
	// member names case-insensitively: {"Label": ...} would then have passed
	// the schema as an unknown property and still set the label.
	body := &validatedBody{}
	body.Reset(data)
	value, err := openapi3filter.JSONBodyDecoder(body, r.Header, media.Schema, nil)
	if err != nil {
		return bodyError(err)
	}
	value = normalizeStrings(value)
	if media.Schema != nil {
		if err := media.Schema.Value.VisitJSON(value, v.body...); err != nil {
			return bodyError(err)
		}
	}
	body.Reset(data)
	body.value = value
	r.Body = body
	return nil
}

// validatedBody is the body a validated request goes on with: its bytes, and
// the value that was validated. oapi-codegen's runtime.BindJSONBody (which the
// generated strict handler calls) binds that value instead of decoding the
// bytes: it looks for kin-openapi's ValidatedValue method, as
// openapi3filter.Options.KeepValidatedValue provides it.
type validatedBody struct {
	bytes.Reader
	value any
}

func (b *validatedBody) Close() error { return nil }

// ValidatedValue returns the body as decoded and validated, defaults included.
func (b *validatedBody) ValidatedValue() any { return b.value }

// readBody enforces what the schema cannot: the media type (415), the size (413)
// and well-formed JSON with nothing after it (400).
func (v *Validator) readBody(w http.ResponseWriter, r *http.Request, rb *openapi3.RequestBody) (*openapi3.MediaType, []byte, error) {
	contentType := r.Header.Get("Content-Type")
	media := rb.Content.Get(contentType)
	if media == nil || !utf8Charset(contentType) {
		return nil, nil, unsupportedMediaType
	}
	if r.ContentLength > v.maxBody {
		return nil, nil, v.tooLarge
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, v.maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, nil, v.tooLarge
	case err != nil:
		return nil, nil, apierror.New(http.StatusBadRequest, "The request body could not be read.")
	case len(bytes.TrimSpace(data)) == 0 && rb.Required:
		return nil, nil, apierror.New(http.StatusBadRequest, "The request body is missing.")
	case !json.Valid(data):
		return nil, nil, apierror.New(http.StatusBadRequest, "The request body is not valid JSON.")
	case !validUnicode(data):
		// encoding/json would quietly store U+FFFD in place of what was sent.
		return nil, nil, apierror.New(http.StatusBadRequest, "The request body must be UTF-8 encoded JSON.")
	}
	return media, data, nil
}

// paramsError maps a failure of the security or parameter checks.
func paramsError(err error) error {
	var sre *openapi3filter.SecurityRequirementsError
	if errors.As(err, &sre) {
		return apierror.Unauthenticated
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) && re.Parameter != nil && re.Parameter.In == openapi3.ParameterInPath {
		return apierror.NotFound
	}
	return apierror.New(http.StatusBadRequest, "The request is invalid.")
}

// bodyError maps a failure of the body check: schema failures become a 422 that
// lists every failure by field.
func bodyError(err error) error {
	var fields map[string][]string
	var order []string
	for _, se := range schemaErrors(err) {
		field := strings.Join(se.JSONPointer(), ".")
		if field == "" {
			field = "body"
		}
		if fields == nil {
			fields = map[string][]string{}
		}
		if _, seen := fields[field]; !seen {
			order = append(order, field)
		}
		fields[field] = append(fields[field], fieldMessage(field, se))
	}
	if fields == nil {
		return apierror.New(http.StatusBadRequest, "The request body is not valid JSON.")
	}
	return apierror.Validation(fields, order)
}

// schemaErrors flattens kin-openapi's error tree (MultiErrors inside
// RequestErrors inside MultiErrors) into its schema failures.
func schemaErrors(err error) []*openapi3.SchemaError {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []*openapi3.SchemaError
		for _, e := range me {
			out = append(out, schemaErrors(e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		// A SchemaError may itself wrap the MultiError of a nested value.
		if nested := schemaErrors(se.Origin); len(nested) > 0 {
			return nested
		}
		return []*openapi3.SchemaError{se}
	}
	return nil
}

// fieldMessage words a schema failure as Laravel does, without repeating the
// submitted value.
func fieldMessage(field string, se *openapi3.SchemaError) string {
	subject := "The " + field + " field"
	if field == "body" {
		subject = "The request body"
	}
	s := se.Schema
	switch se.SchemaField {
	case "type":
		if s.Type.Is(openapi3.TypeObject) && field == "body" {
			return "The request body must be a JSON object."
		}
		return subject + " must be " + typeName(s.Type) + "."
	case "nullable":
		return subject + " must not be null."
	case "maxLength":
		return fmt.Sprintf("%s must not be greater than %d characters.", subject, *s.MaxLength)
	case "minLength":
		return fmt.Sprintf("%s must be at least %d characters.", subject, s.MinLength)
	case "required":
		return subject + " is required."
	case "format":
		return subject + " must be a valid " + s.Format + "."
	case "enum":
		return "The selected " + field + " is invalid."
	}
	return subject + " is invalid."
}

func typeName(t *openapi3.Types) string {
	switch {
	case t.Is(openapi3.TypeString):
		return "a string"
	case t.Is(openapi3.TypeInteger):
		return "an integer"
	case t.Is(openapi3.TypeNumber):
		return "a number"
	case t.Is(openapi3.TypeBoolean):
		return "true or false"
	case t.Is(openapi3.TypeArray):
		return "an array"
	case t.Is(openapi3.TypeObject):
		return "an object"
	}
	return "of another type"
}
