package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// nothing answers every operation with neither a response nor an error.
type nothing struct{}

func (nothing) ListOAuthConnections(context.Context, gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	return nil, nil
}

func (nothing) DeleteOAuthConnection(context.Context, gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	return nil, nil
}

func (nothing) UpdateOAuthConnection(context.Context, gen.UpdateOAuthConnectionRequestObject) (gen.UpdateOAuthConnectionResponseObject, error) {
	return nil, nil
}

// validations are the ways the kit may check its answers: not at all,
// reporting a violation, refusing it.
var validations = []string{"unchecked", "checked", "Refuse"}

// validation is the option of the validation named v, one of validations,
// which reports a violation to report.
func validation(v string, report func(*http.Request, error)) []server.Option {
	switch v {
	case "checked":
		return []server.Option{server.WithResponseValidation(server.ResponseValidation{Report: report})}
	case "Refuse":
		return []server.Option{server.WithResponseValidation(server.ResponseValidation{Refuse: true, Report: report})}
	}
	return nil
}

// answerIsA500 sends method path to a server of impl (New's, or Wrap's of
// wrapped if it is not nil) and checks that the answer is the spec's 500,
// logged at ERROR with a cause that holds cause, and counted as the 500 it
// is.
func answerIsA500(t *testing.T, impl gen.StrictServerInterface, wrapped http.Handler, opts []server.Option, method, path, cause string) {
	t.Helper()
	var logs logtest.Buffer
	reg := prometheus.NewRegistry()
	opts = append([]server.Option{server.WithAuth(anyToken), server.WithMetrics(reg),
		server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, opts...)
	var s *server.Server
	var err error
	if wrapped != nil {
		s, err = server.Wrap(wrapped, opts...)
	} else {
		s, err = server.New(impl, opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, body := do(t, method, srv.URL+path, http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}, `{"label":"x"}`)
	want := errorBody(t, apispec.MessagesOf().ServerError)
	if method == http.MethodHead {
		want = ""
	}
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" || body != want {
		t.Errorf("%d %q %q, want 500 %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
	}
	if line := logs.String(); !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "status=500") || !strings.Contains(line, cause) {
		t.Errorf("log line %q, want an ERROR 500 with %q", line, cause)
	}
	route := path
	if path == connPath {
		route = "/api/v1/oauth/connections/{oauthConnection_uuid}"
	}
	series := fmt.Sprintf(`plannr_http_requests_total{method=%q,route=%q,status="500"}`, method, route)
	if got := metricstest.Scrape(t, metricsOf(t, reg), "plannr_http_requests_total"); got[series] != 1 || len(got) != 1 {
		t.Errorf("counted %v, want one %s", got, series)
	}
}

// TestNoResponseIsA500: an operation that returns neither a response nor an
// error has answered nothing, which net/http would send as an empty 200, a
// status DELETE does not declare and a PUT that stored nothing could pass
// for. It is the implementation's bug: the spec's 500, logged at ERROR and
// counted as 500, on every operation and every path to it (the PUT's fast
// handler, the generated strict handler, through middleware, and a handler
// behind Wrap that writes nothing).
func TestNoResponseIsA500(t *testing.T) {
	passOn := func(next gen.StrictHandlerFunc, _ string) gen.StrictHandlerFunc { return next }
	answersNothing := func(gen.StrictHandlerFunc, string) gen.StrictHandlerFunc {
		return func(context.Context, http.ResponseWriter, *http.Request, any) (any, error) { return nil, nil }
	}
	tests := []struct {
		name, method, path, operation string
		impl                          gen.StrictServerInterface
		wrapped                       http.Handler
		opts                          []server.Option
	}{
		{"the PUT", "PUT", connPath, "updateOAuthConnection", nothing{}, nil, nil},
		{"the PUT, generated handler", "PUT", connPath, "updateOAuthConnection", nothing{}, nil, []server.Option{server.WithoutCompiledChecks()}},
		{"the PUT, through middleware", "PUT", connPath, "updateOAuthConnection", nothing{}, nil, []server.Option{server.WithOperationMiddleware(passOn)}},
		{"the DELETE", "DELETE", connPath, "deleteOAuthConnection", nothing{}, nil, nil},
		{"the list", "GET", "/api/v1/oauth/connections", "listOAuthConnections", nothing{}, nil, nil},
		{"the list, to a HEAD", "HEAD", "/api/v1/oauth/connections", "listOAuthConnections", nothing{}, nil, nil},
		{"a middleware's", "DELETE", connPath, "deleteOAuthConnection", &capture{}, nil, []server.Option{server.WithOperationMiddleware(answersNothing)}},
		{"a middleware's, on the PUT", "PUT", connPath, "updateOAuthConnection", &capture{}, nil, []server.Option{server.WithOperationMiddleware(answersNothing)}},
		{"Wrap's handler", "DELETE", connPath, "deleteOAuthConnection", nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), nil},
	}
	for _, tt := range tests {
		for _, v := range validations {
			t.Run(tt.name+", "+v, func(t *testing.T) {
				report := func(_ *http.Request, err error) { t.Errorf("reported: %v", err) }
				answerIsA500(t, tt.impl, tt.wrapped, append(validation(v, report), tt.opts...), tt.method, tt.path, tt.operation+" returned no response")
			})
		}
	}
}

