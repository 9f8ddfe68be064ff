// Package nilcheck finds the nil an interface hides. A nil pointer (or func,
// map, chan, slice) in an interface value is not nil to ==, so a constructor
// that checks for nil takes it, and each call of its methods then panics: in
// a server, a 500 for every request. Constructors refuse it with Error.
package nilcheck

import (
	"fmt"
	"reflect"
)

// Error returns an error saying that name is nil if v is nil or holds a nil
// value of a kind that has one, and nil otherwise.
func Error(name string, v any) error {
	if v == nil {
		return fmt.Errorf("%s is nil", name)
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Chan, reflect.Slice:
		if rv.IsNil() {
			return fmt.Errorf("%s is a nil %T", name, v)
		}
	}
	return nil
}
