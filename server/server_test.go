package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	"github.com/prometheus/client_golang/prometheus"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

const (
	token    = "t0ken"
	connPath = "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe"
)

// capture is an implementation that keeps the body of the last update it got
// and answers each operation with what its fields say.
type capture struct {
	mu     sync.Mutex
	body   gen.UpdateOAuthConnectionRequest
	update gen.UpdateOAuthConnectionResponseObject
}

func (*capture) ListOAuthConnections(context.Context, gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	return gen.ListOAuthConnections200JSONResponse{Body: gen.OAuthConnectionList{Data: []gen.OAuthConnection{}}}, nil
}

func (*capture) DeleteOAuthConnection(context.Context, gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	return gen.DeleteOAuthConnection204Response{}, nil
}

func (c *capture) UpdateOAuthConnection(_ context.Context, req gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.body = *req.Body
	if c.update != nil {
		return c.update, nil
	}
	return gen.UpdateOAuthConnection404JSONResponse{NotFoundJSONResponse: server.NotFound}, nil
}

func anyToken(_ context.Context, tok string) (server.Identity, error) {
	if tok != token {
		return server.Identity{}, server.ErrUnauthenticated
	}
	return server.Identity{ID: "1", Principal: "alice"}, nil
}

func start(t *testing.T, impl gen.StrictServerInterface, opts ...server.Option) *httptest.Server {
	t.Helper()
	s, err := server.New(impl, append([]server.Option{server.WithAuth(anyToken), server.WithoutLogging()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url string, header http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// put sends a PUT of body with the known token.
func put(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodPut, url, http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}, body)
}

// TestHandlerGetsTheValidatedBody proves the generated handler binds the value
// that was validated, not its own decoding of the bytes: encoding/json would
// take {"Label": ...}, which the schema ignores as an unknown property, for the
// label, and so let a label of any length through. Strings arrive trimmed, and
// blank ones as null, as Laravel's middleware leaves them.
func TestHandlerGetsTheValidatedBody(t *testing.T) {
	impl := &capture{}
	srv := start(t, impl)
	tests := []struct {
		body string
		want nullable.Nullable[string]
	}{
		{`{"label":"x"}`, nullable.NewNullableWithValue("x")},
		{`{"label":null}`, nullable.NewNullNullable[string]()},
		{`{}`, nil},
		{`{"Label":"` + strings.Repeat("a", 300) + `"}`, nil},
		{`{"LABEL":"y","label":"x"}`, nullable.NewNullableWithValue("x")},
		{`{"label":"  My label \t"}`, nullable.NewNullableWithValue("My label")},
		{`{"label":" \n "}`, nullable.NewNullNullable[string]()},
		{`{"label":""}`, nullable.NewNullNullable[string]()},
		{`{"label":"` + strings.Repeat("a", plannroauth.LabelMaxLength()) + `   "}`, nullable.NewNullableWithValue(strings.Repeat("a", plannroauth.LabelMaxLength()))},
	}
	for _, tt := range tests {
		resp, body := put(t, srv.URL+connPath, tt.body)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%.40s: status %d %s", tt.body, resp.StatusCode, body)
			continue
		}
		got := impl.body.Label
		if got.IsSpecified() != tt.want.IsSpecified() || got.IsNull() != tt.want.IsNull() || got.GetOrEmpty() != tt.want.GetOrEmpty() {
			t.Errorf("%.40s: the handler got label %v, want %v", tt.body, got, tt.want)
		}
	}
}

// rawUpdate is an answer written by hand, as an implementation can return one.
type rawUpdate string

func (b rawUpdate) VisitUpdateOAuthConnectionResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := io.WriteString(w, string(b))
	return err
}

