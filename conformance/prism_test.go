package conformance_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/conformance"
)

// prismFailures are the checks that fail against Prism's mock server, which
// answers every request with the spec's examples: right shapes, no
// semantics. Both users' lists show the example's one connection, so no
// connection is proved the first user's own, and the checks that change one
// skip rather than touch it.
var prismFailures = []string{
	"list_connections",        // both users list the same connection
	"ignored_auth",            // any bearer token is accepted; no WWW-Authenticate
	"auth_before_body",        // no WWW-Authenticate; no answer to a malformed body
	"duplicate_authorization", // two tokens are accepted
	"path_uuid",               // a malformed UUID is 422, an unknown one 200
	"unsupported_media_type",  // charset=iso-8859-1 is 200
	"duplicate_content_type",  // two Content-Type lines are 200
	"body_too_large",          // a large body is 200
	"malformed_json",          // no answer to a malformed body
	"negative_data_rejection", // errors.label is never named
	"validation_message",      // ditto
	"unsupported_method",      // 405 as application/problem+json
	"head_request",            // 405
	"options_request",         // 405
	"unknown_route",           // 404 as application/problem+json
	"ratelimit_headers",       // X-RateLimit-Reset is the example's, from 2025
}

// TestPrismMock proves that the checks can fail: against Prism's mock of the
// same spec, the semantic checks fail and the run does not pass.
func TestPrismMock(t *testing.T) {
	prism, err := filepath.Abs("../api/node_modules/.bin/prism")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(prism); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Prism is not installed (cd api && npm ci): %v", err)
		}
		t.Skipf("Prism is not installed (cd api && npm ci): %v", err)
	}
	base := startPrism(t, prism)
	rep, err := conformance.Execute(t.Context(), conformance.Target{
		BaseURL: base, Token: "alice", OtherToken: "bob",
		// Prism never answers some malformed bodies: time them out quickly.
		HTTPClient: &http.Client{Timeout: 3 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed() {
		t.Error("the run passed against Prism's mock")
	}
	var failed []string
	for _, res := range rep.Results {
		switch {
		case res.Outcome == conformance.Fail:
			failed = append(failed, res.Check)
		case res.Outcome == conformance.Skip && !strings.Contains(res.Reason, "proved the first user's own"):
			t.Errorf("%s skipped for %q, want the lists that share a connection", res.Check, res.Reason)
		}
	}
	if !slices.Equal(failed, prismFailures) {
		t.Errorf("failed against Prism:\n%q\nwant:\n%q", failed, prismFailures)
	}
}

// startPrism runs `prism mock` on a free port and returns its URL once it
// answers.
func startPrism(t *testing.T, prism string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(prism, "mock", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "openapi.yaml")
	cmd.Dir = "../api"
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(base + listPath); err == nil {
			resp.Body.Close()
			return base
		}
	}
	t.Fatal("Prism did not start within a minute")
	return ""
}