// answers answers the list and the DELETE with its fields where they are
// set, and otherwise as capture does.
type answers struct {
	capture
	list gen.ListOAuthConnectionsResponseObject
	del  gen.DeleteOAuthConnectionResponseObject
}

func (a *answers) ListOAuthConnections(ctx context.Context, req gen.ListOAuthConnectionsRequestObject) (gen.ListOAuthConnectionsResponseObject, error) {
	if a.list == nil {
		return a.capture.ListOAuthConnections(ctx, req)
	}
	return a.list, nil
}

func (a *answers) DeleteOAuthConnection(ctx context.Context, req gen.DeleteOAuthConnectionRequestObject) (gen.DeleteOAuthConnectionResponseObject, error) {
	if a.del == nil {
		return a.capture.DeleteOAuthConnection(ctx, req)
	}
	return a.del, nil
}

// bodyOnly is a DELETE's answer written by hand with a body and its length
// but no WriteHeader, which net/http sends as a 200.
type bodyOnly string

func (b bodyOnly) VisitDeleteOAuthConnectionResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, err := io.WriteString(w, string(b))
	return err
}

// flushFirst is a DELETE's answer written by hand that flushes before any
// WriteHeader, which sends a 200.
type flushFirst struct{}

func (flushFirst) VisitDeleteOAuthConnectionResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	if err := http.NewResponseController(w).Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, `{"deleted":true}`)
	return err
}

