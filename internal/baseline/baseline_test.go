package baseline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/internal/baseline"
	"github.com/plannr-toolkit/plannr-oauth/internal/httpapi"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// TestSameAnswersAsTheServer holds the baseline to its purpose: for the
// requests the benchmarks send, and the rejections its hand-written checks
// stand in for, it answers what the real server answers, status and body.
func TestSameAnswersAsTheServer(t *testing.T) {
	const token = "bench-token"
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	open := func(t *testing.T) store.Store {
		st := memory.New()
		if err := st.Seed(context.Background(), *fixtures.Demo(token)); err != nil {
			t.Fatal(err)
		}
		return st
	}
	const conn = "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe"
	tests := []struct {
		name, method, path, auth, contentType, body string
	}{
		{"list", "GET", "/api/v1/oauth/connections", "Bearer " + token, "", ""},
		{"update", "PUT", conn, "Bearer " + token, "application/json", `{"label":"Renamed"}`},
		{"clear", "PUT", conn, "Bearer " + token, "application/json", `{"label":null}`},
		{"keep", "PUT", conn, "Bearer " + token, "application/json; charset=utf-8", `{}`},
		{"label too long", "PUT", conn, "Bearer " + token, "application/json", `{"label":"` + strings.Repeat("é", plannroauth.LabelMaxLength()+1) + `"}`},
		{"label of the most characters", "PUT", conn, "Bearer " + token, "application/json", `{"label":"` + strings.Repeat("é", plannroauth.LabelMaxLength()) + `"}`},
		{"numeric label", "PUT", conn, "Bearer " + token, "application/json", `{"label":42}`},
		{"array body", "PUT", conn, "Bearer " + token, "application/json", `[]`},
		{"malformed", "PUT", conn, "Bearer " + token, "application/json", `{"label":`},
		{"trailing data", "PUT", conn, "Bearer " + token, "application/json", `{} {}`},
		{"empty body", "PUT", conn, "Bearer " + token, "application/json", ``},
		{"not JSON", "PUT", conn, "Bearer " + token, "text/plain", `{}`},
		{"no token", "PUT", conn, "", "application/json", `{}`},
		{"unknown token", "GET", "/api/v1/oauth/connections", "Bearer nobody", "", ""},
		{"unknown UUID", "PUT", "/api/v1/oauth/connections/00000000-0000-4000-8000-000000000000", "Bearer " + token, "application/json", `{}`},
		{"malformed UUID", "PUT", "/api/v1/oauth/connections/nope", "Bearer " + token, "application/json", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := httpapi.NewHandler(httpapi.Config{Store: open(t), Now: now,
				Options: []server.Option{server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}})
			if err != nil {
				t.Fatal(err)
			}
			var answers [2]*httptest.ResponseRecorder
			for i, h := range []http.Handler{srv, baseline.Handler(open(t), now)} {
				r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
				if tt.auth != "" {
					r.Header.Set("Authorization", tt.auth)
				}
				if tt.contentType != "" {
					r.Header.Set("Content-Type", tt.contentType)
				}
				answers[i] = httptest.NewRecorder()
				h.ServeHTTP(answers[i], r)
			}
			want, got := answers[0], answers[1]
			if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
				t.Errorf("baseline: %d %q, server: %d %q", got.Code, got.Header().Get("Content-Type"), want.Code, want.Header().Get("Content-Type"))
			}
			if g, w := canonical(t, got.Body.Bytes()), canonical(t, want.Body.Bytes()); !bytes.Equal(g, w) {
				t.Errorf("baseline body\n%s\nserver body\n%s", g, w)
			}
		})
	}
}

// canonical re-encodes a JSON body, so that key order and spacing do not count.
func canonical(t *testing.T, body []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	b, _ := json.Marshal(v)
	return b
}
