package validation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/jsontext"
)

// msgs are the spec's messages.
var msgs = apispec.MessagesOf()

// InvalidJSON is the answer to a body that is not well-formed JSON, or that
// the handler cannot decode.
var InvalidJSON = apierror.New(http.StatusBadRequest, msgs.InvalidJSON).Prerender()

// The other answers of readBody and paramsError, the same for every request.
var (
	bodyUnreadable       = apierror.New(http.StatusBadRequest, msgs.BodyUnreadable).Prerender()
	bodyMissing          = apierror.New(http.StatusBadRequest, msgs.BodyMissing).Prerender()
	notUTF8              = apierror.New(http.StatusBadRequest, msgs.NotUTF8).Prerender()
	invalidRequest       = apierror.New(http.StatusBadRequest, msgs.InvalidRequest).Prerender()
	unsupportedMediaType = apierror.New(http.StatusUnsupportedMediaType, msgs.UnsupportedMediaType).Prerender()
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
	// compiled holds the compiled check of each operation that has one
	// (compiled.go); empty when New was told not to compile.
	compiled      map[*routers.Route]*operation
	authenticated Authenticated
}

// Authenticated tells kin-openapi's security check whether the request was
// authenticated. Authentication itself happens earlier (package auth); this makes
// the spec's security requirements enforced all the same.
type Authenticated func(context.Context) bool

