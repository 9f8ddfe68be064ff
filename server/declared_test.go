package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

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
// reporting a violation, refusing it. A violation fails t.
var validations = []string{"unchecked", "checked", "Refuse"}

// validation is the option of the validation named v, one of validations.
func validation(t *testing.T, v string) []server.Option {
	report := func(_ *http.Request, err error) { t.Errorf("reported: %v", err) }
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
				answerIsA500(t, tt.impl, tt.wrapped, append(validation(t, v), tt.opts...), tt.method, tt.path, tt.operation+" returned no response")
			})
		}
	}
}
