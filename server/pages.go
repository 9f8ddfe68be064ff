package server

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/api"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/docs"
	"github.com/plannr-toolkit/plannr-oauth/internal/nilcheck"
	"github.com/plannr-toolkit/plannr-oauth/internal/validation"
)

// The server's own pages, outside the spec: GET and HEAD only, no
// authentication, and errors in the API's JSON all the same.
//
//	/healthz       liveness: the process serves HTTP
//	/readyz        readiness: the check of WithReadiness passes, and Drain has not been called
//	/openapi.yaml  the spec, with this server's own origin as its first server
//	/docs/         Swagger UI (WithDocs)

// WithHandler serves h at path for GET and HEAD, beside the API: a path that
// ends in "/" serves its whole subtree, the longest such path winning, as in
// http.ServeMux, and as there an encoded slash (%2F) never stands for a '/'
// of path (/admin%2Fstats is not in /admin/'s subtree) but may sit in a
// subtree's rest (/admin/a%2Fb is); the API's own paths come first. h
// replaces the server's own page of path (/docs/, say) and an earlier
// WithHandler's. Other methods get a JSON 405, and h's error answers are
// rewritten to the API's JSON error body, with their status and the headers
// that tell of the error (Retry-After, a 416's Content-Range), unless they
// are one already. h may flush, through http.Flusher or http.ResponseController,
// as under net/http alone. Use it for a metrics page, say. A nil h takes back
// an earlier WithHandler of path; a nil value in h (a nil http.HandlerFunc,
// say), which would panic on every request, fails New.
func WithHandler(path string, h http.Handler) Option {
	return func(c *config) error {
		if h == nil {
			delete(c.pages, path)
			return nil
		}
		if err := nilcheck.Error("the handler", h); err != nil {
			return fmt.Errorf("WithHandler(%q): %w", path, err)
		}
		c.pages[path] = h
		return nil
	}
}

// WithDocs serves Swagger UI, with every asset embedded, at /docs/, rendering
// /openapi.yaml, whose "Try it out" sends requests to this server.
func WithDocs() Option {
	return func(c *config) error {
		c.docs = true
		return nil
	}
}

// WithReadiness makes /readyz run check (the database answers, say), within
// the time of WithTimeout: 200 {"status":"ok"} when it returns nil, 503
// {"message": "The server is not ready."} otherwise, with the error on the
// request's log line. By default, and with a nil check, /readyz is ready
// until Drain.
func WithReadiness(check func(ctx context.Context) error) Option {
	return func(c *config) error {
		c.readiness = check
		return nil
	}
}

var (
	notReady     = apierror.New(http.StatusServiceUnavailable, apispec.MessagesOf().NotReady)
	shuttingDown = apierror.New(http.StatusServiceUnavailable, apispec.MessagesOf().ShuttingDown)
)

// readiness is the state behind /readyz.
type readiness struct {
	check    func(context.Context) error
	draining atomic.Bool
}

// Drain turns /readyz to 503 for good, so that a load balancer stops sending
// new requests before the server shuts down; requests that still come are
// served.
func (s *Server) Drain() { s.ready.draining.Store(true) }

// pageMethods are the methods of every page.
const pageMethods = "GET, HEAD"

// pageMethodNotAllowed is the 405 of every page.
var pageMethodNotAllowed = apierror.MethodNotAllowed(pageMethods).Prerender()

type pages struct {
	// errorBody checks that an error body is in the API's format.
	errorBody func(http.Header, []byte) error
	exact     map[string]http.Handler
	// prefixes serve subtrees, longest first, so that the first match is the
	// longest.
	prefixes []prefixPage
}

type prefixPage struct {
	path string // ends in "/"
	h    http.Handler
}

// NewPages returns a server of WithHandler's pages alone, without the API
// and without the server's own pages (/healthz, /readyz, /openapi.yaml,
// /docs/): for a listener apart from the API's, such as one that only
// Prometheus reaches, whose answers are those of the same pages beside the
// API. A page is served for GET and HEAD, any other method gets a JSON 405
// with Allow, and any other path a JSON 404; the page's errors are rewritten
// to the API's JSON (see WithHandler); every answer carries X-Request-Id,
// Cache-Control: no-store and X-Content-Type-Options: nosniff; each request
// gets its log line (WithLogger, WithoutLogging) and, with WithMetrics, is
// counted. The other options have no effect here. Serve it, as a Server,
// with an http.Server whose DisableGeneralOptionsHandler is set: otherwise
// net/http answers OPTIONS * itself, a 200 that no log line, header or metric
// of the handler's sees; with it, the handler answers the JSON 404. Serve it
// on its Listener, as a Server, for net/http's own errors to be JSON, logged
// and counted too.
func NewPages(opts ...Option) (*Pages, error) {
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	// A validator of the spec for its check of error bodies alone.
	errorBody := validation.New(apispec.Doc(), cfg.maxBody, authenticated, false).ErrorBody
	p := newPages(cfg.pages, errorBody)
	route := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.route(w, r) {
			WriteError(w, r, validation.RouteNotFound)
		}
	})
	obs := newObserver(cfg)
	return &Pages{handler: cfg.metrics.countInFlight(observe(obs, route)), obs: obs}, nil
}

