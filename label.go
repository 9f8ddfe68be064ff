package plannroauth

import (
	"errors"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// The label's schema in the spec: UpdateOAuthConnectionRequest.label.
const labelSchema, labelField = "UpdateOAuthConnectionRequest", "label"

// LabelMaxLength is the most characters a label may have, after trimming: the
// spec's maxLength of the label, counted in Unicode code points, as JSON
// Schema counts a string's length (and Laravel's max rule, with mb_strlen).
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