// TestUndeclaredStatusIsA500: a response object whose status its operation
// does not declare (a default response given a 4xx, a DELETE's 200) is the
// implementation's bug, as an error of such a status is: the spec's 500,
// logged at ERROR with the status and counted as 500, whether answers are
// checked or not, and nothing of the undeclared answer reaches the client.
func TestUndeclaredStatusIsA500(t *testing.T) {
	teapot := gen.UpdateOAuthConnectiondefaultJSONResponse{StatusCode: http.StatusTeapot, Body: gen.Error{Message: "teapot"}}
	answersTeapot := func(gen.StrictHandlerFunc, string) gen.StrictHandlerFunc {
		return func(context.Context, http.ResponseWriter, *http.Request, any) (any, error) { return teapot, nil }
	}
	tests := []struct {
		name, method, path string
		status             int
		operation          string
		impl               gen.StrictServerInterface
		wrapped            http.Handler
		opts               []server.Option
	}{
		{"the PUT's 418", "PUT", connPath, 418, "updateOAuthConnection", &capture{update: teapot}, nil, nil},
		{"the PUT's 418, generated handler", "PUT", connPath, 418, "updateOAuthConnection", &capture{update: teapot}, nil, []server.Option{server.WithoutCompiledChecks()}},
		{"a middleware's 418", "PUT", connPath, 418, "updateOAuthConnection", &capture{}, nil, []server.Option{server.WithOperationMiddleware(answersTeapot)}},
		{"the DELETE's 200", "DELETE", connPath, 200, "deleteOAuthConnection",
			&answers{del: gen.DeleteOAuthConnectiondefaultJSONResponse{StatusCode: http.StatusOK, Body: gen.Error{Message: "gone"}}}, nil, nil},
		{"the DELETE's 200 of a body alone", "DELETE", connPath, 200, "deleteOAuthConnection", &answers{del: bodyOnly(`{"deleted":true}`)}, nil, nil},
		{"the DELETE's 200 of a flush", "DELETE", connPath, 200, "deleteOAuthConnection", &answers{del: flushFirst{}}, nil, nil},
		{"the list's 404", "GET", "/api/v1/oauth/connections", 404, "listOAuthConnections",
			&answers{list: gen.ListOAuthConnectionsdefaultJSONResponse{StatusCode: http.StatusNotFound, Body: gen.Error{Message: "none"}}}, nil, nil},
		{"the list's 404, to a HEAD", "HEAD", "/api/v1/oauth/connections", 404, "listOAuthConnections",
			&answers{list: gen.ListOAuthConnectionsdefaultJSONResponse{StatusCode: http.StatusNotFound, Body: gen.Error{Message: "none"}}}, nil, nil},
		{"Wrap's handler's 418", "PUT", connPath, 418, "updateOAuthConnection", nil, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, `{"message":"teapot"}`)
		}), nil},
	}
	for _, tt := range tests {
		for _, v := range validations {
			t.Run(tt.name+", "+v, func(t *testing.T) {
				// Checked, the answer is reported, rightly; the log line's
				// cause reads the same, refused or not.
				cause := fmt.Sprintf("%s does not declare %d", tt.operation, tt.status)
				answerIsA500(t, tt.impl, tt.wrapped, append(validation(v, func(*http.Request, error) {}), tt.opts...), tt.method, tt.path, cause)
			})
		}
	}
}

// composed are the headers of an answer an implementation was composing:
// of its representation, and of the resource it points to.
var composed = http.Header{
	"Content-Type":        {"text/plain"},
	"Content-Length":      {"16"},
	"Content-Encoding":    {"gzip"},
	"Content-Range":       {"bytes 0-15/16"},
	"Content-Disposition": {`attachment; filename="connection.json"`},
	"Content-Language":    {"nl"},
	"Content-Location":    {"/elsewhere"},
	"Etag":                {`"v1"`},
	"Last-Modified":       {"Mon, 02 Jan 2006 15:04:05 GMT"},
	"Location":            {"/elsewhere"},
	"Set-Cookie":          {"session=secret"},
	"Retry-After":         {"120"},
	"Link":                {"</style.css>; rel=preload"},
}

// halfway is a DELETE's answer written by hand that sets the composed
// headers and then does what it is: writes nothing, fails, panics, or sends
// a status the DELETE does not declare.
type halfway func(w http.ResponseWriter) error

func (h halfway) VisitDeleteOAuthConnectionResponse(w http.ResponseWriter) error {
	maps.Copy(w.Header(), composed)
	return h(w)
}

