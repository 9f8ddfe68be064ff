package validation

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
)

// TestEveryOperationCompiles fails when the spec gains a keyword the compiled
// checks do not know: answers stay right (kin-openapi checks what does not
// compile), but the operation loses the fast path, which should be a choice.
func TestEveryOperationCompiles(t *testing.T) {
	doc, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	v := New(doc, 1<<16, func(context.Context) bool { return true }, true)
	for _, route := range v.Routes() {
		op := v.compiled[route]
		if op == nil {
			t.Errorf("%s %s: no compiled check", route.Method, route.Path)
			continue
		}
		if route.Operation.RequestBody != nil && op.body == nil {
			t.Errorf("%s %s: the body's schema does not compile", route.Method, route.Path)
		}
	}
	if off := New(doc, 1<<16, nil, false); len(off.compiled) != 0 {
		t.Errorf("compiled checks without compile: %v", off.compiled)
	}
}

// TestCompileRefuses: a schema with a keyword beyond the compiled checks'
// does not compile, so that kin-openapi checks it.
func TestCompileRefuses(t *testing.T) {
	str := func(f func(*openapi3.Schema)) *openapi3.Schema {
		s := openapi3.NewStringSchema()
		f(s)
		return s
	}
	one := uint64(1)
	for name, s := range map[string]*openapi3.Schema{
		"minLength":      str(func(s *openapi3.Schema) { s.MinLength = 1 }),
		"broken pattern": str(func(s *openapi3.Schema) { s.Pattern = "^(a" }),
		"enum":           str(func(s *openapi3.Schema) { s.Enum = []any{"a"} }),
		"default":        str(func(s *openapi3.Schema) { s.Default = "a" }),
		"readOnly":       str(func(s *openapi3.Schema) { s.ReadOnly = true }),
		"unknown format": str(func(s *openapi3.Schema) { s.Format = "date-time" }),
		"allOf": str(func(s *openapi3.Schema) {
			s.AllOf = openapi3.SchemaRefs{openapi3.NewSchemaRef("", openapi3.NewStringSchema())}
		}),
		"integer":              openapi3.NewIntegerSchema(),
		"maxItems on a string": str(func(s *openapi3.Schema) { s.MaxItems = &one }),
	} {
		if _, ok := compileString(s); ok {
			t.Errorf("%s: compiled", name)
		}
		obj := openapi3.NewObjectSchema().WithProperty("p", s)
		if compileObject(obj) != nil {
			t.Errorf("object with %s: compiled", name)
		}
	}
	for name, obj := range map[string]*openapi3.Schema{
		"required":                   openapi3.NewObjectSchema().WithProperty("p", openapi3.NewStringSchema()).WithRequired([]string{"p"}),
		"additionalProperties false": openapi3.NewObjectSchema().WithoutAdditionalProperties(),
		"maxProperties":              openapi3.NewObjectSchema().WithMaxProperties(1),
		"nested object":              openapi3.NewObjectSchema().WithProperty("p", openapi3.NewObjectSchema()),
	} {
		if compileObject(obj) != nil {
			t.Errorf("%s: compiled", name)
		}
	}
	if _, ok := compileString(openapi3.NewStringSchema().WithMaxLength(3).WithNullable().WithFormat("uuid")); !ok {
		t.Error("a nullable string with maxLength and format uuid does not compile")
	}
}

// testSpec has the keywords the compiled checks know, in the combinations the
// API's own spec does not have: a property that is not nullable, a format,
// two properties whose failures come in the order of their names.
const testSpec = `openapi: 3.0.3
info: {title: compiled checks, version: "1"}
paths:
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    put:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                label: {type: string, nullable: true, maxLength: 5, pattern: '^[^x]*$'}
                id: {type: string, format: uuid}
      responses:
        "204": {description: done}
components:
  schemas:
    Error: {type: object, properties: {message: {type: string}}}
`

// testValidators are a Validator of testSpec with the compiled checks, and
// one without.
func testValidators(t *testing.T) (compiled, kin *Validator) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	yes := func(context.Context) bool { return true }
	compiled, kin = New(doc, 1<<16, yes, true), New(doc, 1<<16, yes, false)
	if len(compiled.compiled) != 1 {
		t.Fatal("testSpec does not compile")
	}
	return compiled, kin
}

