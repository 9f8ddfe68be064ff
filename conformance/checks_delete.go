package conformance

// checkUseAfterFree deletes the spare connection, one the first user owns
// beside the one whose label the checks change: the DELETE answers without
// a body, then PUT and DELETE of it are 404 and the list no longer shows it.
func checkUseAfterFree(c *probe) {
	api := c.r.api
	token, id := c.r.target.Token, c.spare().id()
	ex := c.del(token, id)
	if want := api.remove.Success[0]; ex.Status != want || len(ex.Body) > 0 {
		c.fatal(ex, "status", "%d without a body; got %d with %d bytes", want, ex.Status, len(ex.Body))
	}
	c.expectNotFound(c.put(token, id, []byte(`{}`)))
	c.expectNotFound(c.del(token, id))
	conns, lex := c.list(token)
	for i, conn := range conns {
		if conn.id() == id {
			c.fail(lex, "body.data", "connection %s gone from the list after its DELETE; got it at data[%d]", id, i)
		}
	}
}