// TestReplacedAnswerKeepsNoneOfItsHeaders: the error that stands in for an
// answer the implementation had started (it set headers, then wrote
// nothing, failed, panicked, or sent an undeclared status) carries none of
// the headers that described that answer: a stale Content-Length would cut
// the JSON body short, a Location or Set-Cookie would act on a failure. The
// kit's own headers stay, and the answer is the same whether answers are
// checked or not.
func TestReplacedAnswerKeepsNoneOfItsHeaders(t *testing.T) {
	moved := func(w http.ResponseWriter) error {
		w.WriteHeader(http.StatusMovedPermanently)
		_, err := io.WriteString(w, "moved")
		return err
	}
	serverError, unavailable := errorBody(t, apispec.MessagesOf().ServerError), errorBody(t, apispec.MessagesOf().Unavailable)
	notFound := errorBody(t, server.NotFound.Body.Message)
	tests := []struct {
		name    string
		del     halfway
		wrapped http.HandlerFunc
		status  int
		body    string
	}{
		{"an answer of headers alone", func(http.ResponseWriter) error { return nil }, nil, 500, serverError},
		{"an answer's error", func(http.ResponseWriter) error { return errors.New("disk full") }, nil, 500, serverError},
		{"an answer's ErrUnavailable", func(http.ResponseWriter) error { return server.ErrUnavailable }, nil, 503, unavailable},
		{"an answer's ErrNotFound", func(http.ResponseWriter) error { return plannroauth.ErrNotFound }, nil, 404, notFound},
		{"an answer's panic", func(http.ResponseWriter) error { panic("boom") }, nil, 500, serverError},
		{"an answer's undeclared status", moved, nil, 500, serverError},
		{"Wrap's handler of headers alone", nil, func(w http.ResponseWriter, _ *http.Request) { maps.Copy(w.Header(), composed) }, 500, serverError},
		{"Wrap's handler's undeclared status", nil, func(w http.ResponseWriter, _ *http.Request) {
			maps.Copy(w.Header(), composed)
			_ = moved(w)
		}, 500, serverError},
	}
	for _, tt := range tests {
		var first []string // the headers of the first validation's answer
		for _, v := range validations {
			t.Run(tt.name+", "+v, func(t *testing.T) {
				opts := append([]server.Option{server.WithAuth(anyToken), server.WithoutLogging()}, validation(v, func(*http.Request, error) {})...)
				var s *server.Server
				var err error
				if tt.wrapped != nil {
					s, err = server.Wrap(tt.wrapped, opts...)
				} else {
					s, err = server.New(&answers{del: tt.del}, opts...)
				}
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(s)
				defer srv.Close()
				req, _ := http.NewRequest(http.MethodDelete, srv.URL+connPath, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" || string(body) != tt.body {
					t.Errorf("got %d %q %q (%v), want %d %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, err, tt.status, tt.body)
				}
				for _, name := range slices.Sorted(maps.Keys(composed)) {
					if got := resp.Header.Values(name); name != "Content-Type" && name != "Content-Length" && len(got) > 0 {
						t.Errorf("%s: %q reached the client", name, got)
					}
				}
				for name, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Ratelimit-Limit": strconv.Itoa(server.DefaultRateLimit)} {
					if got := resp.Header.Get(name); got != want {
						t.Errorf("%s: %q, want %q", name, got, want)
					}
				}
				if resp.Header.Get("X-Request-Id") == "" {
					t.Error("no X-Request-Id")
				}
				names := slices.Sorted(maps.Keys(resp.Header))
				if first == nil {
					first = names
				} else if !slices.Equal(names, first) {
					t.Errorf("headers %q, want those of %s: %q", names, validations[0], first)
				}
			})
		}
	}
}

// TestOwnErrorsKeepTheirHeaders: the server's own 4xx, which replace no
// answer, keep the headers they are answered with, and the X-RateLimit-*
// of an authenticated request, whether answers are checked or not.
func TestOwnErrorsKeepTheirHeaders(t *testing.T) {
	full := fixedLimiter{Limit: 1, Reset: time.Now().Add(time.Minute)}
	tests := []struct {
		name, method, token string
		limiter             server.RateLimiter
		status              int
		header              []string // which the answer must carry
	}{
		{"401", "DELETE", "unknown", nil, 401, []string{"Www-Authenticate"}},
		{"405", "POST", token, nil, 405, []string{"Allow"}},
		{"429", "DELETE", token, full, 429, []string{"Retry-After", "X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"}},
	}
	for _, tt := range tests {
		for _, v := range validations {
			t.Run(tt.name+", "+v, func(t *testing.T) {
				opts := validation(v, func(_ *http.Request, err error) { t.Errorf("reported: %v", err) })
				if tt.limiter != nil {
					opts = append(opts, server.WithRateLimiter(tt.limiter))
				}
				srv := start(t, &capture{}, opts...)
				resp, _ := do(t, tt.method, srv.URL+connPath, http.Header{"Authorization": {"Bearer " + tt.token}}, "")
				if resp.StatusCode != tt.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
				}
				for _, name := range tt.header {
					if resp.Header.Get(name) == "" {
						t.Errorf("no %s", name)
					}
				}
			})
		}
	}
}