// Pages is the server of NewPages: WithHandler's pages alone, an
// http.Handler.
type Pages struct {
	handler http.Handler
	obs     *observer
}

// ServeHTTP answers one request.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// ownPages are the server's own pages, by path; /readyz's check gets timeout
// (none if zero).
func ownPages(cfg config, ready *readiness, timeout time.Duration) map[string]http.Handler {
	own := map[string]http.Handler{}
	own["/healthz"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	own["/readyz"] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ready.draining.Load() {
			WriteError(w, r, shuttingDown)
			return
		}
		if ready.check != nil {
			ctx := r.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			if err := ready.check(ctx); err != nil {
				// The cause goes to the log line, not to whoever asked: it may
				// name the database, its user or its file.
				WriteError(w, r, fmt.Errorf("%w: %w", notReady, err))
				return
			}
		}
		writeStatus(w, http.StatusOK, "ok")
	})
	own["/openapi.yaml"] = http.HandlerFunc(serveSpec)
	if cfg.docs {
		h := docs.Handler("/openapi.yaml")
		own["/docs"], own["/docs/"] = h, h
	}
	return own
}

// newPages serves the pages of byPath, whose paths that end in "/" serve
// their subtrees; errorBody checks the error bodies of pages that are not
// ours.
func newPages(byPath map[string]http.Handler, errorBody func(http.Header, []byte) error) pages {
	p := pages{errorBody: errorBody, exact: maps.Clone(byPath)}
	for path, h := range p.exact {
		if strings.HasSuffix(path, "/") {
			p.prefixes = append(p.prefixes, prefixPage{path, h})
			delete(p.exact, path)
		}
	}
	// Of two distinct paths of one length, neither holds the other, so their
	// order does not matter.
	slices.SortFunc(p.prefixes, func(a, b prefixPage) int { return len(b.path) - len(a.path) })
	return p
}

// find returns the page of r's path and its name for the log line, or nil.
func (p pages) find(r *http.Request) (http.Handler, string) {
	path := pagePath(r.URL)
	if h := p.exact[path]; h != nil {
		return h, path
	}
	for _, pp := range p.prefixes {
		if strings.HasPrefix(path, pp.path) {
			return pp.h, pp.path
		}
	}
	return nil, ""
}

// keepEncodedSlash escapes the '%' of an encoded slash, so that unescaping
// leaves it as it was sent.
var keepEncodedSlash = strings.NewReplacer("%2F", "%252F", "%2f", "%252f")

// pagePath is the path a page is matched on: the escaped path with every
// escape decoded but an encoded slash, which stays as it was sent. So, as in
// http.ServeMux, an encoded slash never stands for a '/' of a page's path
// (/admin%2Fstats is not in /admin/'s subtree), yet may sit in a subtree's
// rest (/admin/a%2Fb is).
func pagePath(u *url.URL) string {
	if u.RawPath == "" {
		return u.Path // sent without an encoded slash
	}
	// EscapedPath is a valid escaping, so this does not fail; if it did, ""
	// would match no page.
	path, _ := url.PathUnescape(keepEncodedSlash.Replace(u.EscapedPath()))
	return path
}

// route serves r if its path is a page's, and reports whether it did.
func (p pages) route(w http.ResponseWriter, r *http.Request) bool {
	h, name := p.find(r)
	if h == nil {
		return false
	}
	setRoute(w, name, nil)
	r.Pattern = name
	p.serve(w, r, h)
	return true
}

func (p pages) serve(w http.ResponseWriter, r *http.Request, h http.Handler) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		WriteError(w, r, pageMethodNotAllowed)
		return
	}
	e := &errorRewriter{ResponseWriter: w, r: r, check: p.errorBody}
	h.ServeHTTP(e, r)
	e.finish()
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(`{"status":"` + status + `"}` + "\n"))
}

// serveSpec serves the spec with the origin the request came to as its first
// server, so that "Try it out" in /docs calls this server, not production.
func serveSpec(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(specFor(r))
}

// specServers is where the spec's list of servers starts.
var specServers = []byte("\nservers:\n")

// specFor returns api.Spec with r's origin inserted as the first server. A
// Host that is not a plain host[:port] (plainHost; it comes from the client,
// and goes into the YAML as it is) is left out, and the spec served as
// written.
func specFor(r *http.Request) []byte {
	if !plainHost(r.Host) {
		return api.Spec
	}
	scheme := schemeOf(r)
	i := bytes.Index(api.Spec, specServers)
	if i < 0 {
		return api.Spec
	}
	i += len(specServers)
	entry := "  - url: " + scheme + "://" + r.Host + "\n    description: This server\n"
	return append(append(append([]byte{}, api.Spec[:i]...), entry...), api.Spec[i:]...)
}

