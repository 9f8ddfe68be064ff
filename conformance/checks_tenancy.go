package conformance

import (
	"net/http"
	"slices"
	"strings"
)

// perRequest are the headers that may differ between two answers to the same
// request: ids, the clock and the rate-limit counters.
var perRequest = []string{"X-Request-Id", "Date", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"}

// sameAnswer fails unless got answers exactly as want: status, body and every
// header but the per-request ones, so that the answer reveals nothing.
func (c *probe) sameAnswer(got, want *exchange, what string) {
	if got.Status != want.Status || !sameJSON(got.Body, want.Body) {
		c.fail(got, "the answer to %s: %d %s", what, want.Status, excerpt(want.Body))
		return
	}
	for name := range union(got.Header, want.Header) {
		if slices.Contains(perRequest, name) {
			continue
		}
		if g, w := strings.Join(got.Header[name], ", "), strings.Join(want.Header[name], ", "); g != w {
			c.fail(got, "header %s as in the answer to %s: %q, got %q", name, what, w, g)
		}
	}
}

func union(a, b http.Header) map[string]bool {
	names := map[string]bool{}
	for k := range a {
		names[k] = true
	}
	for k := range b {
		names[k] = true
	}
	return names
}

func checkTenantIsolation(c *probe) {
	if len(c.r.others) == 0 {
		c.skip("the other user (-other-token) has no connection")
	}
	theirs := c.r.others[0]
	_, before := c.list(c.r.target.OtherToken)
	// The other user's own label, so that even a server that lets the PUT
	// through changes no label; the list still shows it by updated_at.
	body := mustJSON(map[string]*string{"label": theirs.Label})
	token := c.r.target.Token
	unknown := c.put(token, unknownUUID, body)
	c.expectError(unknown, http.StatusNotFound, msgNotFound)
	c.sameAnswer(c.put(token, theirs.UUID, body), unknown, "a PUT on an unknown UUID")
	if !c.r.target.ReadOnly {
		del := func(id string) *exchange {
			return c.send(request{method: http.MethodDelete, path: connPath(id), token: token})
		}
		unknown := del(unknownUUID)
		c.expectError(unknown, http.StatusNotFound, msgNotFound)
		c.sameAnswer(del(theirs.UUID), unknown, "a DELETE of an unknown UUID")
	}
	if _, after := c.list(c.r.target.OtherToken); !sameJSON(after.Body, before.Body) {
		c.fail(after, "the other user's connections unchanged: %s", excerpt(before.Body))
	}
}
