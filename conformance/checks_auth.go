package conformance

import (
	"encoding/base64"
	"net/http"
	"time"
)

// checkList lists both users and checks what the spec's schema cannot say.
func checkList(c *probe) {
	seen := map[string]string{}
	for _, u := range []struct{ role, token string }{{"first", c.r.target.Token}, {"other", c.r.target.OtherToken}} {
		conns, ex := c.list(u.token)
		for _, conn := range conns {
			for _, ts := range []string{conn.CreatedAt, conn.UpdatedAt} {
				if _, err := parseTimestamp(ts); err != nil {
					c.fail(ex, "created_at and updated_at in RFC 3339 with whole seconds: %v", err)
				}
			}
			if owner, dup := seen[conn.UUID]; dup {
				c.fail(ex, "each connection in one list only; %s is in the %s user's list too", conn.UUID, owner)
			}
			seen[conn.UUID] = u.role
		}
	}
}

// operations are one request of each operation for the auth checks, on the
// first user's connection (its label sent back unchanged) or, for DELETE, an
// unknown one, so that a server that ignores authentication changes nothing.
func (c *probe) operations() []request {
	put := request{method: http.MethodPut, path: connPath(unknownUUID), contentType: jsonType, body: []byte(`{}`)}
	if len(c.r.conns) > 0 {
		conn := c.r.conns[0]
		put.path, put.body = connPath(conn.UUID), mustJSON(map[string]*string{"label": conn.Label})
	}
	return []request{
		{method: http.MethodGet, path: listPath},
		put,
		{method: http.MethodDelete, path: connPath(unknownUUID)},
	}
}

// expectUnauthenticated fails unless ex is the 401 the contract describes.
func (c *probe) expectUnauthenticated(ex *exchange) {
	c.expectError(ex, http.StatusUnauthorized, msgUnauthenticated)
	if ex.Status == http.StatusUnauthorized {
		if got := ex.Header.Get("WWW-Authenticate"); got != `Bearer realm="api"` {
			c.fail(ex, `WWW-Authenticate: Bearer realm="api", got %q`, got)
		}
	}
}

func checkIgnoredAuth(c *probe) {
	unknown := "conformance-unknown-" + time.Now().Format("20060102150405.000000000")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.r.target.Token+":"))
	for _, auth := range [][]string{{}, {"Bearer " + unknown}, {basic}, {"Bearer"}, {"Bearer "}} {
		for _, rq := range c.operations() {
			rq.auth = auth
			c.expectUnauthenticated(c.send(rq))
		}
	}
}

func checkAuthBeforeBody(c *probe) {
	id := unknownUUID
	if len(c.r.conns) > 0 {
		id = c.r.conns[0].UUID
	}
	for _, b := range []struct {
		contentType, body string
	}{
		{jsonType, `{"label":42}`},
		{jsonType, `{"label":`},
		{jsonType, `[]`},
		{"text/plain", `label=x`},
		{"", ``},
	} {
		c.expectUnauthenticated(c.send(request{method: http.MethodPut, path: connPath(id), contentType: b.contentType, body: []byte(b.body)}))
	}
	// A malformed UUID too: the path is not looked at before the token.
	c.expectUnauthenticated(c.send(request{method: http.MethodDelete, path: connPath("not-a-uuid")}))
}

func checkDuplicateAuthorization(c *probe) {
	t1, t2 := "Bearer "+c.r.target.Token, "Bearer "+c.r.target.OtherToken
	for _, auth := range [][]string{{t1, t2}, {t2, t1}, {t1, "Bearer conformance-unknown"}} {
		for _, rq := range c.operations() {
			rq.auth = auth
			c.expectUnauthenticated(c.send(rq))
		}
	}
}