// TestResponseValidation proves that an answer breaking the spec never leaves
// silently: each is reported, and with Refuse the client gets a 500 instead;
// one of a status the operation does not declare gets the 500 without Refuse
// too.
func TestResponseValidation(t *testing.T) {
	when := time.Date(2025, 6, 25, 15, 10, 48, 0, time.FixedZone("", 3600))
	valid := gen.OAuthConnection{
		UUID:      uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe"),
		CreatedAt: plannroauth.Timestamp{Time: when}, UpdatedAt: plannroauth.Timestamp{Time: when},
		Provider: gen.OAuthProvider{Name: "fundment", Label: "Fundment",
			LogoURL: "https://api.plannrcrm.com/imgs/fundment-banner.png", AuthorizationURL: "https://api.plannrcrm.com/oauth/fundment/authorize"},
		AccessTokenExpiresAt:  nullable.NewNullNullable[plannroauth.Expiry](),
		RefreshTokenExpiresAt: nullable.NewNullNullable[plannroauth.Expiry](),
	}
	unsetTime := valid
	unsetTime.AccessTokenExpiresAt = nil // never set: Go sends "0001-01-01T00:00:00Z"
	tests := []struct {
		name   string
		answer gen.UpdateOAuthConnectionResponseObject
		want   string // in the report; "" for none
		always bool   // refused without Refuse too
	}{
		{"valid", gen.UpdateOAuthConnection200JSONResponse{Body: valid}, "", false},
		{"unset nullable time", gen.UpdateOAuthConnection200JSONResponse{Body: unsetTime}, "zero time", false},
		{"required field left out", rawUpdate(`{"uuid":"7b29add1-9028-4c1e-a87b-3c80a2e495fe"}`), "property \"provider\" is missing", false},
		{"undeclared status", gen.UpdateOAuthConnectiondefaultJSONResponse{StatusCode: 409, Body: gen.Error{Message: "Conflict"}}, "does not declare 409", true},
	}
	for _, refuse := range []bool{false, true} {
		for _, tt := range tests {
			var reports []error
			var mu sync.Mutex
			srv := start(t, &capture{update: tt.answer}, server.WithResponseValidation(server.ResponseValidation{
				Refuse: refuse,
				Report: func(_ *http.Request, err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() },
			}))
			resp, body := put(t, srv.URL+connPath, `{}`)
			mu.Lock()
			switch {
			case tt.want == "" && len(reports) > 0:
				t.Errorf("%s: reported %v", tt.name, reports)
			case tt.want != "" && (len(reports) != 1 || !strings.Contains(reports[0].Error(), tt.want)):
				t.Errorf("%s: reported %v, want one report about %q", tt.name, reports, tt.want)
			}
			mu.Unlock()
			refused := tt.always || refuse && tt.want != ""
			if refused && (resp.StatusCode != 500 || body != `{"message":"Server Error"}`+"\n") {
				t.Errorf("%s, refused: the client got %d %s, want the 500", tt.name, resp.StatusCode, body)
			}
			if !refused && resp.StatusCode == 500 {
				t.Errorf("%s: the client got %d %s, want the answer as it was", tt.name, resp.StatusCode, body)
			}
		}
	}
}

