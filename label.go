package plannroauth

import (
	"errors"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// The label's schema in the spec: UpdateOAuthConnectionRequest.label.
const labelSchema, labelField = "UpdateOAuthConnectionRequest", "label"

// LabelMaxLength is the most characters a label may have, after trimming: the
// spec's maxLength of the label, counted as the spec counts (UTF-16 code
// units, as JSON Schema's maxLength in kin-openapi and in JavaScript).
func LabelMaxLength() int {
	n, ok := apispec.MaxLength(labelSchema, labelField)
	if !ok {
		panic("plannroauth: the spec's label has no maxLength")
	}
	return n
}

// CheckLabel checks a label that is not given through the API (a fixture, a
// test's data) against the label's schema in the spec, and words a failure
// as the API's 422 would.
func CheckLabel(label string) error {
	schema := apispec.Doc().Components.Schemas[labelSchema].Value.Properties[labelField].Value
	err := schema.VisitJSON(label)
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return errors.New(apispec.FieldMessage(labelField, se))
	}
	return err
}

// Trim does to a string of a request body what Laravel's global TrimStrings
// and ConvertEmptyStringsToNull middleware do before validation: it trims
// Laravel's set at both ends (see IsTrimmed) and reports false, for null,
// when nothing is left. "  My label " is "My label"; "", " " and "\x00" are
// null.
func Trim(s string) (string, bool) {
	s = strings.TrimFunc(s, IsTrimmed)
	return s, s != ""
}

// IsTrimmed reports whether Trim trims r: white space as PCRE's \s in
// Unicode mode sees it (Go's unicode.IsSpace, and U+180E, which PCRE still
// counts), NUL, which PHP's trim adds, and the invisible byte-order mark,
// zero-width space and left-to-right mark that TrimStrings names.
func IsTrimmed(r rune) bool {
	switch r {
	case 0, '\u180E', '\uFEFF', '\u200B', '\u200E':
		return true
	}
	return unicode.IsSpace(r)
}