// TestCompiledDecideAsKinOpenAPI: the compiled checks decide every body and
// parameter themselves, and as the kin-openapi path does: accepted, or
// rejected with the same status, message and failures by field.
func TestCompiledDecideAsKinOpenAPI(t *testing.T) {
	compiled, kin := testValidators(t)
	const id = "7b29add1-9028-4c1e-a87b-3c80a2e495fe"
	validate := func(v *Validator, path, body string) *apierror.Error {
		r := httptest.NewRequest(http.MethodPut, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if err := v.Validate(r.Context(), httptest.NewRecorder(), r, v.Find(r)); err != nil {
			return err.(*apierror.Error)
		}
		return nil
	}
	for _, tt := range []struct{ path, body string }{
		{"/things/" + id, `{}`},
		{"/things/" + id, `{"label":"abc","id":"` + id + `"}`},
		{"/things/" + id, `{"label":null}`},
		{"/things/" + id, `{"label":"  "}`},
		{"/things/" + id, `{"label":" abcde "}`},
		{"/things/" + id, `{"label":"abcdef"}`},
		{"/things/" + id, `{"label":"ab x"}`},
		{"/things/" + id, `{"label":"abcdex"}`},
		{"/things/" + id, `{"label":1}`},
		{"/things/" + id, `{"label":1e400}`},
		{"/things/" + id, `{"label":true}`},
		{"/things/" + id, `{"label":[]}`},
		{"/things/" + id, `{"label":{"a":"b"}}`},
		{"/things/" + id, `{"id":null}`},
		{"/things/" + id, `{"id":"  "}`},
		{"/things/" + id, `{"id":"\u0000"}`},
		{"/things/" + id, `{"id":"not-a-uuid"}`},
		{"/things/" + id, `{"id":false,"label":"abcdefx"}`},
		{"/things/" + id, `{"label":"abcdefx","id":"x"}`},
		{"/things/" + id, `{"label":"abcdef","label":"ok"}`},
		{"/things/" + id, `{"label":"ok","label":"abcdef"}`},
		{"/things/" + id, `{"\u006cabel":7}`},
		{"/things/" + id, `{"Label":7,"other":{"label":7}}`},
		{"/things/" + id, `[]`},
		{"/things/" + id, `["label"]`},
		{"/things/" + id, `"s"`},
		{"/things/" + id, `" "`},
		{"/things/" + id, `null`},
		{"/things/" + id, `12`},
		{"/things/" + id, `true`},
		{"/things/not-a-uuid", `{}`},
		{"/things/not-a-uuid", `{"label":1}`},
		{"/things/" + strings.ToUpper(id), `{}`},
	} {
		got, want := validate(compiled, tt.path, tt.body), validate(kin, tt.path, tt.body)
		if got == nil || want == nil {
			if got != want {
				t.Errorf("%s %s: compiled %v, kin-openapi %v", tt.path, tt.body, got, want)
			}
			continue
		}
		if got.Status != want.Status || got.Message != want.Message || !reflect.DeepEqual(got.Fields, want.Fields) || !reflect.DeepEqual(got.Header, want.Header) {
			t.Errorf("%s %s: compiled %d %q %v, kin-openapi %d %q %v", tt.path, tt.body, got.Status, got.Message, got.Fields, want.Status, want.Message, want.Fields)
		}
		if op := compiled.compiled[compiled.Routes()[0]]; strings.HasPrefix(tt.path, "/things/"+id) {
			if _, _, decided := op.body.check([]byte(tt.body), nil); !decided {
				t.Errorf("%s: left to kin-openapi", tt.body)
			}
		}
	}
}

// TestFields is the scanner of the compiled body check: the fields it finds
// in a body it accepts.
func TestFields(t *testing.T) {
	compiled, _ := testValidators(t)
	o := compiled.compiled[compiled.Routes()[0]].body
	const id = "7b29add1-9028-4c1e-a87b-3c80a2e495fe"
	tests := []struct {
		body string
		want []Field
	}{
		{`{}`, []Field{}},
		{` { } `, []Field{}},
		{`{"label":"abc"}`, []Field{{Name: "label", Value: "abc"}}},
		{`{"label":null}`, []Field{{Name: "label", Null: true}}},
		{`{"label":"  "}`, []Field{{Name: "label", Null: true}}},
		{"{\"label\":\" \\t ab\\u00e9 \\n\"}", []Field{{Name: "label", Value: "abé"}}},
		{`{"label":"\u0061"}`, []Field{{Name: "label", Value: "a"}}},
		{`{"\u006cabel":"a"}`, []Field{{Name: "label", Value: "a"}}},
		{`{"label":"a","label":"b"}`, []Field{{Name: "label", Value: "b"}}},
		{`{"label":7,"label":"b"}`, []Field{{Name: "label", Value: "b"}}},
		{`{"label":"12345"}`, []Field{{Name: "label", Value: "12345"}}},
		{`{"label":"ééééé"}`, []Field{{Name: "label", Value: "ééééé"}}},
		{`{"Label":[1,{"a":"}"}],"x":"\"","y":{"z":[]},"n":-1.5e3,"t":true,"label":"ok"}`, []Field{{Name: "label", Value: "ok"}}},
		{`{"id":"` + id + `","label":null}`, []Field{{Name: "id", Value: id}, {Name: "label", Null: true}}},
	}
	for _, tt := range tests {
		got, rejected, decided := o.check([]byte(tt.body), nil)
		if !decided || rejected != nil || !reflect.DeepEqual(append([]Field{}, got...), tt.want) {
			t.Errorf("%s: got %v %v %v, want %v", tt.body, got, rejected, decided, tt.want)
		}
	}
}

// TestValidatedValueAsKinOpenAPIs: of a body the compiled checks accepted,
// ValidatedValue (what runtime.BindJSONBody binds for server.Wrap's handlers)
// is the value the kin-openapi path hands on.
func TestValidatedValueAsKinOpenAPIs(t *testing.T) {
	doc, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	yes := func(context.Context) bool { return true }
	compiled, kin := New(doc, 1<<16, yes, true), New(doc, 1<<16, yes, false)
	value := func(v *Validator, body string) (any, bool) {
		r := httptest.NewRequest(http.MethodPut, "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if err := v.Validate(r.Context(), httptest.NewRecorder(), r, v.Find(r)); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		_, accepted := CompiledFields(r)
		return r.Body.(interface{ ValidatedValue() any }).ValidatedValue(), accepted
	}
	for _, body := range []string{
		`{}`,
		`{"label":"  a  "}`,
		`{"label":null}`,
		`{"label":" "}`,
		`{"x":{"y":[1,"  z  ",null]},"n":1.50,"label":"b"}`,
	} {
		got, accepted := value(compiled, body)
		want, _ := value(kin, body)
		if !accepted {
			t.Errorf("%s: not accepted by the compiled checks", body)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ValidatedValue %#v, kin-openapi's %#v", body, got, want)
		}
	}
}

// TestMatcher: the walk that stands in for a pattern of one character class
// answers as Go's regexp, which kin-openapi runs; other patterns are the
// regexp's own.
func TestMatcher(t *testing.T) {
	inputs := []string{"", "a", "abc", "a\x00b", "\x00", "ab\x00", "é", "日本", "x", "xa", "A-Z", "\xff", "a\nb", "\n", "\U0001F600"}
	for _, pattern := range []string{
		`^[^\u0000]*$`, `^[a-z]+$`, `^[^x]*$`, `^(?i)[a-c]*$`, `^[a-z]*`, `[a-z]*$`, `^abc$`, `^a|b$`, `^[a-z]{2}$`, `^.*$`, `^\w+$`,
	} {
		re := regexp.MustCompile(kinPattern(pattern))
		match := matcher(re)
		for _, in := range inputs {
			if got, want := match(in), re.MatchString(in); got != want {
				t.Errorf("%s on %q: %v, regexp %v", pattern, in, got, want)
			}
		}
	}
}
