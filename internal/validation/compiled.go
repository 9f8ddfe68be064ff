package validation

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

// The compiled checks: the simple keywords of an operation's parameter and
// body schemas, turned at start into Go code that only ever accepts. A request
// it accepts is one kin-openapi accepts too, and the handler gets the same
// value; anything else (every rejection, and every schema with a keyword the
// compiled checks do not know) goes through kin-openapi, which words the
// answer. So the compiled checks change what a request costs, never what it
// is answered: TestCompiledAnswersAsKinOpenAPI in package httpapi holds the
// two paths to the same bytes.
//
// What compiles: security requirements of declared schemes; path parameters
// of the simple style whose schema is a string; a JSON body whose schema is an
// object of such string properties, nothing required and no default. A string
// schema may have nullable, maxLength, pattern and a format of FormatOptions.

// operation is the compiled check of one operation.
type operation struct {
	// needsAuth: the operation requires an authenticated caller.
	needsAuth bool
	params    []param
	// body is nil if the operation has no body or its schema does not
	// compile; media is the body's media type that it checks.
	body  *object
	media *openapi3.MediaType
}

type param struct {
	name  string
	check stringCheck
}

// object is an object schema whose properties are all strings.
type object struct {
	props []prop
}

type prop struct {
	name  string
	check stringCheck
}

// stringCheck is a string schema's keywords.
type stringCheck struct {
	nullable  bool
	maxLength int64 // -1 if none
	pattern   *regexp.Regexp
	format    openapi3.StringFormatValidator
}

// compileOperation returns the compiled check of route, or nil if any part of
// it (security, a parameter) is beyond the compiled checks: kin-openapi then
// checks the whole request. A body schema that does not compile leaves body
// nil, and only the body goes to kin-openapi.
func compileOperation(route *routers.Route) *operation {
	if route.Spec.IsOpenAPI31OrLater() {
		return nil // JSON Schema 2020's rules for null and types are kin-openapi's alone
	}
	op := &operation{}
	security := route.Operation.Security
	if security == nil {
		security = &route.Spec.Security
	}
	for _, req := range *security {
		if len(req) == 0 {
			op.needsAuth = false // an empty requirement lets anyone in
			break
		}
		for name := range req {
			if c := route.Spec.Components; c == nil || c.SecuritySchemes[name] == nil || c.SecuritySchemes[name].Value == nil {
				return nil // kin-openapi refuses an undeclared scheme
			}
		}
		op.needsAuth = true
	}
	params := append(append(openapi3.Parameters{}, route.PathItem.Parameters...), route.Operation.Parameters...)
	for _, ref := range params {
		p := ref.Value
		if p.In != openapi3.ParameterInPath || p.Content != nil || (p.Style != "" && p.Style != openapi3.SerializationSimple) ||
			(p.Explode != nil && *p.Explode) || p.Schema == nil {
			return nil
		}
		check, ok := compileString(p.Schema.Value)
		if !ok {
			return nil
		}
		// An operation's parameter overrides the path item's of the same name.
		op.params = withoutParam(op.params, p.Name)
		op.params = append(op.params, param{name: p.Name, check: check})
	}
	if rb := route.Operation.RequestBody; rb != nil {
		if media := rb.Value.Content["application/json"]; media != nil && media.Schema != nil {
			op.body, op.media = compileObject(media.Schema.Value), media
		}
	}
	return op
}

// withoutParam returns ps without the parameter called name.
func withoutParam(ps []param, name string) []param {
	out := ps[:0]
	for _, p := range ps {
		if p.name != name {
			out = append(out, p)
		}
	}
	return out
}

// compileObject compiles an object schema of string properties; nil if s is
// anything else.
func compileObject(s *openapi3.Schema) *object {
	rest := *s
	rest.Properties = nil
	if !only(rest, openapi3.TypeObject) {
		return nil
	}
	o := &object{}
	for name, ref := range s.Properties {
		check, ok := compileString(ref.Value)
		if !ok {
			return nil
		}
		o.props = append(o.props, prop{name: name, check: check})
	}
	return o
}

// compileString compiles a string schema; false if s has a keyword other than
// type string, nullable, maxLength, pattern and a format of FormatOptions.
func compileString(s *openapi3.Schema) (stringCheck, bool) {
	check := stringCheck{nullable: s.Nullable, maxLength: -1}
	if s.MaxLength != nil {
		if *s.MaxLength > 1<<53 {
			return check, false
		}
		check.maxLength = int64(*s.MaxLength)
	}
	if s.Pattern != "" {
		var err error
		if check.pattern, err = regexp.Compile(kinPattern(s.Pattern)); err != nil {
			return check, false // kin-openapi refuses it, with its own error
		}
	}
	if s.Format != "" {
		if check.format = formatValidators[s.Format]; check.format == nil {
			return check, false
		}
	}
	rest := *s
	rest.Nullable, rest.MaxLength, rest.Pattern, rest.Format = false, nil, "", ""
	return check, only(rest, openapi3.TypeString)
}