// New builds a Validator for doc, refusing bodies over maxBody bytes. With
// compile, the simple schemas of doc are compiled into checks that accept what
// kin-openapi accepts at a fraction of the cost (compiled.go); without it,
// kin-openapi checks every request.
func New(doc *openapi3.T, maxBody int64, authenticated Authenticated, compile bool) *Validator {
	v := &Validator{
		maxBody:       maxBody,
		tooLarge:      apierror.New(http.StatusRequestEntityTooLarge, apispec.Format(msgs.BodyTooLarge, "max", strconv.FormatInt(maxBody, 10))).Prerender(),
		errorSchema:   doc.Components.Schemas["Error"].Value,
		compiled:      map[*routers.Route]*operation{},
		authenticated: authenticated,
	}
	for template, item := range doc.Paths.Map() {
		v.paths = append(v.paths, newPath(doc, template, item))
	}
	if compile {
		for _, route := range v.Routes() {
			if op := compileOperation(route); op != nil {
				v.compiled[route] = op
			}
		}
	}
	authFunc := func(ctx context.Context, _ *openapi3filter.AuthenticationInput) error {
		if !authenticated(ctx) {
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
var formats = openapi3.WithStringFormatValidators(formatValidators)

// formatValidators are the formats that FormatOptions checks; the compiled
// checks call the same validators.
var formatValidators = map[string]openapi3.StringFormatValidator{
	"uuid": uuidFormat,
	"uri":  uriFormat,
}

// responseFormats checks answers: UUIDs, URIs by their scheme alone
// (uriScheme), and date-times that are not Go's zero time.
// "0001-01-01T00:00:00Z" is valid RFC 3339, but no connection of this API
// was made in year 1: it is what an unset Go value (a
// nullable.Nullable[time.Time] never set, say) looks like on the wire.
var responseFormats = openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
	"uuid": uuidFormat,
	"uri":  uriScheme,
	"date-time": openapi3.NewCallbackValidator(func(s string) error {
		t, err := plannroauth.ParseTime(s)
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
	// uriScheme holds an answer's URI to what no URI of RFC 3986 breaks: a
	// scheme (section 3.1) and a colon. The rest is not held: url.Parse,
	// which uriFormat asks, is not RFC 3986 (it refuses a percent-encoded
	// host, takes a space in a path), and would fail some URIs that are right.
	uriScheme = openapi3.NewCallbackValidator(func(s string) error {
		if !uriSchemeSyntax.MatchString(s) {
			return errors.New("not an absolute URI")
		}
		return nil
	})
	uriSchemeSyntax = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	uriFormat       = openapi3.NewCallbackValidator(func(s string) error {
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
// ctx is the request's context as the server made it, with the caller that
// the security check asks for.
func (v *Validator) Validate(ctx context.Context, w http.ResponseWriter, r *http.Request, m Match) error {
	op := v.compiled[m.Route]
	decided := false
	if op != nil {
		var rejected *apierror.Error
		if rejected, decided = op.check(ctx, v.authenticated, m.names, m.values()); rejected != nil {
			return rejected
		}
	}
	if !decided {
		// kin-openapi's security step reads and re-buffers the whole body before
		// it asks AuthenticationFunc; with the body set aside for that step it
		// reads nothing. Setting it aside in place, rather than in a copy of the
		// request, spares the copy.
		unread := r.Body
		r.Body = http.NoBody
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: m.PathParams(), Route: m.Route, Options: v.params}
		err := openapi3filter.ValidateRequest(ctx, in)
		r.Body = unread
		if err != nil {
			return paramsError(err)
		}
	}
	if !oneLineEach(r.Header, m.Route) {
		return invalidRequest
	}
	rb := m.Route.Operation.RequestBody
	if rb == nil {
		return nil
	}
	// The media type first (415), then the body (413, 400): what the schema
	// cannot say.
	contentType := r.Header.Get("Content-Type")
	media := rb.Value.Content.Get(contentType)
	if media == nil || !utf8Charset(contentType) {
		return unsupportedMediaType
	}
	body := &validatedBody{schema: media.Schema}
	data, err := v.readBody(w, r, rb.Value.Required, body.small[:0])
	if err != nil {
		return err
	}
	body.data = data
	body.Reset(data)
	r.Body = body
	if op != nil && op.body != nil && media == op.media {
		fields, rejected, decided := op.body.check(data, body.room[:0])
		switch {
		case rejected != nil:
			return rejected
		case decided:
			body.fields, body.compiled = fields, true
			return nil
		}
	}
	// The body is decoded once, by kin-openapi's own JSON decoder, and that value
	// is both what the schema checks and what the handler gets.
	// openapi3filter.ValidateRequestBody would read and copy the body again and
	// leave the handler to decode it a second time, with encoding/json matching
	// member names case-insensitively: {"Label": ...} would then have passed
	// the schema as an unknown property and still set the label.
	value, err := body.decode(body)
	body.Reset(data)
	if err != nil {
		return bodyError(err)
	}
	if media.Schema != nil {
		if err := media.Schema.Value.VisitJSON(value, v.body...); err != nil {
			return bodyError(err)
		}
	}
	body.value = value
	return nil
}

// validatedBody is the body a validated request goes on with: its bytes, and
// the value that was validated. oapi-codegen's runtime.BindJSONBody (which the
// generated strict handler calls) binds that value instead of decoding the
// bytes: it looks for kin-openapi's ValidatedValue method, as
// openapi3filter.Options.KeepValidatedValue provides it.
type validatedBody struct {
	bytes.Reader
	data   []byte
	schema *openapi3.SchemaRef
	value  any
	// compiled: the compiled check accepted the body, whose fields are those
	// of its schema's properties; value is decoded only if asked for.
	compiled bool
	fields   []Field
	room     [2]Field // fields without an allocation, for a small schema
	// small holds a small body, in the same allocation.
	small [smallBody]byte
}

// smallBody is the largest body read into validatedBody itself: a PUT's
// label of a few words fits, and so does one a little too long. With it the
// struct is 576 bytes, one of the sizes Go's allocator hands out.
const smallBody = 360

func (b *validatedBody) Close() error { return nil }

// ValidatedValue returns the body as decoded and validated, defaults included.
func (b *validatedBody) ValidatedValue() any {
	if b.value == nil && b.compiled {
		// The compiled check accepted it, so it decodes as kin-openapi's path
		// would have decoded it; it has no defaults to set.
		b.value, _ = b.decode(bytes.NewReader(b.data))
	}
	return b.value
}

// decode decodes the body from in, as kin-openapi's path does, with its
// strings normalised.
func (b *validatedBody) decode(in io.Reader) (any, error) {
	value, err := openapi3filter.JSONBodyDecoder(in, nil, b.schema, nil)
	if err != nil {
		return nil, err
	}
	return normalizeStrings(value), nil
}

// CompiledFields returns the fields of r's body if the compiled checks
// accepted it: of each property of the body's schema that the body has, its
// value as normalised. A handler may bind them instead of the value of
// ValidatedValue, which they describe.
func CompiledFields(r *http.Request) ([]Field, bool) {
	b, ok := r.Body.(*validatedBody)
	if !ok || !b.compiled {
		return nil, false
	}
	return b.fields, true
}

// readBody reads the body, into buf if it has room, and enforces the size
// (413) and well-formed JSON in UTF-8 with nothing after it (400).
func (v *Validator) readBody(w http.ResponseWriter, r *http.Request, required bool, buf []byte) ([]byte, error) {
	if r.ContentLength > v.maxBody {
		return nil, v.tooLarge
	}
	var data []byte
	if n := r.ContentLength; n >= 0 {
		// The server delivers exactly the length declared, which is within
		// maxBody: read it in one go, into buf if it fits.
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		data = buf[:n]
		if _, err := io.ReadFull(r.Body, data); err != nil {
			return nil, bodyUnreadable
		}
	} else {
		var err error
		if data, err = io.ReadAll(http.MaxBytesReader(w, r.Body, v.maxBody)); err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				return nil, v.tooLarge
			}
			return nil, bodyUnreadable
		}
	}
	switch {
	case len(bytes.TrimSpace(data)) == 0 && required:
		return nil, bodyMissing
	case !json.Valid(data):
		return nil, InvalidJSON
	case !jsontext.ValidUnicode(data):
		// encoding/json would quietly store U+FFFD in place of what was sent.
		return nil, notUTF8
	}
	return data, nil
}

// oneLineEach reports whether each header that route's operation reads (its
// header parameters, and Content-Type when it has a body) is sent on one
// line at most, as the spec asks: of two, net/http's Get returns the first,
// and a proxy in front may have read the other.
func oneLineEach(h http.Header, route *routers.Route) bool {
	if route.Operation.RequestBody != nil && len(h["Content-Type"]) > 1 {
		return false
	}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value.In == openapi3.ParameterInHeader && len(h.Values(p.Value.Name)) > 1 {
				return false
			}
		}
	}
	return true
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
	return invalidRequest
}

// bodyError maps a failure of the body check: schema failures become a 422 that
// lists every failure by field.
func bodyError(err error) error {
	var fields map[string][]string
	var order []string
	for _, se := range schemaErrors(err) {
		field := strings.Join(se.JSONPointer(), ".")
		if field == "" {
			field = bodyField
		}
		if fields == nil {
			fields = map[string][]string{}
		}
		if _, seen := fields[field]; !seen {
			order = append(order, field)
		}
		fields[field] = append(fields[field], apispec.FieldMessage(field, se))
	}
	if fields == nil {
		return InvalidJSON
	}
	return apierror.Validation(fields, order)
}

// bodyField is the field of a 422 that names the body as a whole.
const bodyField = "body"

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

// utf8Charset reports whether a JSON Content-Type names no charset or UTF-8:
// JSON is UTF-8 (RFC 8259 section 8.1), and a body declared in another
// charset would be stored as mojibake.
func utf8Charset(contentType string) bool {
	if contentType == "application/json" {
		return true // what ParseMediaType finds, without its map
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8")
}

// normalizeStrings does to a decoded body what Laravel's global TrimStrings
// and ConvertEmptyStringsToNull middleware do before validation, to every
// string in it: plannroauth.Trim.
func normalizeStrings(v any) any {
	switch v := v.(type) {
	case string:
		if t, ok := plannroauth.Trim(v); ok {
			return t
		}
		return nil
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeStrings(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeStrings(e)
		}
	}
	return v
}
