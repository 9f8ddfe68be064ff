package validation

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// The compiled checks: the simple keywords of an operation's parameter and
// body schemas, turned at start into Go code that decides a request as
// kin-openapi would, and answers it as the kin-openapi path would: accepted,
// the handler getting the same value, or rejected with the same status and
// message, worded from the spec by the same apispec.FieldMessage. What they
// cannot decide (a schema with a keyword they do not know, a caller that is
// not authenticated) goes through kin-openapi. So the compiled checks change
// what a request costs, never what it is answered: TestRequests and
// FuzzServer in package httpapi send every request to a server without them
// too (server.WithoutCompiledChecks) and compare the answers byte for byte.
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
	// props are in the order of their names, which is the order kin-openapi
	// visits a body's members in, and so the order of a 422's failures.
	props []prop
	// The 422s of a body that is not an object, and of a null body.
	notObject, null *apierror.Error
}

type prop struct {
	name  string
	check stringCheck
	// message words each keyword's failure, and alone is the 422 of that
	// failure when it is the body's only one.
	message [keywords]string
	alone   [keywords]*apierror.Error
}

// keyword is a schema keyword that a property's value can fail: type and
// nullable as kin-openapi checks any value, then a string's keywords in the
// order kin-openapi checks them.
type keyword int

const (
	kwNullable keyword = iota
	kwType
	kwMaxLength
	kwPattern
	kwFormat
	keywords
)

// schemaField is each keyword as kin-openapi's SchemaError names it.
var schemaField = [keywords]string{"nullable", "type", "maxLength", "pattern", "format"}

// rejection is the 422 of the failure of keyword kw by field whose schema is
// s, the only one of a body, worded as bodyError words it.
func rejection(field string, s *openapi3.Schema, kw keyword) (string, *apierror.Error) {
	message := apispec.FieldMessage(field, &openapi3.SchemaError{Schema: s, SchemaField: schemaField[kw]})
	return message, apierror.Validation(map[string][]string{field: {message}}, []string{field}).Prerender()
}