// schemeOf is the scheme the client used: https if the connection is TLS, or
// if a proxy that ended TLS in front of the server says so in
// X-Forwarded-Proto or Forwarded (RFC 7239). The page only points "Try it
// out" at this origin, so a client lying about it fools only itself.
func schemeOf(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if strings.EqualFold(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]), "https") {
		return "https"
	}
	for _, elem := range strings.Split(strings.Split(r.Header.Get("Forwarded"), ",")[0], ";") {
		if k, v, _ := strings.Cut(strings.TrimSpace(elem), "="); strings.EqualFold(k, "proto") && strings.EqualFold(strings.Trim(v, `"`), "https") {
			return "https"
		}
	}
	return "http"
}

// plainHost reports whether host is a host name or IPv4 address (letters,
// digits, '-' and '.'), or a bracketed IPv6 literal, with a port of digits or
// none: what stands in a URL, and in the spec's YAML, as it is.
func plainHost(host string) bool {
	name := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		if !madeOf(host[i+1:], digits) {
			return false
		}
		name = host[:i]
	}
	if literal, ok := strings.CutPrefix(name, "["); ok {
		literal, ok = strings.CutSuffix(literal, "]")
		addr, err := netip.ParseAddr(literal)
		return ok && err == nil && addr.Is6()
	}
	return len(name) <= 255 && madeOf(name, hostNameBytes)
}

const (
	digits        = "0123456789"
	hostNameBytes = digits + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-."
)

// madeOf reports whether s is not empty and has only bytes of set.
func madeOf(s, set string) bool { return s != "" && strings.Trim(s, set) == "" }

// maxPageErrorBody bounds the error body of a page that is held to be
// checked. The API's error is one short message; a body past this is not one,
// and is rewritten without holding the rest.
const maxPageErrorBody = 8 << 10

// errorRewriter makes a page that is not ours (the /docs file server, or
// WithHandler's) answer its errors in the API's JSON: an error whose body is
// not already the API's error is replaced by {"message": <status text>}, or
// for a status without one (499, say) the spec's message of its class. An
// error body is held until the page returns (finish), to be checked whole.
type errorRewriter struct {
	http.ResponseWriter
	r        *http.Request
	check    func(http.Header, []byte) error
	held     int // the status of the error body being held, if any
	body     []byte
	replaced bool
}

func (e *errorRewriter) WriteHeader(status int) {
	switch {
	case e.held != 0 || e.replaced:
	case status < 400:
		e.ResponseWriter.WriteHeader(status)
	default:
		e.held = status
	}
}

func (e *errorRewriter) Write(b []byte) (int, error) {
	switch {
	case e.held != 0 && len(e.body)+len(b) > maxPageErrorBody:
		e.replace(e.held)
	case e.held != 0:
		e.body = append(e.body, b...)
	case !e.replaced:
		return e.ResponseWriter.Write(b)
	}
	return len(b), nil // held, or the page's own error body dropped
}

// FlushError keeps a held error body back: flushing the writer under it
// would send the status before the body is checked.
func (e *errorRewriter) FlushError() error {
	if e.held != 0 {
		return nil
	}
	return http.NewResponseController(e.ResponseWriter).Flush()
}

// Flush is FlushError for pages that flush through http.Flusher, as most do.
func (e *errorRewriter) Flush() { _ = e.FlushError() }

// finish sends the held error body, once the page has written all of it, if
// it is the API's error, and rewrites it otherwise.
func (e *errorRewriter) finish() {
	if e.held == 0 {
		return
	}
	if e.check(e.Header(), e.body) != nil {
		e.replace(e.held)
		return
	}
	e.ResponseWriter.WriteHeader(e.held)
	_, _ = e.ResponseWriter.Write(e.body)
}

func (e *errorRewriter) replace(status int) {
	e.held, e.body, e.replaced = 0, nil, true
	h := e.Header()
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	// net/http's own errors (http.ServeContent's, http.FileServer's) delete
	// Cache-Control before they write, to drop a file's caching; the error
	// is the kit's now, and carries what every answer does.
	noStoreNoSniff(h)
	rewritten := apierror.New(status, cmp.Or(http.StatusText(status), classMessage(status)))
	// WriteError drops the headers of an answer its error stands in for; here
	// the error is the page's own, and those of them that tell of the error
	// rather than of the body replaced go with it.
	for k, of := range errorsOwnHeaders {
		if v := h[k]; len(v) > 0 && (of == 0 || of == status) {
			if rewritten.Header == nil {
				rewritten.Header = http.Header{}
			}
			rewritten.Header[k] = v
		}
	}
	WriteError(e.ResponseWriter, e.r, rewritten)
}

// errorsOwnHeaders are the headers of a page's error that its rewriting
// keeps, in canonical form, with the status they belong to (0: any): when to
// ask again (a 503's or a 429's Retry-After), and the length a range missed
// (a 416's Content-Range, RFC 9110, 15.5.17).
var errorsOwnHeaders = map[string]int{
	"Retry-After":   0,
	"Content-Range": http.StatusRequestedRangeNotSatisfiable,
}

func (e *errorRewriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }
