// Package validation is the request validation middleware, built on kin-openapi:
// it finds the operation a request is for in the spec, then checks the request
// against it, so that what the spec forbids never reaches a handler. Failures
// become *apierror.Error values in the API's own format.
//
// It does not use kin-openapi's routers: they match with regexps and, given the
// spec's `servers` entry with a host, refuse every request on another host. The
// spec's paths here are few and literal, so a segment-by-segment match finds the
// route without allocating, and it tells 404 (no such path) from 405 (no such
// method on the path) with the Allow header the client needs.
package validation

import (
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
)

// path is one entry of the spec's paths, split into segments.
type path struct {
	template string
	segments []string // a literal, or "" for a {parameter}
	params   []string // parameter names, in the order of the "" segments
	allow    string   // the Allow header for a 405
	routes   map[string]*routers.Route
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
	slices.Sort(methods)
	p.allow = strings.Join(methods, ", ")
	return p
}

// match reports whether urlPath fits the template, appending the parameter
// values to values. A parameter matches one non-empty segment.
func (p *path) match(urlPath string, values []string) ([]string, bool) {
	rest, ok := strings.CutPrefix(urlPath, "/")
	if !ok {
		return nil, false
	}
	for i, want := range p.segments {
		seg, tail, more := strings.Cut(rest, "/")
		if more != (i < len(p.segments)-1) {
			return nil, false
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

// maxParams is how many path parameters the callers of match have room for on
// their stack; a template with more still works, on the heap.
const maxParams = 4

// Match is the operation a request is for.
type Match struct {
	Route      *routers.Route
	PathParams map[string]string
}

// find returns the operation for r, or a 404 or 405. Its PathParams are made
// only if params is set: the Route middleware needs the operation alone.
func (v *Validator) find(r *http.Request, params bool) (Match, *apierror.Error) {
	var buf [maxParams]string
	for _, p := range v.paths {
		values, ok := p.match(r.URL.Path, buf[:0])
		if !ok {
			continue
		}
		route := p.routes[r.Method]
		if route == nil {
			e := apierror.New(http.StatusMethodNotAllowed,
				"This method is not supported for this route. Supported methods: "+p.allow+".")
			e.Header = http.Header{"Allow": {p.allow}}
			return Match{}, e
		}
		m := Match{Route: route}
		if params && len(values) > 0 {
			m.PathParams = make(map[string]string, len(values))
			for i, value := range values {
				m.PathParams[p.params[i]] = value
			}
		}
		return m, nil
	}
	return Match{}, apierror.New(http.StatusNotFound, "The route could not be found.")
}

// Route answers 404 or 405 to a request that is for no operation of the spec,
// and passes the others on as they are. It looks at the method and path only,
// so it can run before authentication. Request finds the operation again, which
// costs less than carrying it in the request's context (a context, a copy of
// the request and the Match on the heap).
func (v *Validator) Route(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := v.find(r, false); err != nil {
			apierror.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Template returns the spec path that r is for, or "" if none: a low-cardinality
// name for logs and metrics.
func (v *Validator) Template(r *http.Request) string {
	var buf [maxParams]string
	for _, p := range v.paths {
		if _, ok := p.match(r.URL.Path, buf[:0]); ok {
			return p.template
		}
	}
	return ""
}
