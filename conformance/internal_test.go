package conformance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

func testContract(t *testing.T) *contract {
	t.Helper()
	k, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLaravelMessage(t *testing.T) {
	k := testContract(t)
	for _, tc := range []struct{ body, want, err string }{
		{`{"message":"m","errors":{"label":["A"]}}`, "A", ""},
		{`{"message":"m","errors":{"label":["A","B"]}}`, "A " + apispec.Plural(k.more, 1), ""},
		{`{"message":"m","errors":{"label":["A","B"],"body":["C"]}}`, "A " + apispec.Plural(k.more, 2), ""},
		// The first field as sent, not in sorted order.
		{`{"message":"m","errors":{"zeta":["Z"],"alpha":["A"]}}`, "Z " + apispec.Plural(k.more, 1), ""},
		{`{"message":"m","errors":{}}`, "", "errors holds no message"},
		{`{"message":"m","errors":[]}`, "", "errors is not an object"},
		{`{"message":"m"}`, "", "errors is not an object"},
	} {
		got, err := k.laravelMessage([]byte(tc.body))
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %q, %v; want %q, %q", tc.body, got, err, tc.want, tc.err)
		}
	}
}

// TestMessageProblem holds error bodies to x-messages: word for word, with
// the placeholders filled in, and a 422's errors exactly the failures of the
// body sent (when it has any), its message made of them.
func TestMessageProblem(t *testing.T) {
	k := testContract(t)
	m := k.msgs
	attr := func(key string, args ...string) string {
		return apispec.Format(m.Validation[key], append([]string{"attribute", k.labelKey}, args...)...)
	}
	label, long := attr("type.string"), attr("maxLength", "max", "7")
	tooLong, nul := attr("maxLength", "max", strconv.Itoa(k.labelMax)), attr("pattern")
	notString := mustJSONString(map[string]any{k.labelKey: 42})
	twoRules := mustJSONString(map[string]any{k.labelKey: strings.Repeat("x", k.labelMax) + "\x00y"}) // NUL inside, too long
	invalid := func(errs map[string][]string, first string) string {
		n := 0
		for _, msgs := range errs {
			n += len(msgs)
		}
		msg := first
		if n > 1 {
			msg += " " + apispec.Plural(k.more, n-1)
		}
		return mustJSONString(map[string]any{"message": msg, "errors": errs})
	}
	for _, tc := range []struct {
		status            int
		sent, body, field string
	}{
		{401, "", mustJSONString(map[string]string{"message": m.Unauthenticated}), ""},
		{413, "", mustJSONString(map[string]string{"message": apispec.Format(m.BodyTooLarge, "max", "10")}), ""},
		{405, "", mustJSONString(map[string]string{"message": apispec.Format(m.MethodNotAllowed, "methods", "GET, HEAD")}), ""},
		{404, "", `{"message":"Not Found"}`, "body.message"},
		{401, "", mustJSONString(map[string]string{"message": m.Unauthenticated + " (Bearer x)"}), "body.message"},
		// Without a failure in the body sent, the 422 is held to its own errors.
		{422, "", mustJSONString(map[string]any{"message": label, "errors": map[string][]string{"label": {label}}}), ""},
		{422, "", mustJSONString(map[string]any{"message": label + " " + apispec.Plural(k.more, 1), "errors": map[string][]string{"label": {label, long}}}), ""},
		{422, "", mustJSONString(map[string]any{"message": label, "errors": map[string][]string{"label": {label, long}}}), "body.message"},
		{422, "", mustJSONString(map[string]any{"message": "Bad label", "errors": map[string][]string{"label": {"Bad label"}}}), "body.errors.label"},
		{422, "", mustJSONString(map[string]any{"message": label, "errors": map[string][]string{}}), "body.errors"},
		// With one, to exactly its failures.
		{422, notString, invalid(map[string][]string{k.labelKey: {label}}, label), ""},
		{422, `[]`, invalid(map[string][]string{"body": {m.Validation["body"]}}, m.Validation["body"]), ""},
		{422, twoRules, invalid(map[string][]string{k.labelKey: {tooLong, nul}}, tooLong), ""},
		{422, twoRules, invalid(map[string][]string{k.labelKey: {nul, tooLong}}, nul), ""}, // the spec fixes no order
		{422, twoRules, invalid(map[string][]string{k.labelKey: {tooLong, nul}}, nul), "body.message"},
		{422, twoRules, invalid(map[string][]string{k.labelKey: {tooLong}}, tooLong), "body.errors." + k.labelKey},
		{422, notString, invalid(map[string][]string{k.labelKey: {label, attr("required")}}, label), "body.errors." + k.labelKey},
		{422, notString, invalid(map[string][]string{k.labelKey: {label, label}}, label), "body.errors." + k.labelKey},
		{422, notString, invalid(map[string][]string{k.labelKey: {long}}, long), "body.errors." + k.labelKey},
		{422, notString, invalid(map[string][]string{"body": {m.Validation["body"]}}, m.Validation["body"]), "body.errors." + k.labelKey},
		{422, notString, invalid(map[string][]string{k.labelKey: {label}, "name": {apispec.Format(m.Validation["required"], "attribute", "name")}}, label), "body.errors"},
	} {
		field, problem := k.messageProblem(tc.status, []byte(tc.sent), []byte(tc.body))
		if field != tc.field || (problem == "") != (tc.field == "") {
			t.Errorf("%d %s to %s: %q, %q; want field %q", tc.status, tc.body, tc.sent, field, problem, tc.field)
		}
	}
}

