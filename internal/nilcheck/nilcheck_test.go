package nilcheck

import (
	"io"
	"net/http"
	"testing"
)

// TestError: a nil, and a nil of each kind hidden in an interface, is an
// error naming its type; a value is not.
func TestError(t *testing.T) {
	var handler http.Handler
	tests := []struct {
		v    any
		want string // "" for no error
	}{
		{nil, "x is nil"},
		{handler, "x is nil"},
		{(*http.Server)(nil), "x is a nil *http.Server"},
		{http.HandlerFunc(nil), "x is a nil http.HandlerFunc"},
		{http.Header(nil), "x is a nil http.Header"},
		{&http.Server{}, ""},
		{http.NotFoundHandler(), ""},
		{io.Discard, ""},
		{0, ""},
	}
	for _, tt := range tests {
		got := ""
		if err := Error("x", tt.v); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Error(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
