// Package validation is the request validation of the server kit, built on
// kin-openapi: it finds the operation a request is for in the spec, then checks
// the request against it, so that what the spec forbids never reaches a handler.
// Failures become *apierror.Error values in the API's own format.
//
// It does not use kin-openapi's routers: they match with regexps and, given the
// spec's `servers` entry with a host, refuse every request on another host. The
// spec's paths here are few and literal, so a segment-by-segment match finds the
// route without allocating, and it tells 404 (no such path) from 405 (no such
// method on the path) with the Allow header the client needs.
package validation

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// path is one entry of the spec's paths, split into segments.
type path struct {
	template string
	segments []string // a literal, or "" for a {parameter}
	params   []string // parameter names, in the order of the "" segments
	allow    string   // the Allow header of a 405 or an OPTIONS answer
	routes   map[string]*routers.Route
	// notAllowed is the 405 of the path, the same for every request.
	notAllowed *apierror.Error
}

func newPath(doc *openapi3.T, template string, item *openapi3.PathItem) *path {
	p := &path{template: template, routes: map[string]*routers.Route{}}
	for _, seg := range strings.Split(strings.TrimPrefix(template, "/"), "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			p.params = append(p.params, seg[1:len(seg)-1])
			seg = ""
		}
		p.segments = append(p.segments, seg)
	}
	var methods []string
	for method, op := range item.Operations() {
		methods = append(methods, method)
		p.routes[method] = &routers.Route{Spec: doc, Path: template, PathItem: item, Method: method, Operation: op}
	}
	// HEAD is GET without the body (RFC 9110 section 9.3.2), as Laravel answers it.
	if get := p.routes[http.MethodGet]; get != nil && p.routes[http.MethodHead] == nil {
		p.routes[http.MethodHead] = get
		methods = append(methods, http.MethodHead)
	}
	slices.Sort(methods)
	p.allow = strings.Join(methods, ", ")
	p.notAllowed = apierror.MethodNotAllowed(p.allow).Prerender()
	return p
}

// match reports whether the escaped path fits the template, appending the
// unescaped parameter values to values. Segments are split before they are
// unescaped, as net/http's ServeMux does, so an encoded slash (%2F) stays
// inside its segment and cannot make a path that the client did not send. A
// parameter matches one non-empty segment.
func (p *path) match(escaped string, values []string) ([]string, bool) {
	rest, ok := strings.CutPrefix(escaped, "/")
	if !ok {
		return nil, false
	}
	for i, want := range p.segments {
		seg, tail, more := strings.Cut(rest, "/")
		if more != (i < len(p.segments)-1) {
			return nil, false
		}
		if strings.IndexByte(seg, '%') >= 0 {
			var err error
			if seg, err = url.PathUnescape(seg); err != nil {
				return nil, false
			}
		}
		if want == "" {
			if seg == "" {
				return nil, false
			}
			values = append(values, seg)
		} else if seg != want {
			return nil, false
		}
		rest = tail
	}
	return values, true
}

// maxParams is how many path parameters a Match has room for in itself; a
// template with more still works, on the heap.
const maxParams = 4

// Match is what the spec says of a request's method and path.
type Match struct {
	// Template is the spec's path the request is for ("" if none): a
	// low-cardinality name for logs and metrics.
	Template string
	// Allow lists the path's methods, for a 405 or an OPTIONS answer.
	Allow string
	// Route is the operation, nil if the path has none for the method.
	Route *routers.Route
	// notAllowed is the path's 405.
	notAllowed *apierror.Error
	// names are the path's parameters, in order, and n values theirs,
	// unescaped: in local, or in heap if there are more than maxParams.
	names []string
	n     int
	local [maxParams]string
	heap  []string
}

// values are the values of the path's parameters, in the order of names.
func (m *Match) values() []string {
	if m.heap != nil {
		return m.heap
	}
	return m.local[:m.n]
}

// PathParams returns the path's parameters, unescaped, by name, in a new map
// (kin-openapi's form).
func (m *Match) PathParams() map[string]string {
	params := make(map[string]string, len(m.names))
	for i, value := range m.values() {
		params[m.names[i]] = value
	}
	return params
}

// PathValue returns the value of the path's parameter name, unescaped, or ""
// if it has none.
func (m *Match) PathValue(name string) string {
	if i := slices.Index(m.names, name); i >= 0 {
		return m.values()[i]
	}
	return ""
}

// SetPathValues sets the path's parameters as r's path values, which the
// generated handlers read (Request.PathValue).
func (m *Match) SetPathValues(r *http.Request) {
	for i, value := range m.values() {
		r.SetPathValue(m.names[i], value)
	}
}

// Find matches r's method and path against the spec, once per request: the
// server dispatches on the Match and hands it to Validate.
func (v *Validator) Find(r *http.Request) Match {
	var buf [maxParams]string
	escaped := r.URL.EscapedPath()
	for _, p := range v.paths {
		values, ok := p.match(escaped, buf[:0])
		if !ok {
			continue
		}
		m := Match{Template: p.template, Allow: p.allow, Route: p.routes[r.Method], notAllowed: p.notAllowed}
		if m.Route != nil && len(values) > 0 {
			m.names, m.n = p.params, copy(m.local[:], values)
			if len(values) > maxParams {
				m.heap = slices.Clone(values)
			}
		}
		return m
	}
	return Match{}
}

// Err is the answer to a request that is for no operation: 404 for an unknown
// path, 405 with Allow for a known path without the method; nil if m has an
// operation.
func (m Match) Err() *apierror.Error {
	switch {
	case m.Route != nil:
		return nil
	case m.Template == "":
		return RouteNotFound
	}
	return m.notAllowed
}

// RouteNotFound is the answer to a path that the server does not know.
var RouteNotFound = apierror.New(http.StatusNotFound, apispec.MessagesOf().RouteNotFound).Prerender()

// Routes returns every operation of the spec, GET's once although HEAD
// shares it.
func (v *Validator) Routes() []*routers.Route {
	var routes []*routers.Route
	for _, p := range v.paths {
		for method, route := range p.routes {
			if method == route.Method {
				routes = append(routes, route)
			}
		}
	}
	return routes
}
