package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/plannr-toolkit/plannr-oauth/api"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// named is a page that answers its name.
func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) })
}

// TestWithHandlerReplacesAPage: of two pages of one path, WithHandler's
// replaces the server's own, and a later WithHandler an earlier one, in
// every server built, whatever other pages it has.
func TestWithHandlerReplacesAPage(t *testing.T) {
	// Other subtrees, so that the pages' order is as random as a map's.
	var others []server.Option
	for i := range 20 {
		others = append(others, server.WithHandler(fmt.Sprintf("/p%d/", i), named("other")))
	}
	tests := []struct {
		name       string
		opts       []server.Option
		path, want string // want: the body's start
	}{
		{"a page replaces Swagger UI's subtree", []server.Option{server.WithDocs(), server.WithHandler("/docs/", named("mine"))}, "/docs/", "mine"},
		{"and all of it", []server.Option{server.WithDocs(), server.WithHandler("/docs/", named("mine"))}, "/docs/index.html", "mine"},
		{"a page replaces /healthz", []server.Option{server.WithHandler("/healthz", named("mine"))}, "/healthz", "mine"},
		{"the later of two subtrees of one path", []server.Option{server.WithHandler("/x/", named("first")), server.WithHandler("/x/", named("second"))}, "/x/y", "second"},
		{"the later of two pages of one path", []server.Option{server.WithHandler("/x", named("first")), server.WithHandler("/x", named("second"))}, "/x", "second"},
		{"a nil page gives the server's own back", []server.Option{server.WithHandler("/healthz", named("mine")), server.WithHandler("/healthz", nil)}, "/healthz", `{"status":"ok"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 10 {
				srv := start(t, &capture{}, slices.Concat(others, tt.opts)...)
				if _, body := do(t, "GET", srv.URL+tt.path, nil, ""); !strings.HasPrefix(body, tt.want) {
					t.Fatalf("%s answered %.40q, want %q", tt.path, body, tt.want)
				}
				srv.Close()
			}
		})
	}
}

// TestPageErrorsAreTheAPIs: a page's error answer goes out as it is only if
// its body is already the API's error; any other is rewritten to one, with
// the page's status and its status text, or for a status that has none the
// spec's message of its class.
func TestPageErrorsAreTheAPIs(t *testing.T) {
	rewritten := func(status int) string { return `{"message":"` + http.StatusText(status) + `"}` + "\n" }
	msgs := apispec.MessagesOf()
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		flush       bool // between the body's halves
		want        string
	}{
		{"JSON not in the API's format", 500, "application/json", `{"error":"boom"}`, false, rewritten(500)},
		{"not JSON under a JSON type", 404, "application/json; charset=utf-8", `not json`, false, rewritten(404)},
		{"a message that is not a string", 503, "application/json", `{"message":5}`, false, rewritten(503)},
		{"text", 403, "text/plain; charset=utf-8", "Forbidden\n", false, rewritten(403)},
		{"a 4xx without a status text", 499, "text/plain; charset=utf-8", "gone\n", false, errorBody(t, msgs.BadRequest)},
		{"a 5xx without a status text", 599, "text/plain; charset=utf-8", "timeout\n", false, errorBody(t, msgs.ServerError)},
		{"a status past 5xx", 999, "text/plain; charset=utf-8", "odd\n", false, errorBody(t, msgs.ServerError)},
		{"an error body longer than any error's", 500, "application/json", `{"message":"` + strings.Repeat("x", 1<<20) + `"}`, false, rewritten(500)},
		{"a flush does not send it unchecked", 500, "application/json", `{"error":"boom"}`, true, rewritten(500)},
		{"the API's error goes out as it is", 403, "application/json", `{"message":"Go away."}`, false, `{"message":"Go away."}`},
		{"and flushed too, once whole", 403, "application/json", `{"message":"Go away."}`, true, `{"message":"Go away."}`},
		{"an answer that is not an error goes out as it is", 200, "application/json", `{"error":"boom"}`, false, `{"error":"boom"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body[:len(tt.body)/2])
				if tt.flush {
					_ = http.NewResponseController(w).Flush()
				}
				_, _ = io.WriteString(w, tt.body[len(tt.body)/2:])
			})
			srv := start(t, &capture{}, server.WithHandler("/page", page),
				server.WithResponseValidation(server.ResponseValidation{Report: func(_ *http.Request, err error) { t.Error(err) }}))
			if resp, body := do(t, "GET", srv.URL+"/page", nil, ""); resp.StatusCode != tt.status || body != tt.want {
				t.Errorf("%d %.60q, want %d %q", resp.StatusCode, body, tt.status, tt.want)
			}
		})
	}
}

