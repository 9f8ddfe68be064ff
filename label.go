package plannroauth

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

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

// CheckUTF8 refuses text that is not valid UTF-8, naming its first bad
// byte: JSON would carry U+FFFD in place of each, so the API would store or
// show another text than the one given, and PostgreSQL refuses it. A label
// (CheckLabel) and a provider's fields (Provider.Check) are held to it; so
// may be a label before it is sent.
func CheckUTF8(s string) error {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return fmt.Errorf("not valid UTF-8 (byte %#x at %d)", s[i], i)
			}
		}
	}
	return nil
}

// CheckLabel checks a label that is not given through the API (a fixture, a
// test's data) for one the API could hold: valid UTF-8 (CheckUTF8), trimmed
// (Trim) and not blank, which the API stores as null, and within the label's
// schema in the spec, a failure of which it words as the API's 422 would.
func CheckLabel(label string) error {
	if err := CheckUTF8(label); err != nil {
		return err
	}
	switch trimmed, kept := Trim(label); {
	case !kept:
		return errors.New("blank: the API stores a blank label as null")
	case trimmed != label:
		return errors.New("not trimmed: the API trims white space and NUL from a label's ends before it stores it")
	}
	schema := apispec.Doc().Components.Schemas[labelSchema].Value.Properties[labelField].Value
	err := schema.VisitJSON(label)
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return errors.New(apispec.FieldMessage(labelField, se))
	}
	return err
}

// Check refuses a connection, of an account in loc, that the API could not
// hold or show as the spec has it: a label CheckLabel refuses, or a time
// CheckTimes does. The error names the field.
func (c *Connection) Check(loc *time.Location) error {
	if c.Label != nil {
		if err := CheckLabel(*c.Label); err != nil {
			return fmt.Errorf("%s: %w", labelField, err)
		}
	}
	return c.CheckTimes(loc)
}
