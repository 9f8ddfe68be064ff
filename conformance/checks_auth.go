package conformance

import (
	"net/http"
	"regexp"
)

// operations are one request of each operation for the auth checks, PUT and
// DELETE to the run's absent UUID, so that a server that ignores
// authentication changes nothing; and a HEAD wherever a GET, since HEAD is
// answered as GET (apispec.Allow lists it there), its token included.
func (c *probe) operations() []request {
	api := c.r.api
	ops := []request{
		{method: api.list.Method, path: api.list.Path},
		{method: api.update.Method, path: api.itemPath(c.r.absent), contentType: api.mediaType, body: []byte(`{}`)},
		{method: api.remove.Method, path: api.itemPath(c.r.absent)},
	}
	for _, rq := range ops {
		if rq.method == http.MethodGet {
			ops = append(ops, request{method: http.MethodHead, path: rq.path})
		}
	}
	return ops
}

// The syntax of WWW-Authenticate (RFC 7235 section 4.1): challenges, each a
// scheme and then a token68 or auth-params, separated by commas.
var (
	challengeSyntax = func() *regexp.Regexp {
		const (
			token   = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
			quoted  = `"(?:[^"\\]|\\.)*"`
			param   = token + `[ \t]*=[ \t]*(?:` + token + `|` + quoted + `)`
			token68 = `[A-Za-z0-9._~+/-]+=*`
			list    = `[ \t]*,[ \t]*`
		)
		challenge := token + `(?:[ \t]+(?:` + token68 + `|` + param + `(?:` + list + param + `)*))?`
		return regexp.MustCompile(`^` + challenge + `(?:` + list + challenge + `)*$`)
	}()
	// bearerScheme finds a challenge of the Bearer scheme: at the start or
	// after a comma, and not an auth-param's name.
	bearerScheme = regexp.MustCompile(`(?i)(?:^|,)[ \t]*Bearer(?:[ \t]+[^=\s]|[ \t]*,|[ \t]*$)`)
)

// bearerChallenge reports whether a WWW-Authenticate field holds a Bearer
// challenge (RFC 6750 section 3), with any realm and parameters.
func bearerChallenge(values []string) bool {
	for _, v := range values {
		if challengeSyntax.MatchString(v) && bearerScheme.MatchString(v) {
			return true
		}
	}
	return false
}

// expectUnauthenticated fails unless ex is the 401 the contract describes,
// with the challenge of the spec's bearer scheme.
func (c *probe) expectUnauthenticated(ex *exchange) {
	api := c.r.api
	c.expectError(ex, api.status[respUnauthenticated], api.msgs.Unauthenticated)
	if got := ex.Header.Values("WWW-Authenticate"); ex.Status == api.status[respUnauthenticated] && !bearerChallenge(got) {
		c.fail(ex, "header WWW-Authenticate", `a Bearer challenge (RFC 6750), e.g. Bearer realm="api"; got %q`, got)
	}
}

func checkIgnoredAuth(c *probe) {
	unknown := "conformance-unknown-" + c.r.absent
	for _, auth := range [][]string{{}, {bearer(unknown)}, {basic(c.r.target.Token)}, {"Bearer"}, {"Bearer "}} {
		for _, rq := range c.operations() {
			rq.auth = auth
			c.expectUnauthenticated(c.send(rq))
		}
	}
}

func checkAuthBeforeBody(c *probe) {
	api := c.r.api
	for _, b := range []struct {
		contentType string
		body        []byte
	}{
		{api.mediaType, c.labelValue(42)},
		{api.mediaType, []byte(`{"`)},
		{api.mediaType, []byte(`[]`)},
		{"text/plain", []byte(`x`)},
		{"", nil},
	} {
		c.expectUnauthenticated(c.send(request{method: api.update.Method, path: api.itemPath(c.r.absent), contentType: b.contentType, body: b.body}))
	}
	// A malformed UUID too: the path is not looked at before the token.
	c.expectUnauthenticated(c.send(request{method: api.remove.Method, path: api.itemPath("not-a-uuid-" + c.r.absent)}))
}

func checkDuplicateAuthorization(c *probe) {
	t1, t2 := bearer(c.r.target.Token), bearer(c.r.target.OtherToken)
	for _, auth := range [][]string{{t1, t2}, {t2, t1}, {t1, "Bearer conformance-unknown"}} {
		for _, rq := range c.operations() {
			rq.auth = auth
			c.expectUnauthenticated(c.send(rq))
		}
	}
}
