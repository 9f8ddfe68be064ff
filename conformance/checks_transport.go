package conformance

import (
	"net/http"
	"slices"
	"strings"
)

func checkPathUUID(c *probe) {
	conn := c.subject()
	token := c.r.target.Token
	for _, id := range []string{
		"not-a-uuid",
		unknownUUID,
		conn.UUID[:35],                          // one character short
		conn.UUID + "0",                         // one too many
		strings.ReplaceAll(conn.UUID, "-", ""),  // no dashes
		"{" + conn.UUID + "}",                   // braces
		"urn:uuid:" + conn.UUID,                 // a URN
		strings.Replace(conn.UUID, "-", "_", 1), // a wrong separator
	} {
		c.expectError(c.put(token, id, []byte(`{}`)), http.StatusNotFound, msgNotFound)
		c.expectError(c.send(request{method: http.MethodDelete, path: connPath(id), token: token}), http.StatusNotFound, msgNotFound)
	}
	upper := strings.ToUpper(conn.UUID)
	ex := c.put(token, upper, mustJSON(map[string]*string{"label": conn.Label}))
	if ex.Status != http.StatusOK {
		c.fatal(ex, "200: %s is the connection %s", upper, conn.UUID)
	}
	got, err := decodeConnection(ex.Body)
	if err != nil || !strings.EqualFold(got.UUID, conn.UUID) {
		c.fail(ex, "the connection %s (%v)", conn.UUID, err)
	}
	c.expectLabel(ex, got, conn.Label)
}

// refused sends bodies that must be refused with status to the first user's
// connection, and checks that none changed it.
func (c *probe) refused(status int, bodies []request) {
	conn := c.subject()
	for _, rq := range bodies {
		rq.method, rq.path, rq.token = http.MethodPut, connPath(conn.UUID), c.r.target.Token
		c.expectError(c.send(rq), status, "")
	}
	c.unchanged(conn, "a refused request")
}

func checkMediaType(c *probe) {
	c.refused(http.StatusUnsupportedMediaType, []request{
		{contentType: "text/plain", body: []byte(`{"label":"x"}`)},
		{contentType: "application/x-www-form-urlencoded", body: []byte(`label=x`)},
		{contentType: "application/json; charset=iso-8859-1", body: []byte("{\"label\":\"Caf\xe9\"}")},
		{contentType: "application/json; charset=utf-16", body: []byte(`{"label":"x"}`)},
	})
	// JSON declared as UTF-8 is JSON.
	conn := c.subject()
	ex := c.send(request{method: http.MethodPut, path: connPath(conn.UUID), token: c.r.target.Token,
		contentType: "application/json; charset=utf-8", body: mustJSON(map[string]*string{"label": conn.Label})})
	if ex.Status != http.StatusOK {
		c.fail(ex, "200: application/json; charset=utf-8 is JSON")
	}
}

func checkBodyTooLarge(c *probe) {
	c.refused(http.StatusRequestEntityTooLarge, []request{
		{contentType: jsonType, body: labelBody(strings.Repeat("a", 70000))},
		{contentType: jsonType, body: []byte(`{"label":"x"}` + strings.Repeat(" ", 65536))},
	})
}

func checkMalformedJSON(c *probe) {
	c.refused(http.StatusBadRequest, []request{
		{contentType: jsonType, body: []byte(`{"label":`)},
		{contentType: jsonType, body: []byte(`{"label":"x"} {}`)},
		{contentType: jsonType, body: []byte(`{} {}`)},
		{contentType: jsonType, body: []byte(`{"label":'x'}`)},
		{contentType: jsonType, body: []byte("{\"label\":\"\xff\xfe\"}")},
		{contentType: jsonType, body: []byte(`{"label":"\ud800"}`)},
		{contentType: jsonType, body: []byte(`{"label":"x\udc00y"}`)},
		{contentType: jsonType, body: []byte{}},
	})
}

