package apierror

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
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
	}
	for _, tt := range tests {
		if got := Validation(tt.fields, tt.order).Message; got != tt.want {
			t.Errorf("Validation(%v) message %q, want %q", tt.fields, got, tt.want)
		}
	}
}

// TestWriteNotesTheCause: the cause of a 5xx goes to the log line, and the
// client sees only the Error.
func TestWriteNotesTheCause(t *testing.T) {
	rec := &noter{ResponseRecorder: httptest.NewRecorder()}
	cause := errors.New("database down")
	Write(rec, httptest.NewRequest("GET", "/", nil), Unavailable, cause)
	if rec.Code != 503 || rec.Body.String() != `{"message":"Service Unavailable"}`+"\n" || rec.noted != cause {
		t.Errorf("got %d %s, noted %v", rec.Code, rec.Body, rec.noted)
	}
}

type noter struct {
	*httptest.ResponseRecorder
	noted error
}

func (n *noter) NoteError(err error) { n.noted = err }

// TestPrerenderWritesWhatWriteEncodes: an Error rendered once is answered
// with the same status, headers and bytes as one encoded on each Write.
func TestPrerenderWritesWhatWriteEncodes(t *testing.T) {
	for _, newError := range []func() *Error{
		func() *Error { return New(http.StatusBadRequest, "Plain.") },
		func() *Error { return New(http.StatusBadRequest, `Escaped: "<&>" \ é`) },
		func() *Error {
			return &Error{Status: http.StatusUnauthorized, Message: "Unauthenticated.", Header: http.Header{"Www-Authenticate": {"Bearer"}}}
		},
		func() *Error {
			return Validation(map[string][]string{"label": {"A.", "B."}, "body": {"C."}}, []string{"label", "body"})
		},
	} {
		encoded, rendered := httptest.NewRecorder(), httptest.NewRecorder()
		Write(encoded, httptest.NewRequest("GET", "/", nil), newError(), nil)
		Write(rendered, httptest.NewRequest("GET", "/", nil), newError().Prerender(), nil)
		if encoded.Code != rendered.Code || !reflect.DeepEqual(encoded.Header(), rendered.Header()) || encoded.Body.String() != rendered.Body.String() {
			t.Errorf("prerendered %d %v %q, encoded %d %v %q", rendered.Code, rendered.Header(), rendered.Body,
				encoded.Code, encoded.Header(), encoded.Body)
		}
	}
}