// TestNewPages: NewPages serves WithHandler's pages alone, as New's server
// serves them; the API's paths and the server's own pages are not there.
func TestNewPages(t *testing.T) {
	h, err := server.NewPages(server.WithHandler("/x", named("x")), server.WithHandler("/sub/", named("sub")), server.WithoutLogging())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.DisableGeneralOptionsHandler = true // as NewPages asks
	srv.Start()
	defer srv.Close()
	notFound := errorBody(t, apispec.MessagesOf().RouteNotFound)
	tests := []struct {
		method, path string
		status       int
		body, allow  string
	}{
		{"GET", "/x", 200, "x", ""},
		{"GET", "/sub/y", 200, "sub", ""},
		{"PUT", "/x", 405, errorBody(t, apispec.Format(apispec.MessagesOf().MethodNotAllowed, "methods", "GET, HEAD")), "GET, HEAD"},
		{"GET", "/healthz", 404, notFound, ""},
		{"GET", "/openapi.yaml", 404, notFound, ""},
		{"GET", "/api/v1/oauth/connections", 404, notFound, ""},
		{"OPTIONS", "*", 404, notFound, ""}, // which net/http would answer 200 itself
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL, nil)
		req.URL.Opaque = tt.path // the request line's target as it is, * too
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if resp.StatusCode != tt.status || body != tt.body || resp.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d %q Allow %q, want %d %q Allow %q", tt.method, tt.path, resp.StatusCode, body, resp.Header.Get("Allow"), tt.status, tt.body, tt.allow)
		}
		if resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: headers %v", tt.method, tt.path, resp.Header)
		}
	}
}

// TestPagesMatchAsServeMux: a page's path is matched as http.ServeMux
// matches it, so that an encoded slash cannot make a page's path: it may sit
// inside a subtree's rest, but never stands for a '/' of the path itself.
func TestPagesMatchAsServeMux(t *testing.T) {
	pages := []string{"/admin/", "/x/y"}
	mux := http.NewServeMux()
	var opts []server.Option
	for _, path := range pages {
		mux.Handle(path, named(path))
		opts = append(opts, server.WithHandler(path, named(path)))
	}
	ref := httptest.NewServer(mux)
	defer ref.Close()
	srv := start(t, &capture{}, opts...)
	for _, path := range []string{
		"/admin/stats",
		"/admin%2Fstats",
		"/admin%2fstats",
		"/admin/a%2Fb",
		"/%61dmin/stats",
		"/admin/%2F",
		"/x/y",
		"/x%2Fy",
		"/x%2fy",
		"/%78/y",
		"/x/y%2F",
	} {
		want, wantBody := do(t, "GET", ref.URL+path, nil, "")
		got, gotBody := do(t, "GET", srv.URL+path, nil, "")
		if want.StatusCode == http.StatusOK && (got.StatusCode != http.StatusOK || gotBody != wantBody) {
			t.Errorf("%s: %d %.40q, want ServeMux's page %q", path, got.StatusCode, gotBody, wantBody)
		}
		if want.StatusCode != http.StatusOK && got.StatusCode != want.StatusCode {
			t.Errorf("%s: %d %.40q, want ServeMux's %d", path, got.StatusCode, gotBody, want.StatusCode)
		}
	}
}

// TestPageErrorsKeepTheKitsHeaders: net/http's file server deletes
// Cache-Control before its own error; the error rewritten to the API's
// carries no-store and nosniff as every answer does.
func TestPageErrorsKeepTheKitsHeaders(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := http.StripPrefix("/static/", http.FileServer(http.Dir(dir)))
	srv := start(t, &capture{}, server.WithHandler("/static/", files))
	tests := []struct {
		method, path string
		header       http.Header
		status       int
	}{
		{"GET", "/static/missing.txt", nil, http.StatusNotFound},
		{"HEAD", "/static/missing.txt", nil, http.StatusNotFound},
		{"GET", "/static/a.txt", http.Header{"Range": {"bytes=100-"}}, http.StatusRequestedRangeNotSatisfiable},
	}
	for _, tt := range tests {
		resp, _ := do(t, tt.method, srv.URL+tt.path, tt.header, "")
		if resp.StatusCode != tt.status || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: %d Cache-Control %q X-Content-Type-Options %q, want %d no-store nosniff", tt.method, tt.path,
				resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("X-Content-Type-Options"), tt.status)
		}
	}
}

