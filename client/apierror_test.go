package client

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestUnexpectedSuccess: a 2xx unlike the API's answer to the call is an
// error, not a success whose JSON200 is nil.
func TestUnexpectedSuccess(t *testing.T) {
	t.Parallel()
	const portal = "<html><body>Log in to the Wi-Fi</body></html>"
	tests := []struct {
		name        string
		call        op
		status      int
		contentType string
		body        string
		want        string // the error's What; "" for none
	}{
		{"a list answered by a captive portal", list, 200, "text/html", portal, "text/html"},
		{"a list answered as the API does", list, 200, "application/json", `{"data":[]}`, ""},
		{"an update answered 204", update, 204, "", "", "no body"},
		{"an update answered in plain text", update, 200, "", "ok", "text/plain; charset=utf-8"},
		{"a delete answered by a captive portal", remove, 200, "text/html", portal, "text/html"},
		{"a delete answered as the API does", remove, 204, "", "", ""},
		// Another JSON service at the base URL: JSON, but not the API's
		// envelope. Only the envelope is judged: a Plannr that adds a
		// property, or drifts inside data, is still a success.
		{"a list answered by another JSON service", list, 200, "application/json", `{"status":"ok"}`, "a JSON body without `data`"},
		{"an update answered by another JSON service", update, 200, "application/json", `{"status":"ok"}`,
			"a JSON body without `uuid`, `created_at`, `updated_at`, `provider`, `access_token_expires_at`, `refresh_token_expires_at`"},
		{"a delete answered by another JSON service", remove, 200, "application/json", `{"status":"ok"}`, "application/json"},
		{"a list answered by a JSON array", list, 200, "application/json", `[]`, "a body that is not a JSON object"},
		{"a list answered by JSON null", list, 200, "application/json", `null`, "a body that is not a JSON object"},
		{"a list answered by an empty JSON body", list, 200, "application/json", "", "no body"},
		{"a list with a property the spec does not know", list, 200, "application/json", `{"data":[` + connection + `],"meta":{"total":1}}`, ""},
		{"a list whose connections drifted", list, 200, "application/json", `{"data":[{"uuid":"7b29add1-9028-4c1e-a87b-3c80a2e495fe","status":"new"}]}`, ""},
		{"an update with a property the spec does not know", update, 200, "application/json; charset=utf-8", `{"status":"new",` + connection[1:], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			err := tt.call(t.Context(), newClient(t, srv.URL, WithoutPacing()))
			var unexpected *UnexpectedAnswerError
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (!errors.As(err, &unexpected) || unexpected.StatusCode != tt.status || unexpected.What != tt.want):
				t.Errorf("error %v, want an *UnexpectedAnswerError of %d with %q", err, tt.status, tt.want)
			}
		})
	}
}
