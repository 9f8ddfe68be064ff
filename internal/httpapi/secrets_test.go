package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/httpapi"
)

// TestErrorsLogNoSecrets extends TestLogsOneLinePerRequestWithoutSecrets to the
// error paths, where a careless logger would most like to explain itself: each
// refusal logs one line, without the token, the label, the body or the path.
func TestErrorsLogNoSecrets(t *testing.T) {
	const (
		badToken = "s3cret-unknown-token"
		secret   = "s3cret"
	)
	tests := []struct {
		name   string
		req    request
		status int
	}{
		{"401 unknown token", request{method: "GET", path: "/api/v1/oauth/connections", token: badToken}, 401},
		{"401 unknown token with a label", request{method: "PUT", path: connPath + aliceConn, token: badToken,
			contentType: "application/json", body: `{"label":"s3cret label"}`}, 401},
		{"401 malformed authorization", request{method: "GET", path: "/api/v1/oauth/connections",
			header: http.Header{"Authorization": {"Bearer s3cret token with spaces"}}}, 401},
		{"422 label too long", put(connPath+aliceConn, `{"label":"s3cret `+strings.Repeat("a", plannroauth.LabelMaxLength())+`"}`), 422},
		{"422 label of the wrong type", put(connPath+aliceConn, `{"label":["s3cret label"]}`), 422},
		{"400 malformed body", put(connPath+aliceConn, `{"label":"s3cret label`), 400},
		{"400 data after the body", put(connPath+aliceConn, `{"label":"x"} "s3cret label"`), 400},
		{"413 huge body", put(connPath+aliceConn, `{"label":"s3cret `+strings.Repeat("a", 70<<10)+`"}`), 413},
		{"415 not JSON", request{method: "PUT", path: connPath + aliceConn, token: aliceToken, contentType: "text/plain", body: "s3cret label"}, 415},
		{"404 another user's connection", put(connPath+bobConn, `{"label":"s3cret label"}`), 404},
		{"404 malformed UUID", put(connPath+"s3cret-uuid", `{"label":"x"}`), 404},
		{"404 unknown path", request{method: "GET", path: "/api/v1/s3cret/" + aliceToken, token: aliceToken}, 404},
		{"405 wrong method", request{method: "PATCH", path: connPath + aliceConn, token: aliceToken,
			contentType: "application/json", body: `{"label":"s3cret label"}`}, 405},
		{"forged request ID", request{method: "GET", path: "/api/v1/oauth/connections", token: badToken,
			header: http.Header{"X-Request-Id": {"id level=INFO msg=s3cret"}}}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, httpapi.Config{})
			if got := s.do(t, tt.req); got.status != tt.status {
				t.Fatalf("status %d, want %d: %s", got.status, tt.status, got.body)
			}
			logs := s.logs.String()
			if n := strings.Count(logs, "\n"); n != 1 {
				t.Errorf("%d log lines, want 1:\n%s", n, logs)
			}
			for _, leak := range []string{secret, aliceToken} {
				if strings.Contains(logs, leak) {
					t.Errorf("the log holds %q:\n%s", leak, logs)
				}
			}
		})
	}
}