// TestSpecOffersOnlyAPlainHost: /openapi.yaml offers the Host the request
// came with as its first server only if it is a host name, an IPv4 address
// or a bracketed IPv6 literal, with a port of digits or none; any other is
// left out, and the spec served as written, valid YAML either way.
func TestSpecOffersOnlyAPlainHost(t *testing.T) {
	firstServer := func(spec []byte) (string, error) {
		var doc struct {
			Servers []struct{ URL string } `yaml:"servers"`
		}
		if err := yaml.Unmarshal(spec, &doc); err != nil || len(doc.Servers) == 0 {
			return "", fmt.Errorf("servers %v, %v", doc.Servers, err)
		}
		return doc.Servers[0].URL, nil
	}
	asWritten, err := firstServer(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := start(t, &capture{})
	for _, tt := range []struct {
		host, want string
	}{
		{"example.com", "http://example.com"},
		{"example.com:8080", "http://example.com:8080"},
		{"my-host.example.com", "http://my-host.example.com"},
		{"127.0.0.1:80", "http://127.0.0.1:80"},
		{"[::1]", "http://[::1]"},
		{"[2001:db8::1]:8080", "http://[2001:db8::1]:8080"},
		{"example.com:", asWritten},
		{"127.0.0.1:", asWritten},
		{"[::1]:", asWritten},
		{"a:b", asWritten},
		{"a:1:2", asWritten},
		{"::1", asWritten},
		{"[", asWritten},
		{"x]", asWritten},
		{"[::1", asWritten},
		{"[1.2.3.4]", asWritten},
		{"[example.com]", asWritten},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/openapi.yaml", nil)
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("Host %q: %d", tt.host, resp.StatusCode)
		}
		if got, err := firstServer(spec); err != nil || got != tt.want {
			t.Errorf("Host %q: first server %q, %v, want %q", tt.host, got, err, tt.want)
		}
	}
}

// TestPageErrorsKeepTheirOwnHeaders: a page's error rewritten to the API's
// body keeps the headers that tell of the error rather than of the body
// replaced: a 503's or a 429's Retry-After, which a client or a scraper waits
// by, and a 416's Content-Range, the length the range missed (RFC 9110,
// 15.5.17), as net/http's file server sends it.
func TestPageErrorsKeepTheirOwnHeaders(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	refusing := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			http.Error(w, http.StatusText(status), status)
		})
	}
	for _, v := range []string{"unchecked", "checked"} {
		opts := []server.Option{
			server.WithHandler("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(dir)))),
			server.WithHandler("/busy", refusing(http.StatusServiceUnavailable)),
			server.WithHandler("/slow-down", refusing(http.StatusTooManyRequests)),
		}
		if v == "checked" {
			opts = append(opts, server.WithResponseValidation(server.ResponseValidation{Refuse: true, Report: func(_ *http.Request, err error) { t.Error(err) }}))
		}
		srv := start(t, &capture{}, opts...)
		for _, tt := range []struct {
			path, rng    string
			status       int
			header, want string
		}{
			{"/busy", "", http.StatusServiceUnavailable, "Retry-After", "120"},
			{"/slow-down", "", http.StatusTooManyRequests, "Retry-After", "120"},
			{"/static/a.txt", "bytes=100-", http.StatusRequestedRangeNotSatisfiable, "Content-Range", "bytes */5"},
		} {
			h := http.Header{}
			if tt.rng != "" {
				h.Set("Range", tt.rng)
			}
			resp, body := do(t, "GET", srv.URL+tt.path, h, "")
			want := `{"message":"` + http.StatusText(tt.status) + `"}` + "\n"
			if resp.StatusCode != tt.status || body != want || resp.Header.Get(tt.header) != tt.want {
				t.Errorf("%s, %s: %d %s: %q, %s, want %d %s: %q, %s", v, tt.path, resp.StatusCode, tt.header, resp.Header.Get(tt.header), body,
					tt.status, tt.header, tt.want, want)
			}
		}
	}
}
