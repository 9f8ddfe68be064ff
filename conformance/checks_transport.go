package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// accepted sends a body that must be taken: to the subject with its own
// label, which must answer the connection, or under ReadOnly to the absent
// UUID, which must answer the 404 of an unknown connection and not refuse
// the body.
func (c *probe) accepted(contentType string, body func(label *string) []byte) {
	id, subject := c.refusalTarget()
	var label *string
	if subject != nil {
		label = subject.labelOf()
	}
	ex := c.send(request{method: c.r.api.update.Method, path: c.r.api.itemPath(id), token: c.r.target.Token, contentType: contentType, body: body(label)})
	if subject == nil {
		c.expectNotFound(ex)
	} else if want := c.r.api.update.Success[0]; ex.Status != want {
		c.fail(ex, "status", "%d, the connection: the body is one the API takes; got %d", want, ex.Status)
	}
}

func checkMediaType(c *probe) {
	api := c.r.api
	msg := api.msgs.UnsupportedMediaType
	latin1 := fmt.Appendf(nil, "{%q:\"Caf\xe9\"}", api.labelKey)
	c.refused(api.status[respMediaType], []refusal{
		{"text/plain", c.labelValue("x"), []string{msg}},
		{"application/x-www-form-urlencoded", []byte(api.labelKey + "=x"), []string{msg}},
		{"application/vnd.api+json", c.labelValue("x"), []string{msg}}, // JSON, but not the media type
		{"text/json", c.labelValue("x"), []string{msg}},
		{api.mediaType + "; charset=iso-8859-1", latin1, []string{msg}},
		{api.mediaType + "; charset=utf-16", c.labelValue("x"), []string{msg}},
		{"", c.labelValue("x"), []string{msg}},
	})
	// JSON declared as UTF-8, in either case, is JSON.
	for _, charset := range []string{"utf-8", "UTF-8"} {
		c.accepted(api.mediaType+"; charset="+charset, func(l *string) []byte { return c.labelValue(l) })
	}
}

// checkDuplicateContentType sends a body whose Content-Type is on two lines,
// the same twice and JSON then another type: whatever the values, the spec's
// 400 with x-messages.invalidRequest, and nothing changes.
func checkDuplicateContentType(c *probe) {
	api := c.r.api
	id, subject := c.refusalTarget()
	for _, second := range []string{api.mediaType, "text/plain"} {
		ex := c.send(request{method: api.update.Method, path: api.itemPath(id), token: c.r.target.Token, contentType: api.mediaType,
			lines: http.Header{"Content-Type": {second}}, body: []byte(`{}`)})
		c.expectRefused(ex, subject, api.status[respMalformed], api.msgs.InvalidRequest)
	}
	if subject != nil {
		c.unchanged(*subject, "a refused request")
	}
}

// padded is b followed by white space up to n bytes, still the same JSON.
func padded(b []byte, n int64) []byte {
	return append(b, bytes.Repeat([]byte(" "), int(n)-len(b))...)
}

func checkBodyTooLarge(c *probe) {
	api := c.r.api
	limit := api.limits.RequestBodyBytes
	msg := apispec.Format(api.msgs.BodyTooLarge, "max", strconv.FormatInt(limit, 10))
	over := []refusal{
		{api.mediaType, padded([]byte(`{}`), limit+1), []string{msg}},
		{api.mediaType, c.labelValue(strings.Repeat("a", int(limit))), []string{msg}},
	}
	c.refused(api.status[respTooLarge], over)
	// Without a Content-Length to go by, the limit is the same.
	c.refusedChunked(api.status[respTooLarge], over[:1])
	// x-limits.requestBodyBytes is the largest body taken, not the first refused.
	c.accepted(api.mediaType, func(l *string) []byte { return padded(c.labelValue(l), limit) })
}

func checkMalformedJSON(c *probe) {
	api := c.r.api
	m := api.msgs
	key := fmt.Sprintf("%q", api.labelKey)
	surrogate := []string{m.NotUTF8, m.InvalidJSON} // the spec names both; either words it
	c.refused(api.status[respMalformed], []refusal{
		{api.mediaType, []byte(`{` + key + `:`), []string{m.InvalidJSON}},
		{api.mediaType, []byte(`{` + key + `:"x"} {}`), []string{m.InvalidJSON}},
		{api.mediaType, []byte(`{} {}`), []string{m.InvalidJSON}},
		{api.mediaType, []byte(`{` + key + `:'x'}`), []string{m.InvalidJSON}},
		{api.mediaType, []byte(`{` + key + ":\"\xff\xfe\"}"), []string{m.NotUTF8}},
		{api.mediaType, []byte(`{` + key + `:"\ud800"}`), surrogate},
		{api.mediaType, []byte(`{` + key + `:"x\udc00y"}`), surrogate},
		{api.mediaType, nil, []string{m.BodyMissing}},
		// White space alone is no JSON value: missing, or malformed, as the
		// spec's 400 words either.
		{api.mediaType, []byte(" \r\n\t "), []string{m.BodyMissing, m.InvalidJSON}},
	})
}

// allowed is the set of methods an Allow header lists, OPTIONS aside, which
// a server may add to any path.
func allowed(h http.Header) []string {
	var methods []string
	for _, v := range h.Values("Allow") {
		for _, m := range strings.Split(v, ",") {
			if m = strings.TrimSpace(m); m != "" && m != http.MethodOptions {
				methods = append(methods, m)
			}
		}
	}
	slices.Sort(methods)
	return methods
}

// route is a path of the spec, with a path that the kit sends for it.
type route struct{ template, path string }

