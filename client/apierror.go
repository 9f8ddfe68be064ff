package client

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// APIError is a non-2xx answer from Plannr, decoded from its error body.
type APIError struct {
	// StatusCode is the HTTP status, e.g. 422.
	StatusCode int
	// Message is the body's message, or the HTTP status text when the body
	// has none (an answer from a proxy, typically).
	Message string
	// Errors holds a 422's messages by field name ("body" for the body as a
	// whole); nil for other statuses.
	Errors map[string][]string
}

// Error reads e.g. `plannr: HTTP 422: The label field must be a string.
// (label: The label field must be a string.)`, the fields in name order so
// the text is stable.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("plannr: HTTP %d: %s", e.StatusCode, e.Message)
	if len(e.Errors) == 0 {
		return msg
	}
	fields := make([]string, 0, len(e.Errors))
	for _, field := range slices.Sorted(maps.Keys(e.Errors)) {
		fields = append(fields, field+": "+strings.Join(e.Errors[field], " "))
	}
	return msg + " (" + strings.Join(fields, "; ") + ")"
}

// Response is what every response type of gen has, pointer or not:
// *gen.ListOAuthConnectionsResponse, *gen.UpdateOAuthConnectionResponse,
// *gen.DeleteOAuthConnectionResponse.
type Response interface {
	StatusCode() int
	GetBody() []byte
}

// CheckResponse returns nil for a 2xx response and an *APIError otherwise.
// It reads the raw body rather than gen's JSON4xx fields, which exist only
// for the statuses the spec lists per operation and only when the answer
// said it was JSON.
func CheckResponse(resp Response) error {
	code := resp.StatusCode()
	if code >= 200 && code < 300 {
		return nil
	}
	return errorFromBody(code, resp.GetBody())
}

// errorFromBody makes the *APIError of a non-2xx answer: the message and
// the field errors of the body where it has them in the API's shape, and
// the status text where it has no message (an answer from a proxy, an empty
// body, another shape).
func errorFromBody(code int, body []byte) *APIError {
	e := &APIError{StatusCode: code}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		_ = json.Unmarshal(fields["message"], &e.Message)
		if json.Unmarshal(fields["errors"], &e.Errors) != nil {
			e.Errors = nil
		}
	}
	if e.Message == "" {
		e.Message = cmp.Or(http.StatusText(code), "unknown status")
	}
	return e
}

// unreadableError is the *APIError of a non-2xx answer that says it is JSON
// but is not the API's error shape (empty, HTML, an errors array), which
// gen would fail to decode, losing the status: the call returns this error
// rather than gen's "unexpected end of JSON input". For any other answer it
// is nil, and resp is left as it came.
func unreadableError(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return nil
	}
	body, err := bodyOf(resp)
	if err != nil {
		return err
	}
	// The widest of gen's error types; the others are its fields.
	if json.Unmarshal(body, new(gen.ValidationError)) != nil {
		return errorFromBody(resp.StatusCode, body)
	}
	return nil
}

// bodyOf reads resp's body whole and puts it back, to be read again (by gen).
func bodyOf(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return body, err
}

// UnexpectedAnswerError is a 2xx answer unlike any the API sends for the call:
// an HTML page from a captive portal or from another server at the base URL,
// a 204 where the connection should come back, or JSON without the top-level
// properties that the spec requires of the call's success (another JSON
// service at the base URL, whose {"status":"ok"} has no "data"). Only that
// envelope is judged, not the whole schema: a Plannr that adds a property,
// or whose connections drift from the spec, still answers a success, which
// gen decodes as well as it can. The generated client would return any of
// these as a success, with a nil or zero JSON200; every call of this
// package's client returns this error instead.
type UnexpectedAnswerError struct {
	// StatusCode is the HTTP status, e.g. 200.
	StatusCode int
	// What describes the body: its Content-Type, "no body", "a body of no
	// stated type", "a body that is not a JSON object", or the properties a
	// JSON body lacks, as in "a JSON body without `data`".
	What string
}

func (e *UnexpectedAnswerError) Error() string {
	return fmt.Sprintf("plannr: the answer, HTTP %d with %s, is not one Plannr's API sends: is the base URL right?", e.StatusCode, e.What)
}

// unexpectedSuccess is the *UnexpectedAnswerError of a 2xx answer that is not
// the API's success, and nil for any other answer.
func unexpectedSuccess(req *http.Request, resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return nil
	}
	what, err := unlikeSuccess(req, resp)
	if err != nil || what == "" {
		return err
	}
	_ = resp.Body.Close()
	return &UnexpectedAnswerError{StatusCode: resp.StatusCode, What: what}
}

// apiSuccess reports whether resp is a 2xx that the spec declares for req's
// operation (a 200 of the operation's JSON envelope for a list or an update,
// a 204 for a delete, as the spec says them), or any 2xx to a request of no
// operation the spec knows, which the client cannot judge.
func apiSuccess(req *http.Request, resp *http.Response) bool {
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return false
	}
	what, err := unlikeSuccess(req, resp)
	return err == nil && what == ""
}

// unlikeSuccess says how resp, a 2xx answer to req, is unlike the API's
// success, as UnexpectedAnswerError.What; "" when it is that success or when
// req is of no operation the spec knows. It reads the body only when the
// status declares one, and puts it back.
func unlikeSuccess(req *http.Request, resp *http.Response) (string, error) {
	op, known := apispec.OperationAt(req.Method, req.URL.Path)
	if !known {
		return "", nil
	}
	envelope, jsonBody := op.Envelope[resp.StatusCode]
	declared := slices.Contains(op.Success, resp.StatusCode)
	if declared && !jsonBody {
		return "", nil
	}
	body, err := bodyOf(resp)
	if err != nil {
		return "", err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case len(body) == 0:
		return "no body", nil
	case !declared || mt != "application/json":
		return cmp.Or(resp.Header.Get("Content-Type"), "a body of no stated type"), nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || fields == nil { // JSON null decodes to a nil map
		return "a body that is not a JSON object", nil
	}
	var missing []string
	for _, name := range envelope {
		if _, ok := fields[name]; !ok {
			missing = append(missing, "`"+name+"`")
		}
	}
	if len(missing) > 0 {
		return "a JSON body without " + strings.Join(missing, ", "), nil
	}
	return "", nil
}

// Check takes a generated call's two results as they are and adds
// CheckResponse to them, so that one line both calls and checks:
//
//	resp, err := client.Check(c.UpdateOAuthConnectionWithResponse(ctx, id, body))
//
// An error of the call comes back unchanged (an *APIError already when the
// answer's body was unreadable); otherwise err is CheckResponse's.
// resp is returned either way, so that e.g. a 429's headers stay readable.
func Check[R Response](resp R, err error) (R, error) {
	if err != nil {
		return resp, err
	}
	return resp, CheckResponse(resp)
}
