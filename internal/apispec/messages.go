package apispec

import (
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
)

// FieldMessage words the schema failure se of field as the API's 422 does,
// from x-messages.validation: by the keyword that failed, with the field as
// :attribute and the keyword's value filled in. "body" is the body as a
// whole. No message repeats the value that failed.
func FieldMessage(field string, se *openapi3.SchemaError) string {
	msgs := MessagesOf().Validation
	s := se.Schema
	key := se.SchemaField
	args := []string{"attribute", field}
	switch se.SchemaField {
	case "type":
		if field == "body" && s.Type.Is(openapi3.TypeObject) {
			return msgs["body"]
		}
		key = "type." + typeName(s.Type)
	case "maxLength":
		args = append(args, "max", strconv.FormatUint(*s.MaxLength, 10))
	case "minLength":
		args = append(args, "min", strconv.FormatUint(s.MinLength, 10))
	case "format":
		args = append(args, "format", s.Format)
	}
	msg, ok := msgs[key]
	if !ok {
		msg = msgs["other"]
	}
	return Format(msg, args...)
}

func typeName(t *openapi3.Types) string {
	for _, name := range []string{openapi3.TypeString, openapi3.TypeInteger, openapi3.TypeNumber,
		openapi3.TypeBoolean, openapi3.TypeArray, openapi3.TypeObject} {
		if t.Is(name) {
			return name
		}
	}
	return "other"
}