// TestViolationLogHoldsNoLabel: WithResponseValidation without a Report
// logs each violation at ERROR, to WithLogger's logger, which promises that
// labels and bodies are never logged: the line names the request (its
// request ID, as its request line does, and its route template) and what
// broke the spec, never the answer's body and the label in it.
func TestViolationLogHoldsNoLabel(t *testing.T) {
	var logs logtest.Buffer
	unset := gen.OAuthConnection{Label: nullable.NewNullableWithValue("Alice's secret label")} // its times never set
	s, err := server.New(&capture{update: gen.UpdateOAuthConnection200JSONResponse{Body: unset}}, server.WithAuth(anyToken),
		server.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), server.WithResponseValidation(server.ResponseValidation{}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, _ := put(t, srv.URL+connPath, `{}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d, want the answer as it was, 200", resp.StatusCode)
	}
	var line map[string]any
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "violates the spec") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	switch {
	case line == nil:
		t.Fatalf("no violation logged:\n%s", logs.String())
	case strings.Contains(logs.String(), "secret"):
		t.Errorf("the log holds the answer's label:\n%s", logs.String())
	case line["level"] != "ERROR" || line["request_id"] != resp.Header.Get("X-Request-Id") ||
		line["route"] != "/api/v1/oauth/connections/{oauthConnection_uuid}" || !strings.Contains(fmt.Sprint(line["err"]), "zero time"):
		t.Errorf("violation logged as %v, want at ERROR with the request's ID %s, its route template and the cause", line, resp.Header.Get("X-Request-Id"))
	}
}

// TestFlushWaitsForTheCheck: under WithResponseValidation a flush, from a
// page, an operation middleware or Wrap's handler, sends nothing before the
// answer is checked: the client gets the answer whole, with its status and
// headers, or the 500 in place of an undeclared one (with Refuse, without the
// headers that answer set), and net/http never sees a second WriteHeader. The connection's deadlines and
// full duplex still reach it.
func TestFlushWaitsForTheCheck(t *testing.T) {
	const list = `{"data":[]}` + "\n"
	teapot := errorBody(t, "teapot")
	serverError := errorBody(t, apispec.MessagesOf().ServerError)
	tests := []struct {
		name, path string
		serve      func(h http.Handler, opts ...server.Option) (*server.Server, error)
		status     int
		body       string
		declared   bool
	}{
		{"a page", "/page", asPage, 200, "page\n", true},
		{"an operation middleware", "/api/v1/oauth/connections", inMiddleware, 200, list, true},
		{"an operation middleware, undeclared", "/api/v1/oauth/connections", inMiddleware, http.StatusTeapot, teapot, false},
		{"Wrap's handler", "/api/v1/oauth/connections", server.Wrap, 200, list, true},
		{"Wrap's handler, undeclared", "/api/v1/oauth/connections", server.Wrap, http.StatusTeapot, teapot, false},
	}
	for _, refuse := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s, Refuse %v", tt.name, refuse), func(t *testing.T) {
				var mu sync.Mutex
				var controls []error // of the calls that must reach the connection
				h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					rc := http.NewResponseController(w)
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("X-Answer", "whole")
					w.WriteHeader(tt.status)
					_, _ = io.WriteString(w, tt.body[:len(tt.body)/2])
					if err := rc.Flush(); err != nil {
						t.Errorf("Flush: %v", err)
					}
					_, _ = io.WriteString(w, tt.body[len(tt.body)/2:])
					mu.Lock()
					controls = append(controls,
						rc.SetReadDeadline(time.Now().Add(time.Minute)),
						rc.SetWriteDeadline(time.Now().Add(time.Minute)),
						rc.EnableFullDuplex())
					mu.Unlock()
				})
				var reports int
				s, err := tt.serve(h, server.WithAuth(anyToken), server.WithoutLogging(), server.WithResponseValidation(server.ResponseValidation{
					Refuse: refuse,
					Report: func(*http.Request, error) { mu.Lock(); reports++; mu.Unlock() },
				}))
				if err != nil {
					t.Fatal(err)
				}
				var netHTTP logtest.Buffer
				srv := httptest.NewUnstartedServer(s)
				srv.Config.ErrorLog = log.New(&netHTTP, "", 0)
				srv.Start()
				t.Cleanup(srv.Close)

				resp, body := do(t, "GET", srv.URL+tt.path, http.Header{"Authorization": {"Bearer " + token}}, "")
				status, want, header := tt.status, tt.body, "whole"
				if !tt.declared {
					status, want = 500, serverError
				}
				if refuse && !tt.declared {
					header = ""
				}
				if resp.StatusCode != status || body != want || resp.Header.Get("X-Answer") != header {
					t.Errorf("%d X-Answer %q %q, want %d X-Answer %q %q", resp.StatusCode, resp.Header.Get("X-Answer"), body, status, header, want)
				}
				mu.Lock()
				if tt.declared != (reports == 0) {
					t.Errorf("%d reports, want them only of an undeclared answer", reports)
				}
				if len(controls) != 3 || errors.Join(controls...) != nil {
					t.Errorf("the deadlines and full duplex did not all reach the connection: %v", controls)
				}
				mu.Unlock()
				srv.Close() // net/http has logged all it will
				if l := netHTTP.String(); l != "" {
					t.Errorf("net/http logged %q", l)
				}
			})
		}
	}
}

// TestHandlersCanFlush: every handler of the user's (a page, Wrap's handler,
// an operation middleware) gets a writer that is an http.Flusher, as
// net/http's is, which is how most handlers flush: its flush sends what was
// written so far, or, with answers checked, nothing until the answer is
// whole.
func TestHandlersCanFlush(t *testing.T) {
	const first, rest = `{"data":[`, `]}` + "\n"
	tests := []struct {
		name, path string
		serve      func(h http.Handler, opts ...server.Option) (*server.Server, error)
	}{
		{"a page", "/page", asPage},
		{"an operation middleware", "/api/v1/oauth/connections", inMiddleware},
		{"Wrap's handler", "/api/v1/oauth/connections", server.Wrap},
	}
	for _, checked := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s, checked %v", tt.name, checked), func(t *testing.T) {
				flushed := make(chan struct{}) // the client has read what was flushed
				h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					f, ok := w.(http.Flusher)
					if !ok {
						t.Errorf("%T is not an http.Flusher", w)
						return
					}
					w.Header().Set("Content-Type", "application/json")
					_, _ = io.WriteString(w, first)
					f.Flush()
					if !checked {
						select {
						case <-flushed:
						case <-time.After(5 * time.Second):
							t.Error("the flush sent nothing")
						}
					}
					_, _ = io.WriteString(w, rest)
				})
				opts := []server.Option{server.WithAuth(anyToken), server.WithoutLogging()}
				if checked {
					opts = append(opts, server.WithResponseValidation(server.ResponseValidation{Report: func(_ *http.Request, err error) { t.Error(err) }}))
				}
				s, err := tt.serve(h, opts...)
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(s)
				defer srv.Close()
				req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				got := make([]byte, len(first))
				if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != first {
					t.Fatalf("read %q, %v; want %q", got, err, first)
				}
				close(flushed)
				if b, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != 200 || string(b) != rest {
					t.Errorf("%d ...%q, %v; want 200 ...%q", resp.StatusCode, b, err, rest)
				}
			})
		}
	}
}

// TestWrap puts the kit in front of handlers generated with the standard
// library's ServeMux, as a program with its own router would.
func TestWrap(t *testing.T) {
	impl := &capture{}
	strict := gen.NewStrictHandlerWithOptions(impl, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: server.WriteError, ResponseErrorHandlerFunc: server.WriteError,
	})
	s, err := server.Wrap(gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{ErrorHandlerFunc: server.WriteError}),
		server.WithAuth(anyToken), server.WithoutLogging())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	notString := apispec.Format(apispec.MessagesOf().Validation["type.string"], "attribute", "label")
	for _, tt := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"label":"x"}`, 404, `{"message":"OAuth2 connection not found."}`},
		{`{"label":42}`, 422, `{"message":` + strconv.Quote(notString) + `,"errors":{"label":[` + strconv.Quote(notString) + `]}}`},
		{`{"Label":"caps"}`, 404, `{"message":"OAuth2 connection not found."}`},
	} {
		resp, body := put(t, srv.URL+connPath, tt.body)
		if resp.StatusCode != tt.status || strings.TrimSpace(body) != tt.want {
			t.Errorf("%s: %d %s, want %d %s", tt.body, resp.StatusCode, body, tt.status, tt.want)
		}
	}
	if impl.body.Label.IsSpecified() {
		t.Errorf(`{"Label":"caps"} reached the handler as label %v`, impl.body.Label)
	}
}

