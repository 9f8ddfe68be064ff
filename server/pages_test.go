package server_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

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
