package conformance

import (
	"strings"
)

// uuidSpellings are ways of writing id that are no UUID of the spec's
// format, which some parsers take all the same: each must be 404. Each
// holds all of id, so that under ReadOnly the absent UUID's may be sent.
func uuidSpellings(id string) []string {
	return []string{
		id + "0",                         // one too many
		strings.ReplaceAll(id, "-", ""),  // no dashes
		"{" + id + "}",                   // braces
		"urn:uuid:" + id,                 // a URN
		strings.Replace(id, "-", "_", 1), // a wrong separator
	}
}

// checkPathUUID sends PUT and DELETE to malformed and unknown UUIDs, all
// spellings of the run's absent one: each answers exactly as the unknown UUID
// does, a 404.
func checkPathUUID(c *probe) {
	token, absent := c.r.target.Token, c.r.absent
	put := c.put(token, absent, []byte(`{}`))
	c.expectNotFound(put)
	del := c.del(token, absent)
	c.expectNotFound(del)
	for _, id := range append(uuidSpellings(absent), "not-a-uuid-"+absent, strings.ToUpper(absent)) {
		c.sameAnswer(c.put(token, id, []byte(`{}`)), put, "a PUT on an unknown UUID")
		c.sameAnswer(c.del(token, id), del, "a DELETE of an unknown UUID")
	}
}

// checkUUIDSpellings sends other spellings of real connections: a PUT to the
// subject's, a DELETE to the spare's. A parser that takes them would change
// or delete the connection. An upper-case UUID is the same UUID (RFC 9562),
// and the same connection.
func checkUUIDSpellings(c *probe) {
	conn := c.subject()
	spare := c.spare()
	token := c.r.target.Token
	for _, id := range append(uuidSpellings(conn.id()), conn.id()[1:]) { // and one character short
		if ex := c.put(token, id, []byte(`{}`)); ex.Status == c.r.api.update.Success[0] {
			c.fail(ex, "status", "%d: %s is not how the API writes %s; got %d, the connection updated", c.r.api.status[respNotFound], id, conn.id(), ex.Status)
		} else {
			c.expectNotFound(ex)
		}
	}
	for _, id := range uuidSpellings(spare.id()) {
		if ex := c.del(token, id); ex.Status == c.r.api.remove.Success[0] {
			c.fail(ex, "status", "%d: %s is not how the API writes %s; got %d, the connection deleted", c.r.api.status[respNotFound], id, spare.id(), ex.Status)
		} else {
			c.expectNotFound(ex)
		}
	}
	upper := strings.ToUpper(conn.id())
	ex := c.put(token, upper, []byte(`{}`))
	if want := c.r.api.update.Success[0]; ex.Status != want {
		c.fatal(ex, "status", "%d: %s is %s in upper case (RFC 9562), the same connection; got %d", want, upper, conn.id(), ex.Status)
	}
	if got, err := c.r.api.decodeConnection(ex.Body); err != nil || got.UUID != conn.UUID {
		c.fail(ex, "body.uuid", "the connection %s; got %s", conn.id(), errOr(err, got.id()))
	}
}
