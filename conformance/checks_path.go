package conformance

import (
	"strings"
)

// uuidSpellings are ways of writing id that are no UUID of the spec's
// format, which some parsers take all the same: each must be 404. They are
// made of the run's absent UUID only, in every mode: a lax server (a prefix,
// case folded, hyphens stripped) would take one of a real connection's for
// that connection, and change or delete it. Each holds all of id, so that
// the ReadOnly guard lets them through.
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

// checkUUIDSpellings sends a PUT that keeps the label to the subject's UUID
// in upper case: the same UUID (RFC 9562), so the same connection. It sends
// no misspelling of a real connection's UUID (path_uuid sends the absent
// one's): that a server refuses them could be shown only by a server that
// takes them, which would change or delete a connection of the user's.
func checkUUIDSpellings(c *probe) {
	conn := c.subject()
	upper := strings.ToUpper(conn.id())
	ex := c.put(c.r.target.Token, upper, []byte(`{}`))
	if want := c.r.api.update.Success[0]; ex.Status != want {
		c.fatal(ex, "status", "%d: %s is %s in upper case (RFC 9562), the same connection; got %d", want, upper, conn.id(), ex.Status)
	}
	if got, err := c.r.api.decodeConnection(ex.Body); err != nil || got.UUID != conn.UUID {
		c.fail(ex, "body.uuid", "the connection %s; got %s", conn.id(), errOr(err, got.id()))
	}
}