// TestNewRefuses: what would fail every request (a panic answered 500)
// fails New and Wrap instead, with an error that names it. A nil pointer in
// an interface is no option's "nil means the default": it is refused.
func TestNewRefuses(t *testing.T) {
	auth := server.WithAuth(anyToken)
	newOf := func(impl gen.StrictServerInterface, opts ...server.Option) func() error {
		return func() error { _, err := server.New(impl, opts...); return err }
	}
	wrapOf := func(next http.Handler, opts ...server.Option) func() error {
		return func() error { _, err := server.Wrap(next, opts...); return err }
	}
	for _, tt := range []struct {
		name  string
		build func() error
		want  string // in the error
	}{
		{"no WithAuth", newOf(&capture{}), "WithAuth"},
		{"nil WithAuth", newOf(&capture{}, server.WithAuth(nil)), "WithAuth"},
		{"nil implementation", newOf(nil, auth), "implementation"},
		{"nil pointer implementation", newOf((*capture)(nil), auth), "*server_test.capture"},
		{"nil pointer rate limiter", newOf(&capture{}, auth, server.WithRateLimiter((*server.FixedWindow)(nil))), "WithRateLimiter"},
		{"nil func page", newOf(&capture{}, auth, server.WithHandler("/x", http.HandlerFunc(nil))), "WithHandler"},
		{"nil pointer registry", newOf(&capture{}, auth, server.WithMetrics((*prometheus.Registry)(nil))), "WithMetrics: the registry is a nil *prometheus.Registry"},
		{"nil pointer registry to Wrap", wrapOf(http.NotFoundHandler(), auth, server.WithMetrics((*prometheus.Registry)(nil))), "WithMetrics"},
		{"nil pointer registry to NewPages", func() error { _, err := server.NewPages(server.WithMetrics((*prometheus.Registry)(nil))); return err }, "WithMetrics"},
		{"nil handler to Wrap", wrapOf(nil, auth), "Wrap"},
		{"nil func to Wrap", wrapOf(http.HandlerFunc(nil), auth), "http.HandlerFunc"},
	} {
		if err := tt.build(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %s", tt.name, err, tt.want)
		}
	}
}