func mustJSONString(v any) string { return string(mustJSON(v)) }

func TestFieldMessages(t *testing.T) {
	k := testContract(t)
	v := k.msgs.Validation
	attr := func(key string, args ...string) string {
		return apispec.Format(v[key], append([]string{"attribute", k.labelKey}, args...)...)
	}
	over := strings.Repeat("x", k.labelMax+1)
	for _, tc := range []struct {
		field, body string
		want        []string
	}{
		{k.labelKey, `{"label":42}`, []string{attr("type.string")}},
		{k.labelKey, `{"label":"ok"}`, nil},
		{k.labelKey, `{"label":null}`, nil},
		// Trimmed first: NUL at the ends goes, and the rest is within the limit.
		{k.labelKey, `{"label":"\u0000` + over[1:] + `\u0000"}`, nil},
		{k.labelKey, `{"label":"` + over + `"}`, []string{attr("maxLength", "max", strconv.Itoa(k.labelMax))}},
		{k.labelKey, `{"label":"a\u0000b"}`, []string{attr("pattern")}},
		{"body", `[]`, []string{v["body"]}},
	} {
		got := k.fieldMessages(tc.field, []byte(strings.ReplaceAll(tc.body, `"label"`, `"`+k.labelKey+`"`)))
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s of %s: %q, want %q", tc.field, tc.body, got, tc.want)
		}
	}
}

func TestBearerChallenge(t *testing.T) {
	for _, tc := range []struct {
		values []string
		ok     bool
	}{
		{[]string{`Bearer realm="api"`}, true},
		{[]string{`Bearer realm="plannr", error="invalid_token"`}, true},
		{[]string{`Bearer error="invalid_token", error_description="The access token expired"`}, true},
		{[]string{`Bearer`}, true},
		{[]string{`bearer realm="x"`}, true},
		{[]string{`Basic realm="x", Bearer realm="y"`}, true},
		{[]string{`Basic realm="x"`, `Bearer`}, true},
		{nil, false},
		{[]string{``}, false},
		{[]string{`Basic realm="Bearer"`}, false},
		{[]string{`Basic realm="x", Bearer=y`}, false},
		{[]string{`Bearer realm="unterminated`}, false},
		{[]string{`Bearers realm="x"`}, false},
	} {
		if got := bearerChallenge(tc.values); got != tc.ok {
			t.Errorf("%q: %v, want %v", tc.values, got, tc.ok)
		}
	}
}

