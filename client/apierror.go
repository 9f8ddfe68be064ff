package client

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
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

// Error reads e.g. `plannr: HTTP 422: The label field must not be greater
// than 255 characters. (label: The label field must not be greater than 255
// characters.)`, the fields in name order so the text is stable.
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
	var body struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors"`
	}
	if json.Unmarshal(resp.GetBody(), &body) != nil || body.Message == "" {
		body.Message = http.StatusText(code)
	}
	return &APIError{StatusCode: code, Message: body.Message, Errors: body.Errors}
}

// Check takes a generated call's two results as they are and adds
// CheckResponse to them, so that one line both calls and checks:
//
//	resp, err := client.Check(c.UpdateOAuthConnectionWithResponse(ctx, id, body))
//
// A transport error comes back unchanged; otherwise err is CheckResponse's.
// resp is returned either way, so that e.g. a 429's headers stay readable.
func Check[R Response](resp R, err error) (R, error) {
	if err != nil {
		return resp, err
	}
	return resp, CheckResponse(resp)
}
