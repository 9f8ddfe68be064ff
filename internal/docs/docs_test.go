package docs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/api"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/docs"
)

const specPath = "/openapi.yaml"

// newServer serves the docs beside the spec, as the real server will.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+specPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(api.Spec)
	})
	h := docs.Handler(specPath)
	mux.Handle("/docs", h)
	mux.Handle("/docs/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// noRedirects lets a test see a redirect instead of its target.
func noRedirects(srv *httptest.Server) *http.Client {
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", u, err)
	}
	return resp, string(body)
}

func TestRoutes(t *testing.T) {
	srv := newServer(t)
	c := noRedirects(srv)

	for _, tc := range []struct {
		path     string
		status   int
		location string // for redirects
		// contentType is part of a success's Content-Type: JavaScript's is
		// text/ or application/, as the system's mime.types says.
		contentType string
	}{
		{path: "/docs", status: http.StatusMovedPermanently, location: "/docs/"},
		{path: "/docs/", status: http.StatusOK, contentType: "text/html"},
		{path: "/docs/swagger-ui-bundle.js", status: http.StatusOK, contentType: "javascript"},
		{path: "/docs/swagger-ui.css", status: http.StatusOK, contentType: "text/css"},
		{path: "/docs/no-such-asset.js", status: http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, _ := get(t, c, srv.URL+tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("Location = %q, want %q", got, tc.location)
			}
			if got := resp.Header.Get("Content-Type"); !strings.Contains(got, tc.contentType) {
				t.Errorf("Content-Type = %q, want it to contain %q", got, tc.contentType)
			}
		})
	}
}

// wantTitle is the page title: the spec's, to which swgui appends " - Swagger UI".
func wantTitle(t *testing.T) string {
	t.Helper()
	spec, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	return spec.Info.Title + " - Swagger UI"
}

func TestTitleIsTheSpecs(t *testing.T) {
	srv := newServer(t)
	_, page := get(t, srv.Client(), srv.URL+"/docs/")
	if want := "<title>" + wantTitle(t) + "</title>"; !strings.Contains(page, want) {
		t.Errorf("page has no %s", want)
	}
}

var (
	// attrURL finds the URLs that HTML loads: <script src>, <link href>, <img src>.
	attrURL = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*["']([^"']+)["']`)
	// cssURL finds the URLs that CSS loads: url(...) and @import "...".
	cssURL = regexp.MustCompile(`url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)`)
	// absURL finds absolute URLs anywhere, such as in the inline Swagger UI config.
	absURL = regexp.MustCompile(`https?://[^\s"'<>()\\]+`)
)

// TestLoadsNothingFromElsewhere checks the page statically: every URL that its
// HTML, inline config and CSS point to is on the serving host and is served. The
// browser test checks the same at run time, request by request.
func TestLoadsNothingFromElsewhere(t *testing.T) {
	srv := newServer(t)
	pageURL, err := url.Parse(srv.URL + "/docs/")
	if err != nil {
		t.Fatal(err)
	}
	_, page := get(t, srv.Client(), pageURL.String())

	for _, u := range absURL.FindAllString(page, -1) {
		if !strings.HasPrefix(u, srv.URL) {
			t.Errorf("page names an external URL: %s", u)
		}
	}

	links := attrURL.FindAllStringSubmatch(page, -1)
	if len(links) == 0 {
		t.Fatal("page links no asset: is it the Swagger UI page?")
	}
	for _, link := range links {
		asset, body, ok := fetchLocal(t, srv, pageURL, link[1])
		if !ok || !strings.HasSuffix(asset.Path, ".css") {
			continue
		}
		for _, ref := range cssURL.FindAllStringSubmatch(body, -1) {
			fetchLocal(t, srv, asset, ref[1]+ref[2])
		}
	}
}

// fetchLocal resolves ref against base and, unless it is inline data, reports an
// error if it is on another host or is not served. It returns what it fetched,
// and whether it did.
func fetchLocal(t *testing.T, srv *httptest.Server, base *url.URL, ref string) (*url.URL, string, bool) {
	t.Helper()
	if strings.HasPrefix(ref, "data:") {
		return nil, "", false
	}
	u, err := base.Parse(ref)
	if err != nil {
		t.Errorf("%s: unparsable URL %q: %v", base.Path, ref, err)
		return nil, "", false
	}
	if u.Host != base.Host {
		t.Errorf("%s loads %s from another host", base.Path, u)
		return nil, "", false
	}
	resp, body := get(t, srv.Client(), u.String())
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s loads %s: status %d", base.Path, u, resp.StatusCode)
		return nil, "", false
	}
	return u, body, true
}
