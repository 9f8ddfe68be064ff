package server

import (
	"net/http"
	"reflect"
	"strings"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// updateConnection is the PUT's handler: the generated one, except for a body
// that the compiled checks accepted. That body is bound straight to the
// generated type, and impl called as the generated strict handler calls it
// (same request object, response visited, errors to WriteError), because
// the generated handler's runtime.BindJSONBody binds a nullable.Nullable field
// by encoding the validated value back to JSON and decoding it again.
func updateConnection(impl gen.StrictServerInterface, generated http.HandlerFunc) http.HandlerFunc {
	bind := newBinder[gen.UpdateOAuthConnectionJSONRequestBody]()
	if bind == nil {
		return generated // a field of a type binder does not know
	}
	return func(w http.ResponseWriter, r *http.Request) {
		fields, ok := validation.CompiledFields(r)
		// The parameter was validated as a UUID in its canonical form, which
		// uuid.Parse reads as the generated binding would.
		id, err := uuid.Parse(r.PathValue("oauthConnection_uuid"))
		if !ok || err != nil {
			generated(w, r)
			return
		}
		resp, err := impl.UpdateOAuthConnection(r.Context(), gen.UpdateOAuthConnectionRequestObject{OAuthConnectionUUID: id, Body: bind.bind(fields)})
		if err == nil && resp != nil {
			err = resp.VisitUpdateOAuthConnectionResponse(w)
		}
		if err != nil {
			WriteError(w, r, err)
		}
	}
}

// binder binds the fields of a body the compiled checks accepted to T, a
// generated struct, as runtime.BindJSONValue would bind the value they
// describe: by exact JSON name, a property T lacks ignored, null as
// encoding/json decodes it.
type binder[T any] struct {
	fields []boundField
}

type boundField struct {
	name  string
	index int
}

// newBinder returns the binder of T, or nil if T has a field other than a
// string, a *string or a nullable.Nullable[string] with a JSON name.
func newBinder[T any]() *binder[T] {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil
	}
	b := &binder[T]{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported() || f.Anonymous || name == "" || name == "-":
			return nil
		case f.Type != reflect.TypeFor[string]() && f.Type != reflect.TypeFor[*string]() && f.Type != reflect.TypeFor[nullable.Nullable[string]]():
			return nil
		}
		b.fields = append(b.fields, boundField{name: name, index: i})
	}
	return b
}

func (b *binder[T]) bind(fields []validation.Field) *T {
	body := new(T)
	v := reflect.ValueOf(body).Elem()
	for _, f := range fields {
		for _, bf := range b.fields {
			if bf.name != f.Name {
				continue
			}
			switch p := v.Field(bf.index).Addr().Interface().(type) {
			case *nullable.Nullable[string]:
				if f.Null {
					p.SetNull()
				} else {
					p.Set(f.Value)
				}
			case **string:
				if f.Null {
					*p = nil
				} else {
					s := f.Value
					*p = &s
				}
			case *string:
				if !f.Null { // null leaves a string as it is
					*p = f.Value
				}
			}
		}
	}
	return body
}
