package conformance

import "slices"

// checkList lists both users: the rules of every connection (observe.go)
// hold each, and no connection is in both lists.
func checkList(c *probe) {
	first, _ := c.list(c.r.target.Token)
	others, ex := c.list(c.r.target.OtherToken)
	for i, conn := range others {
		if slices.ContainsFunc(first, func(f connection) bool { return f.UUID == conn.UUID }) {
			c.fail(ex, "body.data", "each connection in its user's list only; data[%d], %s, is in the first user's list too", i, conn.id())
		}
	}
}

func checkTenantIsolation(c *probe) {
	c.listsApart() // else the other user's connection may be the first user's
	if len(c.r.others) == 0 {
		c.skip("the other user (-other-token) has no connection")
	}
	theirs := c.r.others[0].id()
	_, before := c.list(c.r.target.OtherToken)
	token := c.r.target.Token
	// An empty body changes no label, even on a server that lets the PUT
	// through; the list still shows it by updated_at.
	unknown := c.put(token, c.r.absent, []byte(`{}`))
	c.expectNotFound(unknown)
	c.sameAnswer(c.put(token, theirs, []byte(`{}`)), unknown, "a PUT on an unknown UUID")
	unknown = c.del(token, c.r.absent)
	c.expectNotFound(unknown)
	c.sameAnswer(c.del(token, theirs), unknown, "a DELETE of an unknown UUID")
	if _, after := c.list(c.r.target.OtherToken); !c.alike(after, before) {
		c.fail(after, "body", "the other user's connections unchanged: %s", c.r.red.excerpt(before.Body))
	}
}