// allowed is the set of methods an Allow header lists, HEAD and OPTIONS
// aside, which a server may add to any GET or to every path.
func allowed(h http.Header) []string {
	var methods []string
	for _, v := range h.Values("Allow") {
		for _, m := range strings.Split(v, ",") {
			if m = strings.TrimSpace(m); m != "" && m != http.MethodHead && m != http.MethodOptions {
				methods = append(methods, m)
			}
		}
	}
	slices.Sort(methods)
	return methods
}

// paths are the spec's two paths, with the methods each allows.
func (c *probe) paths() []struct {
	path  string
	allow []string
} {
	id := unknownUUID
	if len(c.r.conns) > 0 {
		id = c.r.conns[0].UUID
	}
	return []struct {
		path  string
		allow []string
	}{
		{listPath, []string{http.MethodGet}},
		{connPath(id), []string{http.MethodDelete, http.MethodPut}},
	}
}

func checkUnsupportedMethod(c *probe) {
	for _, p := range c.paths() {
		for _, m := range []string{http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodGet} {
			if slices.Contains(p.allow, m) {
				continue
			}
			ex := c.send(request{method: m, path: p.path, token: c.r.target.Token, contentType: jsonType, body: []byte(`{}`)})
			c.expectError(ex, http.StatusMethodNotAllowed, "")
			if got := allowed(ex.Header); ex.Status == http.StatusMethodNotAllowed && !slices.Equal(got, p.allow) {
				c.fail(ex, "Allow: %s, got %q", strings.Join(p.allow, ", "), ex.Header.Values("Allow"))
			}
		}
	}
}

func checkHead(c *probe) {
	token := c.r.target.Token
	get := c.send(request{method: http.MethodGet, path: listPath, token: token})
	head := c.send(request{method: http.MethodHead, path: listPath, token: token})
	if head.Status != http.StatusOK || len(head.Body) > 0 {
		c.fatal(head, "200 without a body, as GET is %d", get.Status)
	}
	for name := range get.Header {
		if slices.Contains(perRequest, name) {
			continue
		}
		g, w := head.Header.Get(name), get.Header.Get(name)
		// The length of the body not sent may be left out.
		if g != w && (name != "Content-Length" || g != "") {
			c.fail(head, "header %s as the GET's: %q, got %q", name, w, g)
		}
	}
}

func checkOptions(c *probe) {
	for _, p := range c.paths() {
		// Without a token too: a browser's preflight sends none.
		for _, token := range []string{c.r.target.Token, ""} {
			ex := c.send(request{method: http.MethodOptions, path: p.path, token: token})
			if ex.Status != http.StatusNoContent || len(ex.Body) > 0 {
				c.fail(ex, "204 without a body")
			}
			if got := allowed(ex.Header); !slices.Equal(got, p.allow) {
				c.fail(ex, "Allow: %s (HEAD and OPTIONS aside), got %q", strings.Join(p.allow, ", "), ex.Header.Values("Allow"))
			}
		}
	}
}

func checkUnknownRoute(c *probe) {
	token := c.r.target.Token
	for _, rq := range []request{
		{method: http.MethodGet, path: "/api/v1/nope"},
		{method: http.MethodGet, path: "/api/v1/oauth/connection"},
		{method: http.MethodDelete, path: "/api/v2/oauth/connections/" + unknownUUID},
	} {
		rq.token = token
		c.expectError(c.send(rq), http.StatusNotFound, "")
	}
	if len(c.r.conns) == 0 {
		return
	}
	// An encoded slash is inside one segment: it is no connection's path.
	conn := c.subject()
	for _, m := range []string{http.MethodPut, http.MethodDelete} {
		ex := c.send(request{method: m, path: listPath + "%2F" + conn.UUID, token: token, contentType: jsonType, body: labelBody(testLabel)})
		c.expectError(ex, http.StatusNotFound, "")
	}
	c.unchanged(conn, "a request to an unknown path")
}