// TestOptionRules holds every option to one rule: zero or nil is the
// option's default, and Without… turns a default off.
func TestOptionRules(t *testing.T) {
	auth := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	big := `{"label":"` + strings.Repeat(" ", int(server.DefaultMaxBody)) + `"}`
	hang := server.WithAuth(func(ctx context.Context, tok string) (server.Identity, error) {
		select {
		case <-ctx.Done():
			return server.Identity{}, ctx.Err()
		case <-time.After(300 * time.Millisecond):
			return anyToken(ctx, tok)
		}
	})
	tests := []struct {
		name       string
		opts       []server.Option
		method     string
		path, body string
		status     int
		header     map[string]string // "" for absent
	}{
		{"WithMaxBody(0) is the default", []server.Option{server.WithMaxBody(0)}, "PUT", connPath, big, 413, nil},
		{"WithMaxBody(-1) is the default", []server.Option{server.WithMaxBody(-1)}, "PUT", connPath, `{}`, 404, nil},
		{"WithMaxBody(n)", []server.Option{server.WithMaxBody(8)}, "PUT", connPath, `{"label":"x"}`, 413, nil},
		{"WithRateLimiter(nil) is the default", []server.Option{server.WithRateLimiter(nil)}, "GET", "/api/v1/oauth/connections", "", 200,
			map[string]string{"X-RateLimit-Limit": strconv.Itoa(server.DefaultRateLimit)}},
		{"WithoutRateLimit", []server.Option{server.WithoutRateLimit()}, "GET", "/api/v1/oauth/connections", "", 200,
			map[string]string{"X-RateLimit-Limit": ""}},
		{"WithTimeout(0) is the default, past a 300 ms wait", []server.Option{hang, server.WithTimeout(0)}, "GET", "/api/v1/oauth/connections", "", 200, nil},
		{"WithTimeout(d)", []server.Option{hang, server.WithTimeout(50 * time.Millisecond)}, "GET", "/api/v1/oauth/connections", "", 503, nil},
		{"WithoutTimeout", []server.Option{hang, server.WithTimeout(50 * time.Millisecond), server.WithoutTimeout()}, "GET", "/api/v1/oauth/connections", "", 200, nil},
		{"WithReadiness(nil) is the default", []server.Option{server.WithReadiness(nil)}, "GET", "/readyz", "", 200, nil},
		{"WithHandler(path, nil) serves nothing", []server.Option{server.WithHandler("/x", http.NotFoundHandler()), server.WithHandler("/x", nil)}, "GET", "/x", "", 404, nil},
		{"WithMetrics(nil) is the default, none", []server.Option{server.WithMetrics(nil)}, "GET", "/healthz", "", 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := start(t, &capture{}, tt.opts...)
			resp, body := do(t, tt.method, srv.URL+tt.path, auth, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("%d %s, want %d", resp.StatusCode, body, tt.status)
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestWithHandlerTakesTheLongestMatch: of the subtrees that hold a path, the
// longest serves it, every time, as with http.ServeMux.
func TestWithHandlerTakesTheLongestMatch(t *testing.T) {
	page := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) })
	}
	srv := start(t, &capture{}, server.WithHandler("/x/", page("x")), server.WithHandler("/x/y/", page("x/y")),
		server.WithHandler("/", page("root")), server.WithHandler("/x/y/z", page("exact")))
	for path, want := range map[string]string{"/x/y/z/w": "x/y", "/x/y/": "x/y", "/x/z": "x", "/x/y/z": "exact", "/elsewhere": "root"} {
		for range 50 {
			if _, body := do(t, "GET", srv.URL+path, nil, ""); body != want {
				t.Fatalf("%s went to %q, want %q", path, body, want)
			}
		}
	}
	// The API's own paths come first, whatever a page claims.
	if resp, _ := do(t, "GET", srv.URL+"/api/v1/oauth/connections", nil, ""); resp.StatusCode != 401 {
		t.Errorf("the list behind a page for /: %d, want the API's 401", resp.StatusCode)
	}
}

