package conformance

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLaravelMessage(t *testing.T) {
	for _, tc := range []struct{ body, want, err string }{
		{`{"message":"m","errors":{"label":["A"]}}`, "A", ""},
		{`{"message":"m","errors":{"label":["A","B"]}}`, "A (and 1 more error)", ""},
		{`{"message":"m","errors":{"label":["A","B"],"body":["C"]}}`, "A (and 2 more errors)", ""},
		// The first field as sent, not in sorted order.
		{`{"message":"m","errors":{"zeta":["Z"],"alpha":["A"]}}`, "Z (and 1 more error)", ""},
		{`{"message":"m","errors":{}}`, "", "errors holds no message"},
		{`{"message":"m","errors":[]}`, "", "errors is not an object"},
		{`{"message":"m"}`, "", "errors is not an object"},
	} {
		got, err := laravelMessage([]byte(tc.body))
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %q, %v; want %q, %q", tc.body, got, err, tc.want, tc.err)
		}
	}
}

func TestReportWriters(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPut, "http://h/api/v1/oauth/connections/x", nil)
	req.Header.Set("Authorization", "Bearer secret-1")
	c := &probe{r: &runner{target: Target{Token: "secret-1", OtherToken: "secret-2"}}, res: &Result{}}
	ex := &exchange{req: req, body: []byte(`{"label":null}`), Status: 200,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"label":"kept"}`)}
	c.fail(ex, "label null, got %q", "kept")
	rep := &Report{Results: []Result{
		{Check: "label_null_clears", Outcome: Fail, Failures: c.res.Failures, Requests: 3, Duration: time.Millisecond},
		{Check: "use_after_free", Outcome: Skip, Reason: "one connection"},
		{Check: "label_set", Outcome: Pass},
	}, Requests: 5}

	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"FAIL label_null_clears",
		`expected: label null, got "kept"`,
		"PUT /api/v1/oauth/connections/x",
		"Authorization: Bearer <token>",
		`{"label":null}`,
		"answer: 200",
		`{"label":"kept"}`,
		"SKIP use_after_free",
		"(one connection)",
		"1 passed, 1 failed, 1 skipped; 5 requests",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "secret") {
		t.Errorf("text report shows a token:\n%s", text.String())
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Results[0].Failures[0].Status != 200 || back.Results[1].Reason != "one connection" {
		t.Errorf("JSON report: %v\n%s", err, js.String())
	}

	var junit bytes.Buffer
	if err := rep.WriteJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<testsuite name="plannr-conformance" tests="3" failures="1" skipped="1"`,
		`<failure message="1 failures; first: label null, got &#34;kept&#34;">`,
		`<skipped message="one connection">`,
		`<testcase name="label_set" classname="conformance" time="0.000"></testcase>`,
	} {
		if !strings.Contains(junit.String(), want) {
			t.Errorf("JUnit report lacks %q:\n%s", want, junit.String())
		}
	}
}

func TestRedactBasic(t *testing.T) {
	c := &probe{r: &runner{target: Target{Token: "alice", OtherToken: "bob"}}}
	if got := c.redact("Basic YWxpY2U6 and bob"); got != "Basic base64(<token>:) and <other-token>" {
		t.Errorf("redact: %q", got)
	}
}

func TestSpecCheck(t *testing.T) {
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	conn := `{"uuid":"7b29add1-9028-4c1e-a87b-3c80a2e495fe","label":null,"created_at":"2025-06-25T15:10:48+01:00","updated_at":"2025-06-25T15:10:48+01:00",` +
		`"provider":{"name":"fundment","label":"Fundment","logo_url":"https://x.example/l.png","authorization_url":"https://x.example/a"},` +
		`"access_token_expires_at":null,"refresh_token_expires_at":null}`
	id := "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe"
	jsonType := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body, err          string
	}{
		{"a list", "GET", "/api/v1/oauth/connections", 200, jsonType, `{"data":[` + conn + `]}`, ""},
		{"a connection", "PUT", id, 200, jsonType, conn, ""},
		{"a 404", "PUT", id, 404, jsonType, `{"message":"OAuth2 connection not found."}`, ""},
		{"a 204", "DELETE", id, 204, http.Header{}, ``, ""},
		{"a 500 under default", "DELETE", id, 500, jsonType, `{"message":"Server Error"}`, ""},
		{"HEAD", "HEAD", "/api/v1/oauth/connections", 200, jsonType, ``, ""},
		{"an unknown path", "GET", "/nope", 404, jsonType, `{"message":"The route could not be found."}`, ""},
		{"a 403", "PUT", id, 403, jsonType, `{"message":"This action is unauthorized."}`, "status 403 is not declared"},
		{"a text/plain 404", "GET", "/nope", 404, http.Header{"Content-Type": {"text/plain"}}, `404 page not found`, `Content-Type "text/plain"`},
		{"a message that is not a string", "DELETE", id, 404, jsonType, `{"message":404}`, "/message\": value must be a string"},
		{"a connection without its uuid", "PUT", id, 200, jsonType, strings.Replace(conn, `"uuid"`, `"id"`, 1), `property "uuid" is missing`},
		{"a created_at that is not RFC 3339", "PUT", id, 200, jsonType, strings.Replace(conn, `"2025-06-25T15:10:48+01:00"`, `"25/06/2025"`, 1), `/created_at`},
		{"a rate-limit header that is not an integer", "GET", "/api/v1/oauth/connections", 200,
			http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Limit": {"lots"}}, `{"data":[]}`, "X-RateLimit-Limit"},
	} {
		req, _ := http.NewRequest(tc.method, "http://h"+tc.path, nil)
		err := sp.check(&exchange{req: req, Status: tc.status, Header: tc.header, Body: []byte(tc.body)})
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}
