package conformance

import "net/http"

func checkUseAfterFree(c *probe) {
	if len(c.r.conns) < 2 {
		c.skip("the first user (-token) needs two connections, one to delete and one for the other checks; it has %d", len(c.r.conns))
	}
	token, id := c.r.target.Token, c.r.conns[1].UUID
	if _, ok := c.find(token, id); !ok {
		c.skip("the first user's second connection %s is gone already", id)
	}
	del := request{method: http.MethodDelete, path: connPath(id), token: token}
	ex := c.send(del)
	if ex.Status != http.StatusNoContent || len(ex.Body) > 0 {
		c.fatal(ex, "204 without a body")
	}
	c.expectError(c.put(token, id, labelBody(testLabel)), http.StatusNotFound, msgNotFound)
	c.expectError(c.send(del), http.StatusNotFound, msgNotFound)
	conns, lex := c.list(token)
	for _, conn := range conns {
		if conn.UUID == id {
			c.fail(lex, "connection %s gone from the list after its DELETE", id)
		}
	}
}