// TestErrorsOfTheCallbacks: an AuthFunc or RateLimiter failure is the
// server's (500, or 503 for ErrUnavailable), and never a 401 or a 429.
func TestErrorsOfTheCallbacks(t *testing.T) {
	down := errors.Join(server.ErrUnavailable, errors.New("connection refused"))
	tests := []struct {
		name   string
		opts   []server.Option
		status int
	}{
		{"auth fails", []server.Option{server.WithAuth(func(context.Context, string) (server.Identity, error) { return server.Identity{}, errors.New("boom") })}, 500},
		{"auth unavailable", []server.Option{server.WithAuth(func(context.Context, string) (server.Identity, error) { return server.Identity{}, down })}, 503},
		{"limiter unavailable", []server.Option{server.WithRateLimiter(failing{down})}, 503},
		{"auth hangs past the timeout", []server.Option{server.WithTimeout(50 * time.Millisecond),
			server.WithAuth(func(ctx context.Context, _ string) (server.Identity, error) {
				<-ctx.Done()
				return server.Identity{}, ctx.Err()
			})}, 503},
		{"limiter hangs past the timeout", []server.Option{server.WithTimeout(50 * time.Millisecond), server.WithRateLimiter(hanging{})}, 503},
	}
	for _, tt := range tests {
		srv := start(t, &capture{}, tt.opts...)
		resp, body := put(t, srv.URL+connPath, `{}`)
		if resp.StatusCode != tt.status || !strings.HasPrefix(body, `{"message":`) {
			t.Errorf("%s: %d %s, want %d in JSON", tt.name, resp.StatusCode, body, tt.status)
		}
	}
}

type hanging struct{}

func (hanging) Allow(ctx context.Context, _ string) (server.RateLimit, error) {
	<-ctx.Done()
	return server.RateLimit{}, fmt.Errorf("limiter: %w", ctx.Err())
}

type failing struct{ err error }

func (f failing) Allow(context.Context, string) (server.RateLimit, error) {
	return server.RateLimit{}, f.err
}