// TestRedact shows a token in every spelling an answer could echo it as a
// placeholder, and leaves placeholders alone, even for a token that is a
// word of one.
func TestRedact(t *testing.T) {
	const tok, other = "al/ice+1==", "bob.2"
	r := newRedactor(tok, other)
	basic := base64.StdEncoding.EncodeToString([]byte(tok + ":"))
	for _, tc := range []struct{ in, want string }{
		{"Bearer " + tok, "Bearer <token>"},
		{`{"token":"al\/ice+1=="}`, `{"token":"<token>"}`},
		{`{"token":"al\u002Fice\u002b1\u003d\u003D"}`, `{"token":"<token>"}`},
		{"?t=al%2Fice%2B1%3D%3d", "?t=<token>"},
		{"Basic " + basic, "Basic <token>"},
		{"?auth=Basic+" + url.QueryEscape(basic), "?auth=Basic+<token>"},
		{base64.RawURLEncoding.EncodeToString([]byte(tok)), "<token>"},
		// The whole Authorization value, as a server may log or echo it.
		{"auth=" + base64.StdEncoding.EncodeToString([]byte("Bearer "+tok)), "auth=<token>"},
		{base64.RawURLEncoding.EncodeToString([]byte("Bearer " + other)), "<other-token>"},
		{base64.StdEncoding.EncodeToString([]byte("Basic " + basic)), "<token>"},
		{"bob.2 and bob.2", "<other-token> and <other-token>"},
		{"<token> <other-token>", "<token> <other-token>"},
	} {
		if got := r.string(tc.in); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
	// Two Authorization values joined, encoded whole: each token at an
	// offset within a 3-byte group, the bits at its edges shared.
	joined := base64.StdEncoding.EncodeToString([]byte("Bearer " + tok + ", Bearer " + other))
	if got := r.string(joined); !strings.Contains(got, "<token>") || !strings.Contains(got, "<other-token>") {
		t.Errorf("%q: %q, want both tokens redacted", joined, got)
	}
	words := newRedactor("token", "other")
	if got := words.string(words.string("token other <token>")); got != "<token> <other-token> <token>" {
		t.Errorf("redacted twice: %q", got)
	}
	// A cut excerpt never shows half a token.
	body := strings.Repeat("x", 497) + tok
	if got := r.excerpt([]byte(body)); strings.Contains(got, "al/") || !strings.Contains(got, "<to") {
		t.Errorf("excerpt cut: %q", got[480:])
	}
}

// TestRedactShort holds a short token hidden where it is the token, and
// the text around it unmangled: such a token is a letter or two of words,
// numbers and UUIDs.
func TestRedactShort(t *testing.T) {
	r := newRedactor("e", "ab1")
	for _, tc := range []struct{ in, want string }{
		{"Bearer e", "Bearer <token>"},
		{basic("e"), "Basic <token>"},
		{`{"token":"e","other":"ab1"}`, `{"token":"<token>","other":"<other-token>"}`},
		{`{"token":"\u0065"}`, `{"token":"<token>"}`},
		{"?t=e&u=ab%31", "?t=<token>&u=<other-token>"},
		{"e said: ab1 (e.g. ab1.2)", "<token> said: <other-token> (e.g. ab1.2)"},
		{"expected: the label set, got 422 message", "expected: the label set, got 422 message"},
		{`{"message":"The e-mail field","uuid":"7b29add1-ab12-4c1e-a87b-3c80a2e495fe"}`,
			`{"message":"The e-mail field","uuid":"7b29add1-ab12-4c1e-a87b-3c80a2e495fe"}`},
		{"ab12 xab1 ab1_ é", "ab12 xab1 ab1_ é"},
		{"<token> <other-token>", "<token> <other-token>"},
	} {
		if got := r.string(tc.in); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReportWriters(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPut, "http://h/conformance/x", nil)
	req.Header.Set("Authorization", "Bearer secret-1")
	c := &probe{r: &runner{target: Target{Token: "secret-1", OtherToken: "secret-2"}, red: newRedactor("secret-1", "secret-2")}, res: &Result{}}
	ex := &exchange{req: req, body: []byte(`{"label":null}`), Status: 200,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Echo": {"secret-2"}}, Body: []byte(`{"label":"kept","by":"secret-1"}`)}
	c.fail(ex, "body.label", "label null, got %q", "kept")
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
		"field: body.label",
		"PUT /conformance/x",
		"Authorization: Bearer <token>",
		`{"label":null}`,
		"answer: 200",
		"X-Echo: <other-token>",
		`{"label":"kept","by":"<token>"}`,
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
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Results[0].Failures[0].Status != 200 || back.Results[0].Failures[0].Field != "body.label" || back.Results[1].Reason != "one connection" {
		t.Errorf("JSON report: %v\n%s", err, js.String())
	}

	var junit bytes.Buffer
	if err := rep.WriteJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<testsuite name="plannr-conformance" tests="3" failures="1" skipped="1"`,
		`<failure message="1 failures; first: body.label: label null, got &#34;kept&#34;">`,
		`<skipped message="one connection">`,
		`<testcase name="label_set" classname="conformance" time="0.000"></testcase>`,
	} {
		if !strings.Contains(junit.String(), want) {
			t.Errorf("JUnit report lacks %q:\n%s", want, junit.String())
		}
	}
}

func TestSpecCheck(t *testing.T) {
	sp := loadSpec()
	k := testContract(t)
	list := k.list.Path
	conn := `{"uuid":"7b29add1-9028-4c1e-a87b-3c80a2e495fe","label":null,"created_at":"2025-06-25T15:10:48+01:00","updated_at":"2025-06-25T15:10:48+01:00",` +
		`"provider":{"name":"fundment","label":"Fundment","logo_url":"https://x.example/l.png","authorization_url":"https://x.example/a"},` +
		`"access_token_expires_at":null,"refresh_token_expires_at":null}`
	id := k.itemPath("7b29add1-9028-4c1e-a87b-3c80a2e495fe")
	notFound := mustJSONString(map[string]string{"message": k.msgs.NotFound})
	jsonType := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body, err          string
	}{
		{"a list", "GET", list, 200, jsonType, `{"data":[` + conn + `]}`, ""},
		{"a connection", "PUT", id, 200, jsonType, conn, ""},
		{"a 404", "PUT", id, 404, jsonType, notFound, ""},
		{"a 204", "DELETE", id, 204, http.Header{}, ``, ""},
		{"a 500 under default", "DELETE", id, 500, jsonType, mustJSONString(map[string]string{"message": k.msgs.ServerError}), ""},
		{"HEAD", "HEAD", list, 200, jsonType, ``, ""},
		{"an unknown path", "GET", "/nope", 404, jsonType, mustJSONString(map[string]string{"message": k.msgs.RouteNotFound}), ""},
		{"a 403", "PUT", id, 403, jsonType, `{"message":"This action is unauthorized."}`, "updateOAuthConnection does not declare 403"},
		{"a text/plain 404", "GET", "/nope", 404, http.Header{"Content-Type": {"text/plain"}}, `404 page not found`, `Content-Type "text/plain"`},
		{"a message that is not a string", "DELETE", id, 404, jsonType, `{"message":404}`, "/message\": value must be a string"},
		{"a connection without its uuid", "PUT", id, 200, jsonType, strings.Replace(conn, `"uuid"`, `"id"`, 1), `property "uuid" is missing`},
		{"a created_at that is not RFC 3339", "PUT", id, 200, jsonType, strings.Replace(conn, `"2025-06-25T15:10:48+01:00"`, `"25/06/2025"`, 1), `/created_at`},
		{"a rate-limit header that is not an integer", "GET", list, 200,
			http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Limit": {"lots"}}, `{"data":[]}`, "X-RateLimit-Limit"},
	} {
		// Under a base URL with a path, the API's path is what is matched.
		req, _ := http.NewRequest(tc.method, "http://h/plannr"+tc.path, nil)
		apiPath, _ := url.Parse(tc.path)
		err := sp.check(&exchange{req: req, apiPath: apiPath, Status: tc.status, Header: tc.header, Body: []byte(tc.body)})
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestReadOnlyGuard shows that under ReadOnly the kit refuses, before
// sending it, a request that could change a real connection.
func TestReadOnlyGuard(t *testing.T) {
	var sent atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sent.Add(1) }))
	defer srv.Close()
	k := testContract(t)
	const real = "7b29add1-9028-4c1e-a87b-3c80a2e495fe"
	r := &runner{ctx: t.Context(), target: Target{ReadOnly: true, Token: "tok-a", OtherToken: "tok-b"}, api: k, spec: loadSpec(),
		client: newClient(Target{BaseURL: srv.URL}, 0), red: newRedactor("tok-a", "tok-b"), absent: "0d7c6a0e-8d36-4b0a-9f5e-3f8f6a1b2c3d",
		conns: []connection{{}}, seen: newObservations()}
	r.conns[0].UUID = uuid.MustParse(real)
	for _, tc := range []struct {
		method, path string
		refused      bool
	}{
		{http.MethodDelete, k.itemPath(real), true},
		{http.MethodDelete, k.itemPath(strings.ToUpper(strings.ReplaceAll(real, "-", ""))), true},
		{http.MethodPut, k.list.Path + "%2F" + real, true},
		{http.MethodPost, k.list.Path, true},
		{http.MethodDelete, k.itemPath(r.absent + "/" + real), true},
		{http.MethodDelete, k.itemPath(r.absent), false},
		{http.MethodPut, k.itemPath("{" + r.absent + "}"), false},
		{http.MethodGet, k.itemPath(real), false},
		{http.MethodOptions, k.list.Path + "%2F" + real, false},
	} {
		res := &Result{}
		c := &probe{r: r, ctx: t.Context(), res: res}
		before := sent.Load()
		func() {
			defer func() { _ = recover() }()
			c.send(request{method: tc.method, path: tc.path})
		}()
		refused := sent.Load() == before
		if refused != tc.refused || refused && (len(res.Failures) == 0 || !strings.Contains(res.Failures[0].Expected, "under -readonly")) {
			t.Errorf("%s %s: refused %v, want %v; %+v", tc.method, tc.path, refused, tc.refused, res.Failures)
		}
	}
}

// TestReadOnlyBudget holds DefaultBudget's doc to the code: the spec's own
// x-limits leave it as it is, and a spec that allows less lowers it to a
// quarter of its limit.
func TestReadOnlyBudget(t *testing.T) {
	for _, c := range []struct {
		name   string
		limits apispec.Limits
		want   int
	}{
		{"the spec's", apispec.LimitsOf(), DefaultBudget},
		{"100 a minute", apispec.Limits{RateLimit: 100, RateWindow: time.Minute}, 25},
		{"10 a second", apispec.Limits{RateLimit: 10, RateWindow: time.Second}, DefaultBudget},
		{"3 an hour", apispec.Limits{RateLimit: 3, RateWindow: time.Hour}, 1},
	} {
		if got := readOnlyBudget(c.limits); got != c.want {
			t.Errorf("%s (%d a %v): %d a minute, want %d", c.name, c.limits.RateLimit, c.limits.RateWindow, got, c.want)
		}
	}
}
