package apierror

import (
	"net/http/httptest"
	"testing"
)

// TestValidationMessage: a 422's message is the first failure, and then how
// many more there are, as Laravel words it.
func TestValidationMessage(t *testing.T) {
	tests := []struct {
		fields map[string][]string
		order  []string
		want   string
	}{
		{map[string][]string{"label": {"A."}}, []string{"label"}, "A."},
		{map[string][]string{"label": {"A.", "B."}}, []string{"label"}, "A. (and 1 more error)"},
		{map[string][]string{"label": {"A."}, "body": {"B.", "C."}}, []string{"label", "body"}, "A. (and 2 more errors)"},
		{map[string][]string{}, nil, "The given data was invalid."},
	}
	for _, tt := range tests {
		if got := Validation(tt.fields, tt.order).Message; got != tt.want {
			t.Errorf("Validation(%v) message %q, want %q", tt.fields, got, tt.want)
		}
	}
}

// TestWriteKeepsTheCause: a 5xx *Error wrapped around a cause is written as
// the *Error, and the cause is noted for the log line.
func TestWriteKeepsTheCause(t *testing.T) {
	rec := &noter{ResponseRecorder: httptest.NewRecorder()}
	cause := &wrapped{Unavailable}
	Write(rec, httptest.NewRequest("GET", "/", nil), cause)
	if rec.Code != 503 || rec.Body.String() != `{"message":"Service Unavailable"}`+"\n" || rec.noted != error(cause) {
		t.Errorf("got %d %s, noted %v", rec.Code, rec.Body, rec.noted)
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "database down: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

type noter struct {
	*httptest.ResponseRecorder
	noted error
}

func (n *noter) NoteError(err error) { n.noted = err }