// stringCheck is a string schema's keywords.
type stringCheck struct {
	nullable  bool
	maxLength int64             // -1 if none
	pattern   func(string) bool // nil if none; see matcher
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
	// A value that is not an object fails the body's type, and null (or a
	// string left blank by the trimming) its nullable, as bodyError words
	// a failure of the whole body.
	o := &object{}
	_, o.notObject = rejection(bodyField, s, kwType)
	_, o.null = rejection(bodyField, s, kwNullable)
	for name, ref := range s.Properties {
		check, ok := compileString(ref.Value)
		if !ok {
			return nil
		}
		p := prop{name: name, check: check}
		for kw := range keywords {
			if check.has(kw) {
				p.message[kw], p.alone[kw] = rejection(name, ref.Value, kw)
			}
		}
		o.props = append(o.props, p)
	}
	slices.SortFunc(o.props, func(a, b prop) int { return strings.Compare(a.name, b.name) })
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
		re, err := regexp.Compile(kinPattern(s.Pattern))
		if err != nil {
			return check, false // kin-openapi refuses it, with its own error
		}
		check.pattern = matcher(re)
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

// matcher returns what reports whether re matches a string, as
// re.MatchString does. A pattern that only says which characters a string
// may hold, ^[...]*$ or ^[...]+$ (the label's: no NUL), is a walk over the
// string's runes: Go's regexp steps its machine through each character,
// which costs a long label microseconds. Any other pattern is re's.
// TestMatcher holds the two to the same answers.
func matcher(re *regexp.Regexp) func(string) bool {
	p, err := syntax.Parse(re.String(), syntax.Perl) // as regexp.Compile parses it
	if err != nil {
		return re.MatchString
	}
	p = p.Simplify()
	if p.Op != syntax.OpConcat || len(p.Sub) != 3 || p.Sub[0].Op != syntax.OpBeginText || p.Sub[2].Op != syntax.OpEndText {
		return re.MatchString
	}
	repeat := p.Sub[1]
	if repeat.Op != syntax.OpStar && repeat.Op != syntax.OpPlus || repeat.Sub[0].Op != syntax.OpCharClass {
		return re.MatchString
	}
	ranges, nonEmpty := repeat.Sub[0].Rune, repeat.Op == syntax.OpPlus
	return func(s string) bool {
		if nonEmpty && s == "" {
			return false
		}
		for _, r := range s { // invalid UTF-8 is U+FFFD here as for regexp
			if !inClass(ranges, r) {
				return false
			}
		}
		return true
	}
}

// inClass reports whether r is in a character class of regexp/syntax: pairs
// of the lowest and highest rune of each range, sorted.
func inClass(ranges []rune, r rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if r < ranges[i] {
			return false
		}
		if r <= ranges[i+1] {
			return true
		}
	}
	return false
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

// has reports whether a value can fail kw of the string schema.
func (c *stringCheck) has(kw keyword) bool {
	switch kw {
	case kwNullable:
		return !c.nullable
	case kwMaxLength:
		return c.maxLength >= 0
	case kwPattern:
		return c.pattern != nil
	case kwFormat:
		return c.format != nil
	}
	return true // any schema refuses a value of another type
}

// fails returns the keywords of the string schema that value fails, in the
// order kin-openapi's visitJSONString checks them, as fails[:0] appended.
func (c *stringCheck) fails(value string, fails []keyword) []keyword {
	fails = fails[:0]
	if c.maxLength >= 0 {
		// kin-openapi's count of a string's length. It means UTF-16 code
		// units, but a rune Go has decoded is never a surrogate: it counts
		// code points, as JSON Schema and Laravel's max do.
		length := int64(utf8.RuneCountInString(value))
		if length > c.maxLength {
			fails = append(fails, kwMaxLength)
		}
	}
	if c.pattern != nil && !c.pattern(value) {
		fails = append(fails, kwPattern)
	}
	if c.format != nil && c.format.Validate(value) != nil {
		fails = append(fails, kwFormat)
	}
	return fails
}

// ok reports whether value passes the string schema.
func (c *stringCheck) ok(value string) bool {
	var room [keywords]keyword
	return len(c.fails(value, room[:0])) == 0
}

// check decides the security and the parameters of a request of this
// operation: nil if they pass, apierror.NotFound if a path parameter breaks
// its schema (paramsError's answer to kin-openapi's failure). decided is
// false when kin-openapi must decide: the caller is not authenticated (which
// the server rules out before it validates), or a parameter is missing.
func (op *operation) check(ctx context.Context, authenticated Authenticated, names, values []string) (rejected *apierror.Error, decided bool) {
	if op.needsAuth && !authenticated(ctx) {
		return nil, false
	}
	for i := range op.params {
		j := slices.Index(names, op.params[i].name)
		if j < 0 || values[j] == "" {
			return nil, false
		}
		if !op.params[i].check.ok(values[j]) {
			rejected = apierror.NotFound
		}
	}
	return rejected, true
}

// Field is a property of a body the compiled checks accepted, normalised as
// the kin-openapi path normalises it (normalizeStrings).
type Field struct {
	Name string
	// Null: the body has the property, as null (or a blank string).
	Null  bool
	Value string
	// notString: the body has the property as a number, a boolean, an
	// array or an object, which a string schema refuses. Never set in the
	// fields of an accepted body.
	notString bool
}

// check decides a body of the object schema as kin-openapi's decoding
// (strings normalised) and VisitJSON would: accepted, with the properties the
// schema defines that data has, as fields[:0] appended with one Field each;
// or rejected, with the 422 bodyError would make of kin-openapi's failures.
// decided is false if the scanner meets what it does not expect, which it
// then leaves to kin-openapi. data is well-formed JSON in valid UTF-8
// (readBody).
func (o *object) check(data []byte, fields []Field) (accepted []Field, rejected *apierror.Error, decided bool) {
	fields, kind := o.fields(data, fields[:0])
	switch kind {
	case bodyUndecided:
		return nil, nil, false
	case bodyOther:
		return nil, o.notObject, true
	case bodyNull:
		return nil, o.null, true
	}
	// kin-openapi visits the body's members by name, and a value's keywords
	// in order: the failures, in the order bodyError lists them.
	type failure struct {
		p  *prop
		kw keyword
	}
	var room [4]failure
	failures := room[:0]
	var kws [keywords]keyword
	for i := range o.props {
		p := &o.props[i]
		f := findField(fields, p.name)
		switch {
		case f == nil:
		case f.notString:
			failures = append(failures, failure{p, kwType})
		case f.Null:
			if !p.check.nullable {
				failures = append(failures, failure{p, kwNullable})
			}
		default:
			for _, kw := range p.check.fails(f.Value, kws[:0]) {
				failures = append(failures, failure{p, kw})
			}
		}
	}
	switch len(failures) {
	case 0:
		return fields, nil, true
	case 1:
		return nil, failures[0].p.alone[failures[0].kw], true
	}
	byField := map[string][]string{}
	var order []string
	for _, f := range failures {
		if _, seen := byField[f.p.name]; !seen {
			order = append(order, f.p.name)
		}
		byField[f.p.name] = append(byField[f.p.name], f.p.message[f.kw])
	}
	return nil, apierror.Validation(byField, order), true
}

// bodyKind is what fields found a body to be.
type bodyKind int

const (
	bodyUndecided bodyKind = iota // the scanner met what it does not expect
	bodyObject
	bodyNull  // null, or a string the trimming leaves blank
	bodyOther // any other value
)

// fields returns, of a body that is an object, the last value of each
// property of the schema that it has, as fields appended.
func (o *object) fields(data []byte, fields []Field) ([]Field, bodyKind) {
	i := skipSpace(data, 0)
	if i >= len(data) {
		return nil, bodyUndecided
	}
	if data[i] != '{' {
		if f, ok := scalar(data, i); !ok {
			return nil, bodyUndecided
		} else if f.Null {
			return nil, bodyNull
		}
		return nil, bodyOther
	}
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return fields, bodyObject
	}
	for {
		key, next, escaped, ok := str(data, i)
		if !ok {
			return nil, bodyUndecided
		}
		i = skipSpace(data, skipSpace(data, next)+1) // past the colon
		var p *prop
		if escaped {
			name, ok := unquote(key, escaped)
			if !ok {
				return nil, bodyUndecided
			}
			p = o.prop([]byte(name))
		} else {
			p = o.prop(key)
		}
		if p != nil {
			f, ok := scalar(data, i)
			if !ok {
				return nil, bodyUndecided
			}
			f.Name = p.name
			fields = setField(fields, f)
		}
		i = skipSpace(data, skipValue(data, i))
		if data[i] == '}' {
			return fields, bodyObject
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// scalar reads the JSON value at data[i] as a string property sees it: a
// string, trimmed, and null if nothing is left; null; or notString.
func scalar(data []byte, i int) (Field, bool) {
	switch data[i] {
	case 'n':
		return Field{Null: true}, true
	case '"':
		raw, _, escaped, ok := str(data, i)
		if !ok {
			return Field{}, false
		}
		value, ok := unquote(raw, escaped)
		if !ok {
			return Field{}, false
		}
		value, kept := plannroauth.Trim(value)
		return Field{Value: value, Null: !kept}, true
	}
	return Field{notString: true}, true
}

// findField returns the field called name, or nil.
func findField(fields []Field, name string) *Field {
	for i := range fields {
		if fields[i].Name == name {
			return &fields[i]
		}
	}
	return nil
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
	if old := findField(fields, f.Name); old != nil {
		*old = f
		return fields
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