// TestMethodsAndPages covers what the kit answers beside the operations: HEAD
// and OPTIONS, the spec, liveness and readiness.
func TestMethodsAndPages(t *testing.T) {
	var notReady error
	var mu sync.Mutex
	s, err := server.New(&capture{}, server.WithAuth(anyToken), server.WithoutLogging(),
		server.WithReadiness(func(context.Context) error { mu.Lock(); defer mu.Unlock(); return notReady }),
		server.WithResponseValidation(server.ResponseValidation{Report: func(_ *http.Request, err error) { t.Error(err) }}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	auth := http.Header{"Authorization": {"Bearer " + token}}
	tests := []struct {
		name, method, path string
		header             http.Header
		status             int
		body               string // exact; "*" for any
		wantHeader         map[string]string
	}{
		{"HEAD is GET without the body", "HEAD", "/api/v1/oauth/connections", auth, 200, "",
			map[string]string{"Content-Type": "application/json", "X-RateLimit-Limit": "500"}},
		{"HEAD needs a token as GET does", "HEAD", "/api/v1/oauth/connections", nil, 401, "", nil},
		{"OPTIONS tells the methods, without a token", "OPTIONS", connPath, nil, 204, "", map[string]string{"Allow": "DELETE, PUT"}},
		{"OPTIONS of the list", "OPTIONS", "/api/v1/oauth/connections", nil, 204, "", map[string]string{"Allow": "GET, HEAD"}},
		{"OPTIONS of an unknown path", "OPTIONS", "/nope", nil, 404, `{"message":"The route could not be found."}` + "\n", nil},
		{"liveness", "GET", "/healthz", nil, 200, `{"status":"ok"}` + "\n", nil},
		{"readiness", "GET", "/readyz", nil, 200, `{"status":"ok"}` + "\n", nil},
		{"the spec", "GET", "/openapi.yaml", nil, 200, "*", map[string]string{"Content-Type": "application/yaml"}},
	}
	for _, tt := range tests {
		resp, body := do(t, tt.method, srv.URL+tt.path, tt.header, "")
		if resp.StatusCode != tt.status || (tt.body != "*" && body != tt.body) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, resp.StatusCode, body, tt.status, tt.body)
		}
		for k, v := range tt.wantHeader {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s %q, want %q", tt.name, k, got, v)
			}
		}
	}

	// The spec offers this server first, so that "Try it out" calls it.
	_, spec := do(t, "GET", srv.URL+"/openapi.yaml", nil, "")
	doc, err := openapi3.NewLoader().LoadFromData([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("the served spec is not valid: %v", err)
	}
	if len(doc.Servers) != 2 || doc.Servers[0].URL != srv.URL || doc.Servers[1].URL != "https://api.plannrcrm.com" {
		t.Errorf("servers %v, want %s then production", doc.Servers, srv.URL)
	}

	mu.Lock()
	notReady = errors.New("database is gone")
	mu.Unlock()
	resp, body := do(t, "GET", srv.URL+"/readyz", nil, "")
	if resp.StatusCode != 503 || body != `{"message":"The server is not ready."}`+"\n" {
		t.Errorf("not ready: %d %s", resp.StatusCode, body)
	}
	mu.Lock()
	notReady = nil
	mu.Unlock()
	s.Drain()
	if resp, body := do(t, "GET", srv.URL+"/readyz", nil, ""); resp.StatusCode != 503 {
		t.Errorf("draining: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", srv.URL+"/api/v1/oauth/connections", auth, ""); resp.StatusCode != 200 {
		t.Errorf("draining: requests are still served, got %d", resp.StatusCode)
	}
}

// asPage serves h as the page /page.
func asPage(h http.Handler, opts ...server.Option) (*server.Server, error) {
	return server.New(&capture{}, append(opts, server.WithHandler("/page", h))...)
}

// inMiddleware serves h as an operation middleware that answers every
// operation itself.
func inMiddleware(h http.Handler, opts ...server.Option) (*server.Server, error) {
	mw := func(gen.StrictHandlerFunc, string) gen.StrictHandlerFunc {
		return func(_ context.Context, w http.ResponseWriter, r *http.Request, _ any) (any, error) {
			h.ServeHTTP(w, r)
			return nil, nil // answered
		}
	}
	return server.New(&capture{}, append(opts, server.WithOperationMiddleware(mw))...)
}
