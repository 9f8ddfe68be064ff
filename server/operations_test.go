package server

import (
	"reflect"
	"slices"
	"testing"

	"github.com/oapi-codegen/nullable"
	"github.com/oapi-codegen/runtime"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// TestBinderAsRuntime holds binder to the plain version, runtime.BindJSONValue
// of the value the fields describe, for each kind of field it binds.
func TestBinderAsRuntime(t *testing.T) {
	type body struct {
		N nullable.Nullable[string] `json:"n,omitempty"`
		P *string                   `json:"p"`
		S string                    `json:"s"`
	}
	b := newBinder[body]()
	if b == nil {
		t.Fatal("no binder")
	}
	for _, fields := range [][]validation.Field{
		nil,
		{{Name: "n", Value: "a"}, {Name: "p", Value: "b"}, {Name: "s", Value: "c"}},
		{{Name: "n", Null: true}, {Name: "p", Null: true}, {Name: "s", Null: true}},
		{{Name: "other", Value: "x"}},
	} {
		value := map[string]any{}
		for _, f := range fields {
			if f.Null {
				value[f.Name] = nil
			} else {
				value[f.Name] = f.Value
			}
		}
		var want body
		if err := runtime.BindJSONValue(value, &want); err != nil {
			t.Fatal(err)
		}
		if got := b.bind(fields); !reflect.DeepEqual(*got, want) {
			t.Errorf("%v: bound %#v, runtime.BindJSONValue %#v", fields, *got, want)
		}
	}
	if newBinder[gen.UpdateOAuthConnectionJSONRequestBody]() == nil {
		t.Error("no binder of the PUT's body: the generated handler binds it, slowly")
	}
	if newBinder[struct {
		N int `json:"n"`
	}]() != nil {
		t.Error("a binder of an int field")
	}
}

// TestEveryOperationIsServed: the table of handlers that New takes from the
// generated code holds exactly the spec's operations, and every operation
// with a JSON body has its fast binding, so that neither a new operation nor
// a new body is skipped without a word.
func TestEveryOperationIsServed(t *testing.T) {
	handlers := operations(nopImpl{}, nil)
	for _, op := range apispec.Operations() {
		key := op.Method + " " + op.Path
		if handlers[key] == nil {
			t.Errorf("%s (%s): no handler in the generated code", key, op.ID)
		}
		delete(handlers, key)
		if rb := op.Op.RequestBody; rb != nil && rb.Value.Content.Get("application/json") != nil && fastOperations[op.ID] == nil {
			t.Errorf("%s has a JSON body but no fast binding: add it to fastOperations, or say there why not", op.ID)
		}
	}
	for key := range handlers {
		t.Errorf("the generated code serves %s, which the spec lacks", key)
	}
	for id := range fastOperations {
		if !slices.ContainsFunc(apispec.Operations(), func(op apispec.Operation) bool { return op.ID == id }) {
			t.Errorf("fastOperations has %s, which the spec lacks", id)
		}
	}
}