// kinUnicodeEscape is the escape kin-openapi rewrites before it compiles a
// pattern with Go's regexp: ECMA-262's \uXXXX, which Go spells \x{XXXX}.
var kinUnicodeEscape = regexp.MustCompile(`\\u([0-9A-F]{4})`)

// kinPattern is pattern as kin-openapi compiles it (openapi3's intoGoRegexp),
// so that the compiled check matches exactly what kin-openapi matches.
func kinPattern(pattern string) string {
	return kinUnicodeEscape.ReplaceAllString(pattern, `\x{${1}}`)
}

// only reports whether s has the type typ and no keyword beyond those that
// do not change validation (descriptions, examples, extensions).
func only(s openapi3.Schema, typ string) bool {
	if s.Type == nil || !s.Type.Is(typ) {
		return false
	}
	s.Type, s.Extensions, s.Origin = nil, nil, nil
	s.Title, s.Description, s.Example, s.ExternalDocs, s.Deprecated = "", "", nil, nil, false
	return reflect.DeepEqual(s, openapi3.Schema{})
}

// ok reports whether value passes the string schema, as kin-openapi's
// visitJSONString would decide.
func (c *stringCheck) ok(value string) bool {
	if c.maxLength >= 0 {
		// kin-openapi's count of a string's length. It means UTF-16 code
		// units, but a rune Go has decoded is never a surrogate: it counts
		// code points, as JSON Schema and Laravel's max do.
		length := int64(utf8.RuneCountInString(value))
		if length > c.maxLength {
			return false
		}
	}
	if c.pattern != nil && !c.pattern.MatchString(value) {
		return false
	}
	return c.format == nil || c.format.Validate(value) == nil
}

// accepts reports whether the compiled checks accept the security and the
// parameters of a request of this operation.
func (op *operation) accepts(ctx context.Context, authenticated Authenticated, pathParams map[string]string) bool {
	if op.needsAuth && !authenticated(ctx) {
		return false
	}
	for i := range op.params {
		v, found := pathParams[op.params[i].name]
		if !found || v == "" || !op.params[i].check.ok(v) {
			return false
		}
	}
	return true
}

// Field is a property of a body the compiled checks accepted, normalised as
// the kin-openapi path normalises it (normalizeStrings).
type Field struct {
	Name string
	// Null: the body has the property, as null (or a blank string).
	Null  bool
	Value string
}

// fields returns the properties of data that the object schema defines, as
// fields[:0] appended with one Field each, or false if the compiled check
// cannot accept data. data is well-formed JSON in valid UTF-8 (readBody).
func (o *object) fields(data []byte, fields []Field) ([]Field, bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return fields, true
	}
	for {
		key, next, escaped, ok := str(data, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(data, skipSpace(data, next)+1) // past the colon
		var p *prop
		if escaped {
			name, ok := unquote(key, escaped)
			if !ok {
				return nil, false
			}
			p = o.prop([]byte(name))
		} else {
			p = o.prop(key)
		}
		if p == nil {
			i = skipValue(data, i)
		} else {
			f := Field{Name: p.name}
			if data[i] == 'n' { // null
				f.Null = true
				i += len("null")
			} else if data[i] == '"' {
				raw, next, escaped, ok := str(data, i)
				if !ok {
					return nil, false
				}
				if f.Value, ok = unquote(raw, escaped); !ok {
					return nil, false
				}
				i = next
				var kept bool
				f.Value, kept = plannroauth.Trim(f.Value)
				f.Null = !kept
			} else {
				return nil, false
			}
			if f.Null && !p.check.nullable || !f.Null && !p.check.ok(f.Value) {
				return nil, false
			}
			fields = setField(fields, f)
		}
		i = skipSpace(data, i)
		if data[i] == '}' {
			return fields, true
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// prop finds a property by its name as written, without an allocation.
func (o *object) prop(name []byte) *prop {
	for i := range o.props {
		if o.props[i].name == string(name) {
			return &o.props[i]
		}
	}
	return nil
}

// setField adds f, or replaces the field of the same name: of a member given
// twice the last counts, as in encoding/json.
func setField(fields []Field, f Field) []Field {
	for i := range fields {
		if fields[i].Name == f.Name {
			fields[i] = f
			return fields
		}
	}
	return append(fields, f)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// str returns the JSON string at data[i] as it is written, between its
// quotes, whether it has escapes, and the index after it.
func str(data []byte, i int) (raw []byte, next int, escaped, ok bool) {
	if data[i] != '"' {
		return nil, i, false, false
	}
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return data[i+1 : j], j + 1, escaped, true
		}
	}
	return nil, i, false, false
}

// unquote decodes a string str found, as encoding/json does.
func unquote(raw []byte, escaped bool) (string, bool) {
	if !escaped {
		return string(raw), true
	}
	var s string
	err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s)
	return s, err == nil
}

// skipValue returns the index after the JSON value at data[i].
func skipValue(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}
