package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"strconv"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/httpapi"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

const (
	aliceToken = "alice-token"
	bobToken   = "bob-token"
	aliceConn  = "7b29add1-9028-4c1e-a87b-3c80a2e495fe" // the seed's example
	bobConn    = "0d6c1a54-3f0e-4b8e-9a57-2f1c8e9b1d11"
	connPath   = "/api/v1/oauth/connections/"
)

// fixedNow is the clock of updated_at in these tests.
var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)

// seed gives st alice, with the connection of Plannr's example, and bob.
func seed(t testing.TB, st store.Store) {
	t.Helper()
	d := *fixtures.Demo(aliceToken)
	d.Accounts = append(d.Accounts, plannroauth.Account{
		Token:    bobToken,
		Location: time.UTC,
		Connections: []plannroauth.Connection{{
			UUID: uuid.MustParse(bobConn), Provider: fixtures.Fundment,
			CreatedAt: fixedNow.Add(-time.Hour), UpdatedAt: fixedNow.Add(-time.Hour),
		}},
	})
	if err := st.Seed(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

type testServer struct {
	*httptest.Server
	store  store.Store
	client *http.Client
	logs   *bytes.Buffer
}

// newServer starts the real handler over loopback, with alice (the seed's
// example connection) and bob, the clock at fixedNow unless cfg says
// otherwise, Plannr's rate limit, and the log in the server's logs unless
// cfg.Options say otherwise. Every response the client receives is checked
// against the spec.
func newServer(t *testing.T, cfg httpapi.Config) *testServer {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = memory.New()
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	seed(t, cfg.Store)
	logs := &bytes.Buffer{}
	cfg.Options = append([]server.Option{server.WithLogger(slogTo(logs))}, cfg.Options...)
	cfg.Options = append(cfg.Options, server.WithResponseValidation(server.ResponseValidation{
		Report: func(_ *http.Request, err error) { t.Error(err) },
	}))
	h, err := httpapi.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: cfg.Store, client: &http.Client{}, logs: logs}
}

// TestNewHandlerRefuses: a Store that is missing, or a nil pointer that
// would panic on every request, fails NewHandler, naming it.
func TestNewHandlerRefuses(t *testing.T) {
	for _, st := range []store.Store{nil, (*memory.Store)(nil)} {
		if _, err := httpapi.NewHandler(httpapi.Config{Store: st}); err == nil || !strings.Contains(err.Error(), "Config.Store") {
			t.Errorf("Store %#v: %v, want an error about Config.Store", st, err)
		}
	}
	var reg *prometheus.Registry // a nil registry, not no registry
	if _, err := httpapi.NewHandler(httpapi.Config{Store: memory.New(), Metrics: reg}); err == nil || !strings.Contains(err.Error(), "Config.Metrics is a nil *prometheus.Registry") {
		t.Errorf("Metrics %#v: %v, want an error about Config.Metrics", reg, err)
	}
}

type request struct {
	method, path, token, contentType, body string
	header                                 http.Header
	// chunked sends the body without a Content-Length.
	chunked bool
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *testServer) do(t *testing.T, req request) response {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
		if req.chunked {
			body = struct{ io.Reader }{body} // a length http.NewRequest cannot see
		}
	}
	r, err := http.NewRequest(req.method, s.URL+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.header {
		r.Header[k] = v
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	if req.contentType != "" {
		r.Header.Set("Content-Type", req.contentType)
	}
	resp, err := s.client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func put(path, body string) request {
	return request{method: http.MethodPut, path: path, token: aliceToken, contentType: "application/json", body: body}
}

// TestRequests is the table of good and bad requests: every status the server
// sends, with the exact body.
func TestRequests(t *testing.T) {
	maxLabel := plannroauth.LabelMaxLength()
	long := `{"label":"` + strings.Repeat("a", maxLabel+1) + `"}`
	tooLong := apispec.Format(apispec.MessagesOf().Validation["maxLength"], "attribute", "label", "max", strconv.Itoa(maxLabel))
	badFormat := apispec.Format(apispec.MessagesOf().Validation["pattern"], "attribute", "label")
	notString := labelError(apispec.Format(apispec.MessagesOf().Validation["type.string"], "attribute", "label"))
	huge := `{"label":"` + strings.Repeat("a", 70<<10) + `"}`
	tests := []struct {
		name       string
		req        request
		wantStatus int
		wantBody   string // exact JSON, compared as values
		wantHeader map[string]string
	}{
		{"update the label", put(connPath+aliceConn, `{"label":"Renamed"}`), 200, seedResponse(`"Renamed"`, "2026-01-02T03:04:05+00:00"), nil},
		{"clear the label with null", put(connPath+aliceConn, `{"label":null}`), 200, seedResponse(`null`, "2026-01-02T03:04:05+00:00"), nil},
		{"absent label keeps it", put(connPath+aliceConn, `{}`), 200, seedResponse(`"My Fundment Account 1"`, "2026-01-02T03:04:05+00:00"), nil},
		{"unknown properties are ignored", put(connPath+aliceConn, `{"colour":"red"}`), 200, seedResponse(`"My Fundment Account 1"`, "2026-01-02T03:04:05+00:00"), nil},
		{"lower-case scheme", request{method: "PUT", path: connPath + aliceConn, contentType: "application/json", body: `{}`,
			header: http.Header{"Authorization": {"bearer " + aliceToken}}}, 200, "", nil},
		{"upper-case UUID", put(connPath+strings.ToUpper(aliceConn), `{}`), 200, "", nil},
		{"charset in content type", request{method: "PUT", path: connPath + aliceConn, token: aliceToken,
			contentType: "application/json; charset=utf-8", body: `{}`}, 200, "", nil},
		{"label trimmed, as Laravel's TrimStrings does", put(connPath+aliceConn, `{"label":"  Renamed \t"}`), 200, seedResponse(`"Renamed"`, "2026-01-02T03:04:05+00:00"), nil},
		{"blank label clears it, as ConvertEmptyStringsToNull does", put(connPath+aliceConn, `{"label":"  "}`), 200, seedResponse(`null`, "2026-01-02T03:04:05+00:00"), nil},
		{"byte-order mark, zero-width space and left-to-right mark trimmed", put(connPath+aliceConn, `{"label":"\ufeff\u200bRenamed\u200e"}`), 200, seedResponse(`"Renamed"`, "2026-01-02T03:04:05+00:00"), nil},
		{"a member given twice: the last counts", put(connPath+aliceConn, `{"label":"First","label":"Renamed"}`), 200, seedResponse(`"Renamed"`, "2026-01-02T03:04:05+00:00"), nil},
		{"escaped member name", put(connPath+aliceConn, `{"\u006cabel":"Renamed"}`), 200, seedResponse(`"Renamed"`, "2026-01-02T03:04:05+00:00"), nil},
		{"member names are case-sensitive", put(connPath+aliceConn, `{"Label":"Renamed"}`), 200, seedResponse(`"My Fundment Account 1"`, "2026-01-02T03:04:05+00:00"), nil},
		{"unknown members of any shape", put(connPath+aliceConn, `{"x":{"label":[1,"}",null]},"n":-1e3,"label":"Renamed","t":true}`), 200, seedResponse(`"Renamed"`, "2026-01-02T03:04:05+00:00"), nil},
		{"maxLength characters once trimmed", put(connPath+aliceConn, `{"label":" `+strings.Repeat("é", maxLabel)+` "}`), 200, "", nil},
		{"NUL trimmed at the ends", put(connPath+aliceConn, `{"label":"\u0000Renamed\u0000"}`), 200, seedResponse(`"Renamed"`, "2026-01-02T03:04:05+00:00"), nil},
		{"NUL alone clears the label", put(connPath+aliceConn, `{"label":"\u0000"}`), 200, seedResponse(`null`, "2026-01-02T03:04:05+00:00"), nil},
		{"NUL inside the label", put(connPath+aliceConn, `{"label":"a\u0000b"}`), 422,
			labelError(badFormat), nil},
		{"invalid UTF-8", put(connPath+aliceConn, "{\"label\":\"\xff\xfe\"}"), 400, `{"message":"The request body must be UTF-8 encoded JSON."}`, nil},
		{"lone surrogate escape", put(connPath+aliceConn, `{"label":"\ud800"}`), 400, `{"message":"The request body must be UTF-8 encoded JSON."}`, nil},
		{"surrogate pair escape", put(connPath+aliceConn, `{"label":"\ud83d\ude00"}`), 200, seedResponse(`"😀"`, "2026-01-02T03:04:05+00:00"), nil},
		{"charset other than UTF-8", request{method: "PUT", path: connPath + aliceConn, token: aliceToken,
			contentType: "application/json; charset=iso-8859-1", body: "{\"label\":\"Caf\xe9\"}"}, 415,
			`{"message":"The request body must be sent as application/json."}`, nil},
		{"two Authorization headers", request{method: "PUT", path: connPath + aliceConn, contentType: "application/json", body: `{"label":"x"}`,
			header: http.Header{"Authorization": {"Bearer " + aliceToken, "Bearer " + bobToken}}}, 401, `{"message":"Unauthenticated."}`, nil},
		{"two Content-Type lines", request{method: "PUT", path: connPath + aliceConn, token: aliceToken, body: `{"label":"x"}`,
			header: http.Header{"Content-Type": {"application/json", "text/plain"}}}, 400, `{"message":"The request is invalid."}`, nil},
		{"two Content-Type lines, both JSON", request{method: "PUT", path: connPath + aliceConn, token: aliceToken, body: `{"label":"x"}`,
			header: http.Header{"Content-Type": {"application/json", "application/json"}}}, 400, `{"message":"The request is invalid."}`, nil},
		{"encoded slash in the path", put("/api/v1/oauth/connections%2F"+aliceConn, `{"label":"x"}`), 404, `{"message":"The route could not be found."}`, nil},
		{"encoded characters of a UUID", put(connPath+"%37"+aliceConn[1:], `{}`), 200, "", nil},
		{"label too long", put(connPath+aliceConn, long), 422,
			labelError(tooLong), nil},
		{"numeric label", put(connPath+aliceConn, `{"label":42}`), 422,
			notString, nil},
		{"boolean label", put(connPath+aliceConn, `{"label":true}`), 422,
			notString, nil},
		{"object label", put(connPath+aliceConn, `{"label":{"text":"x"}}`), 422,
			notString, nil},
		{"array label", put(connPath+aliceConn, `{"label":["x"]}`), 422,
			notString, nil},
		{"label too long and with a NUL: both failures", put(connPath+aliceConn, `{"label":"`+strings.Repeat("a", maxLabel)+`\u0000b"}`), 422,
			`{"message":` + strconv.Quote(tooLong+" "+apispec.Plural(apispec.MessagesOf().Validation["more"], 1)) +
				`,"errors":{"label":[` + strconv.Quote(tooLong) + `,` + strconv.Quote(badFormat) + `]}}`, nil},
		{"label too long, then a good one: the last counts", put(connPath+aliceConn, long[:len(long)-1]+`,"label":"Renamed"}`), 200,
			seedResponse(`"Renamed"`, "2026-01-02T03:04:05+00:00"), nil},
		{"a good label, then one too long: the last counts", put(connPath+aliceConn, `{"label":"Renamed",`+long[1:]), 422,
			labelError(tooLong), nil},
		{"body is an array", put(connPath+aliceConn, `["label"]`), 422,
			`{"message":"The request body must be a JSON object.","errors":{"body":["The request body must be a JSON object."]}}`, nil},
		{"body is a string", put(connPath+aliceConn, `"label"`), 422,
			`{"message":"The request body must be a JSON object.","errors":{"body":["The request body must be a JSON object."]}}`, nil},
		{"body is a number", put(connPath+aliceConn, `42`), 422,
			`{"message":"The request body must be a JSON object.","errors":{"body":["The request body must be a JSON object."]}}`, nil},
		{"body is null", put(connPath+aliceConn, `null`), 422,
			`{"message":"The body field must not be null.","errors":{"body":["The body field must not be null."]}}`, nil},
		{"malformed JSON", put(connPath+aliceConn, `{"label":`), 400, `{"message":"The request body is not valid JSON."}`, nil},
		{"JSON with trailing data", put(connPath+aliceConn, `{} {}`), 400, `{"message":"The request body is not valid JSON."}`, nil},
		{"empty body", put(connPath+aliceConn, ``), 400, `{"message":"The request body is missing."}`, nil},
		{"not JSON", request{method: "PUT", path: connPath + aliceConn, token: aliceToken, contentType: "text/plain", body: `label=x`}, 415,
			`{"message":"The request body must be sent as application/json."}`, nil},
		{"no content type", request{method: "PUT", path: connPath + aliceConn, token: aliceToken, body: `{}`}, 415,
			`{"message":"The request body must be sent as application/json."}`, nil},
		{"body over 64 KiB", put(connPath+aliceConn, huge), 413, `{"message":"The request body is larger than 65536 bytes."}`, nil},
		{"chunked body", request{method: "PUT", path: connPath + aliceConn, token: aliceToken, contentType: "application/json",
			body: `{"label":"Renamed"}`, chunked: true}, 200, seedResponse(`"Renamed"`, "2026-01-02T03:04:05+00:00"), nil},
		{"chunked body over 64 KiB", request{method: "PUT", path: connPath + aliceConn, token: aliceToken, contentType: "application/json",
			body: huge, chunked: true}, 413, `{"message":"The request body is larger than 65536 bytes."}`, nil},
		{"no token", request{method: "PUT", path: connPath + aliceConn, contentType: "application/json", body: `{}`}, 401,
			`{"message":"Unauthenticated."}`, map[string]string{"WWW-Authenticate": `Bearer realm="api"`}},
		{"no token and a bad body", request{method: "PUT", path: connPath + aliceConn, contentType: "application/json", body: `{"label":`}, 401,
			`{"message":"Unauthenticated."}`, nil},
		{"unknown token", request{method: "GET", path: "/api/v1/oauth/connections", token: "nobody"}, 401, `{"message":"Unauthenticated."}`, nil},
		{"basic auth", request{method: "GET", path: "/api/v1/oauth/connections", header: http.Header{"Authorization": {"Basic YTpi"}}}, 401,
			`{"message":"Unauthenticated."}`, nil},
		{"unknown UUID", put(connPath+"00000000-0000-4000-8000-000000000000", `{}`), 404, `{"message":"OAuth2 connection not found."}`, nil},
		{"malformed UUID", put(connPath+"not-a-uuid", `{}`), 404, `{"message":"OAuth2 connection not found."}`, nil},
		{"malformed UUID and a bad body", put(connPath+"not-a-uuid", `{"label":42}`), 404, `{"message":"OAuth2 connection not found."}`, nil},
		{"UUID without dashes", put(connPath+strings.ReplaceAll(aliceConn, "-", ""), `{}`), 404, `{"message":"OAuth2 connection not found."}`, nil},
		{"another user's connection", put(connPath+bobConn, `{"label":"mine now"}`), 404, `{"message":"OAuth2 connection not found."}`, nil},
		{"delete another user's connection", request{method: "DELETE", path: connPath + bobConn, token: aliceToken}, 404,
			`{"message":"OAuth2 connection not found."}`, nil},
		{"wrong method", request{method: "PATCH", path: connPath + aliceConn, token: aliceToken}, 405,
			`{"message":"This method is not supported for this route. Supported methods: DELETE, PUT."}`, map[string]string{"Allow": "DELETE, PUT"}},
		{"wrong method on the list", request{method: "POST", path: "/api/v1/oauth/connections"}, 405,
			`{"message":"This method is not supported for this route. Supported methods: GET, HEAD."}`, map[string]string{"Allow": "GET, HEAD"}},
		{"unknown path", request{method: "GET", path: "/api/v1/nope"}, 404, `{"message":"The route could not be found."}`, nil},
		{"trailing slash", request{method: "GET", path: "/api/v1/oauth/connections/", token: aliceToken}, 404, `{"message":"The route could not be found."}`, nil},
		{"unclean path", request{method: "GET", path: "/api//v1/oauth/connections", token: aliceToken}, 404, `{"message":"The route could not be found."}`, nil},
		{"health", request{method: "GET", path: "/healthz"}, 200, `{"status":"ok"}`, nil},
		{"unknown page of the docs", request{method: "GET", path: "/docs/nope.js"}, 404, `{"message":"Not Found"}`, nil},
		{"health with the wrong method", request{method: "POST", path: "/healthz"}, 405,
			`{"message":"This method is not supported for this route. Supported methods: GET, HEAD."}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, httpapi.Config{Options: []server.Option{server.WithDocs()}})
			before := s.state(t)
			got := s.do(t, tt.req)
			// The same request to a server that checks it with kin-openapi alone.
			kin := newServer(t, httpapi.Config{Options: []server.Option{server.WithDocs(), server.WithoutCompiledChecks()}})
			if diff := sameAnswer(got, kin.do(t, tt.req)); diff != "" {
				t.Errorf("the compiled checks answer otherwise than kin-openapi alone: %s", diff)
			}
			if got.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", got.status, tt.wantStatus, got.body)
			}
			if tt.wantBody != "" {
				assertJSON(t, got.body, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got.header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, got.header.Get(k), v)
				}
			}
			if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			// Only what passed routing and authentication is counted.
			limited := tt.req.token != "" && tt.wantStatus != 401 && tt.wantStatus != 405 && !strings.Contains(tt.wantBody, "route could not be found")
			if limited && (got.header.Get("X-RateLimit-Limit") != "500" || got.header.Get("X-RateLimit-Remaining") != "499") {
				t.Errorf("rate-limit headers: limit %q remaining %q", got.header.Get("X-RateLimit-Limit"), got.header.Get("X-RateLimit-Remaining"))
			}
			if got.header.Get("Cache-Control") != "no-store" || got.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("security headers missing: %v", got.header)
			}
			if got.status >= 400 && s.state(t) != before {
				t.Errorf("a rejected request changed the store:\nbefore %s\nafter  %s", before, s.state(t))
			}
		})
	}
}

// sameAnswer describes how a and b differ, byte for byte, in status, headers
// and body; "" if they do not. The headers that name the request or the moment
// (Date, X-Request-Id, and X-RateLimit-Reset, which follows the clock) are
// left out.
func sameAnswer(a, b response) string {
	ha, hb := a.header.Clone(), b.header.Clone()
	for _, h := range []http.Header{ha, hb} {
		h.Del("Date")
		h.Del("X-Request-Id")
		h.Del("X-RateLimit-Reset")
	}
	switch {
	case a.status != b.status:
		return fmt.Sprintf("status %d, not %d", a.status, b.status)
	case !reflect.DeepEqual(ha, hb):
		return fmt.Sprintf("headers %v, not %v", ha, hb)
	case !bytes.Equal(a.body, b.body):
		return fmt.Sprintf("body %q, not %q", a.body, b.body)
	}
	return ""
}

// seedResponse is the seed's example connection with label and updated_at set.
func seedResponse(label, updatedAt string) string {
	return `{"uuid":"7b29add1-9028-4c1e-a87b-3c80a2e495fe","label":` + label + `,
	"provider":{"name":"fundment","label":"Fundment","logo_url":"https://api.plannrcrm.com/imgs/fundment-banner.png",
	  "authorization_url":"https://api.plannrcrm.com/oauth/fundment/authorize"},
	"created_at":"2025-06-25T15:10:48+01:00","updated_at":"` + updatedAt + `",
	"access_token_expires_at":"2025-06-25T18:10:48.890172Z","refresh_token_expires_at":"2026-06-25T14:10:48.890222Z",
	"refresh_authorization_url":"https://api.plannrcrm.com/oauth/fundment/authorize/7b29add1-9028-4c1e-a87b-3c80a2e495fe"}`
}

func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("body\n got %s\nwant %s", gb, wb)
	}
}

// state is every user's connections, as JSON, to compare before and after.
func (s *testServer) state(t *testing.T) string {
	t.Helper()
	var all []plannroauth.Connection
	for _, token := range []string{aliceToken, bobToken} {
		u, err := s.store.UserByToken(context.Background(), plannroauth.HashToken(token))
		if err != nil {
			t.Fatal(err)
		}
		conns, err := s.store.ListConnections(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, conns...)
	}
	b, _ := json.Marshal(all)
	return string(b)
}

func TestUpdatedAtUsesTheAccountOffset(t *testing.T) {
	summer := time.Date(2026, 7, 1, 12, 0, 0, 999, time.UTC)
	s := newServer(t, httpapi.Config{Now: func() time.Time { return summer }})
	got := s.do(t, put(connPath+aliceConn, `{"label":"x"}`))
	var c struct{ CreatedAt, UpdatedAt string }
	_ = json.Unmarshal(got.body, &struct {
		CreatedAt *string `json:"created_at"`
		UpdatedAt *string `json:"updated_at"`
	}{&c.CreatedAt, &c.UpdatedAt})
	// Alice's account is in Europe/London: British Summer Time in July.
	if c.UpdatedAt != "2026-07-01T13:00:00+01:00" || c.CreatedAt != "2025-06-25T15:10:48+01:00" {
		t.Errorf("created_at %s updated_at %s", c.CreatedAt, c.UpdatedAt)
	}
}

func TestListShowsOnlyTheCallersConnections(t *testing.T) {
	s := newServer(t, httpapi.Config{})
	got := s.do(t, request{method: "GET", path: "/api/v1/oauth/connections", token: aliceToken})
	if got.status != 200 {
		t.Fatalf("status %d", got.status)
	}
	assertJSON(t, got.body, `{"data":[`+seedResponse(`"My Fundment Account 1"`, "2025-06-25T15:10:48+01:00")+`]}`)
}

func TestDeleteThenUpdate(t *testing.T) {
	s := newServer(t, httpapi.Config{})
	steps := []struct {
		req    request
		status int
	}{
		{request{method: "DELETE", path: connPath + aliceConn, token: aliceToken}, 204},
		{request{method: "DELETE", path: connPath + aliceConn, token: aliceToken}, 404},
		{put(connPath+aliceConn, `{}`), 404},
		{request{method: "GET", path: "/api/v1/oauth/connections", token: aliceToken}, 200},
	}
	for i, step := range steps {
		if got := s.do(t, step.req); got.status != step.status {
			t.Fatalf("step %d: status %d, want %d", i, got.status, step.status)
		}
	}
	if got := s.do(t, steps[3].req); !bytes.Contains(got.body, []byte(`"data":[]`)) {
		t.Errorf("list after delete: %s", got.body)
	}
}

func TestRateLimit(t *testing.T) {
	s := newServer(t, httpapi.Config{Options: []server.Option{server.WithRateLimiter(server.NewFixedWindow(2, time.Hour))}})
	list := func(token string) response {
		return s.do(t, request{method: "GET", path: "/api/v1/oauth/connections", token: token})
	}
	for i, want := range []string{"1", "0"} {
		if got := list(aliceToken); got.status != 200 || got.header.Get("X-RateLimit-Remaining") != want {
			t.Fatalf("request %d: status %d remaining %q", i, got.status, got.header.Get("X-RateLimit-Remaining"))
		}
	}
	got := list(aliceToken)
	if got.status != 429 || got.header.Get("Retry-After") != "3600" || got.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("status %d Retry-After %q", got.status, got.header.Get("Retry-After"))
	}
	assertJSON(t, got.body, `{"message":"Too Many Attempts."}`)
	if got := list(bobToken); got.status != 200 {
		t.Errorf("bob is limited by alice's requests: %d", got.status)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	s := newServer(t, httpapi.Config{})
	resp, err := http.Get(s.URL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/yaml" || !bytes.HasPrefix(b, []byte("openapi: 3.0.3")) {
		t.Errorf("status %d type %q body %.40s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	s := newServer(t, httpapi.Config{Options: []server.Option{server.WithoutRateLimit()}})
	var wg sync.WaitGroup
	labels := map[string]bool{}
	for i := range 20 {
		label := "label-" + string(rune('a'+i))
		labels[label] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := s.do(t, put(connPath+aliceConn, `{"label":"`+label+`"}`)); got.status != 200 {
				t.Errorf("status %d", got.status)
			}
		}()
	}
	wg.Wait()
	got := s.do(t, request{method: "GET", path: "/api/v1/oauth/connections", token: aliceToken})
	var list struct {
		Data []struct{ Label string } `json:"data"`
	}
	_ = json.Unmarshal(got.body, &list)
	if len(list.Data) != 1 || !labels[list.Data[0].Label] {
		t.Errorf("final label %+v is none of those written", list.Data)
	}
}

func TestLogsOneLinePerRequestWithoutSecrets(t *testing.T) {
	s := newServer(t, httpapi.Config{})
	s.do(t, put(connPath+aliceConn, `{"label":"secret label"}`))
	s.do(t, request{method: "GET", path: "/api/v1/" + aliceToken, token: aliceToken})
	lines := strings.Split(strings.TrimSpace(s.logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), s.logs)
	}
	for _, want := range []string{"method=PUT", "route=/api/v1/oauth/connections/{oauthConnection_uuid}", "status=200", "request_id=", "duration="} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line lacks %q: %s", want, lines[0])
		}
	}
	for _, secret := range []string{aliceToken, "secret label"} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, s.logs)
		}
	}
}

// panicking and failing are stores whose reads go wrong, to prove that a panic
// or an error becomes a JSON 500 and reaches the request's log line.
type (
	panicking struct{ store.Store }
	failing   struct{ store.Store }
)

func (panicking) ListConnections(context.Context, plannroauth.UserID) ([]plannroauth.Connection, error) {
	panic("disk on fire")
}

func (failing) ListConnections(context.Context, plannroauth.UserID) ([]plannroauth.Connection, error) {
	return nil, errors.New("disk unplugged")
}

func TestUnexpectedFailuresAre500(t *testing.T) {
	tests := []struct {
		name    string
		store   store.Store
		wantLog string
	}{
		{"panic", panicking{memory.New()}, "disk on fire"},
		{"store error", failing{memory.New()}, `error="disk unplugged"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, httpapi.Config{Store: tt.store})
			got := s.do(t, request{method: "GET", path: "/api/v1/oauth/connections", token: aliceToken})
			if got.status != 500 {
				t.Fatalf("status %d", got.status)
			}
			assertJSON(t, got.body, `{"message":"Server Error"}`)
			if logs := s.logs.String(); !strings.Contains(logs, tt.wantLog) || !strings.Contains(logs, "status=500") {
				t.Errorf("the log lacks %q or the status:\n%s", tt.wantLog, logs)
			}
		})
	}
}

// labelError is the 422 body of a label that breaks one rule, message its
// message.
func labelError(message string) string {
	return `{"message":` + strconv.Quote(message) + `,"errors":{"label":[` + strconv.Quote(message) + `]}}`
}