// routes are the spec's paths; the item path with the run's absent UUID, so
// that any method may go there.
func (c *probe) routes() []route {
	api := c.r.api
	return []route{{api.list.Path, api.list.Path}, {api.update.Path, api.itemPath(c.r.absent)}}
}

// expectAllow fails unless ex's Allow lists the methods the spec has for
// template (HEAD where GET, OPTIONS allowed).
func (c *probe) expectAllow(ex *exchange, template string) {
	if want, got := apispec.Allow(template), allowed(ex.Header); !slices.Equal(got, want) {
		c.fail(ex, "header Allow", "%s (OPTIONS may be added); got %q", strings.Join(want, ", "), ex.Header.Values("Allow"))
	}
}

// probeMethods are the methods the kit tries on each path.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodTrace, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

func checkUnsupportedMethod(c *probe) {
	api := c.r.api
	tmpl := compileTemplate("methodNotAllowed", api.msgs.MethodNotAllowed)
	for _, rt := range c.routes() {
		for _, m := range probeMethods {
			safe := slices.Contains(safeMethods, m)
			// A lax server may take any method on the list path as a create
			// or a wipe: there, only what cannot change anything, in any mode.
			if slices.Contains(apispec.Allow(rt.template), m) || !safe && !c.r.isAbsent(rt.path) {
				continue
			}
			rq := request{method: m, path: rt.path, token: c.r.target.Token}
			if !safe {
				rq.contentType, rq.body = api.mediaType, []byte(`{}`)
			}
			ex := c.send(rq)
			if ex.Status != http.StatusMethodNotAllowed {
				c.fail(ex, "status", "%d: %s is not a method of %s; got %d", http.StatusMethodNotAllowed, m, rt.template, ex.Status)
				continue
			}
			c.expectAllow(ex, rt.template)
			if m == http.MethodHead {
				continue
			}
			// The message's placeholder, if it has one, names the methods the
			// Allow header does.
			body := c.expectError(ex, http.StatusMethodNotAllowed)
			args, ok := tmpl.match(body.Message)
			if !ok {
				c.fail(ex, "body.message", "%q filled in; got %q", tmpl.text, body.Message)
				continue
			}
			for _, methods := range args {
				if !slices.Equal(allowed(http.Header{"Allow": {methods}}), allowed(ex.Header)) {
					c.fail(ex, "body.message", "the methods of the Allow header, %q; got %q", ex.Header.Values("Allow"), methods)
				}
			}
		}
	}
}

func checkHead(c *probe) {
	op := c.r.api.list
	token := c.r.target.Token
	get := c.send(request{method: op.Method, path: op.Path, token: token})
	head := c.send(request{method: http.MethodHead, path: op.Path, token: token})
	if head.Status != get.Status || len(head.Body) > 0 {
		c.fatal(head, "status", "%d without a body, as the GET's; got %d with %d bytes", get.Status, head.Status, len(head.Body))
	}
	// The length of the body not sent may be left out.
	c.sameHeaders(head, get, "the GET", "Content-Length")
}

func checkOptions(c *probe) {
	for _, rt := range c.routes() {
		// Without a token too: a browser's preflight sends none.
		for _, token := range []string{c.r.target.Token, ""} {
			ex := c.send(request{method: http.MethodOptions, path: rt.path, token: token})
			if ex.Status != http.StatusNoContent || len(ex.Body) > 0 {
				c.fail(ex, "status", "%d without a body; got %d with %d bytes", http.StatusNoContent, ex.Status, len(ex.Body))
			}
			c.expectAllow(ex, rt.template)
		}
	}
}

// checkUnknownRoute sends requests to paths of no operation, which answer 404
// with the route's message, not a connection's. Among them an encoded slash
// before a UUID: a router that decodes it before routing (as Laravel's does)
// takes the path for a connection's. Only GET and OPTIONS go there with a
// real connection's UUID; PUT and DELETE with the absent one, whose 404
// tells the two answers apart by their message.
func checkUnknownRoute(c *probe) {
	api := c.r.api
	token := c.r.target.Token
	real := c.r.absent
	if len(c.r.conns) > 0 {
		real = c.r.conns[0].id()
	}
	var before []*exchange
	for _, t := range []string{c.r.target.Token, c.r.target.OtherToken} {
		_, ex := c.list(t)
		before = append(before, ex)
	}
	slash := api.list.Path + "%2F"
	for _, rq := range []request{
		{method: http.MethodGet, path: path.Dir(api.list.Path) + "/conformance-unknown"},
		{method: http.MethodGet, path: api.list.Path[:len(api.list.Path)-1]}, // one letter short
		{method: http.MethodOptions, path: api.itemPath(c.r.absent) + "/conformance-unknown"},
		{method: http.MethodPut, path: api.itemPath(c.r.absent) + "/conformance-unknown", contentType: api.mediaType, body: []byte(`{}`)},
		{method: http.MethodGet, path: slash + real},
		{method: http.MethodOptions, path: slash + real},
		{method: api.update.Method, path: slash + c.r.absent, contentType: api.mediaType, body: []byte(`{}`)},
		{method: api.remove.Method, path: slash + c.r.absent},
	} {
		rq.token = token
		c.expectError(c.send(rq), http.StatusNotFound, api.msgs.RouteNotFound)
	}
	for i, t := range []string{c.r.target.Token, c.r.target.OtherToken} {
		if _, ex := c.list(t); !c.alike(ex, before[i]) {
			c.fail(ex, "body", "the connections unchanged by requests to unknown paths: %s", c.r.red.excerpt(before[i].Body))
		}
	}
}
