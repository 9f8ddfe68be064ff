package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

// list lists the connections of token's user; anything but a list ends the
// check.
func (c *probe) list(token string) ([]connection, *exchange) {
	op := c.r.api.list
	ex := c.send(request{method: op.Method, path: op.Path, token: token})
	if ex.Status != op.Success[0] {
		c.fatal(ex, "status", "%d with the list of connections; got %d", op.Success[0], ex.Status)
	}
	var list struct{ Data []json.RawMessage }
	if err := json.Unmarshal(ex.Body, &list); err != nil {
		c.fatal(ex, "body", "the list of connections as JSON; got %s", err)
	}
	conns := make([]connection, len(list.Data))
	for i, raw := range list.Data {
		var err error
		if conns[i], err = c.r.api.decodeConnection(raw); err != nil {
			c.fatal(ex, fmt.Sprintf("body.data[%d]", i), "a connection as the spec's OAuthConnection; got %s", err)
		}
	}
	return conns, ex
}

// find returns the connection id in token's list, the list's exchange, and
// whether it is there.
func (c *probe) find(token string, id uuid.UUID) (connection, *exchange, bool) {
	conns, ex := c.list(token)
	for _, conn := range conns {
		if conn.UUID == id {
			return conn, ex, true
		}
	}
	return connection{}, ex, false
}

// own returns the first user's connections, all proved its own: in its list
// and not in the other user's. When the lists share one, nothing is proved,
// and a check that would change a connection skips.
func (c *probe) own() []connection {
	conns, why := c.proved()
	if why != "" {
		c.skip("%s", why)
	}
	return conns
}

// listsApart skips the check when the two users' lists share a connection:
// then no list can be trusted to say whose a connection is.
func (c *probe) listsApart() {
	if c.r.shared != "" {
		c.skip("%s", c.r.sharedReason())
	}
}

func (r *runner) sharedReason() string {
	return fmt.Sprintf("both users' lists show %s (see list_connections), so no connection is proved the first user's own; the kit changes no other", r.shared)
}

// proved returns the first user's connections proved its own, or why there
// are none.
func (c *probe) proved() ([]connection, string) {
	switch {
	case c.r.shared != "":
		return nil, c.r.sharedReason()
	case len(c.r.conns) == 0:
		return nil, "the first user (-token) has no connection"
	}
	return c.r.conns, ""
}

// restorable reports whether a PUT can put label back exactly: null, or a
// label that the API neither trims nor refuses (plannroauth.CheckLabel).
func restorable(label *string) bool {
	return label == nil || plannroauth.CheckLabel(*label) == nil
}

// subject is the first user's connection, as it is now, that the checks
// which change a label change: the first of its own whose label a PUT can
// put back exactly, and that is still there. The label is put back when the
// check ends.
func (c *probe) subject() connection {
	conn, why := c.findSubject()
	if why != "" {
		c.skip("%s", why)
	}
	return conn
}

// findSubject finds the subject, or says why there is none.
func (c *probe) findSubject() (connection, string) {
	conns, why := c.proved()
	if why != "" {
		return connection{}, why
	}
	for _, conn := range conns {
		if !restorable(conn.labelOf()) {
			continue
		}
		if now, _, ok := c.find(c.r.target.Token, conn.UUID); ok {
			c.cleanup(func() { c.restore(now) })
			return now, ""
		}
	}
	return connection{}, fmt.Sprintf("none of the first user's %d connections is there with a label that a PUT could put back exactly (trimmed, within the spec's rules), and the kit changes no other", len(conns))
}

// spare is a connection of the first user's own that a check may delete:
// the last one still there that is not the subject's.
func (c *probe) spare() connection {
	conns := c.own()
	subject := slices.IndexFunc(conns, func(conn connection) bool { return restorable(conn.labelOf()) })
	for i, conn := range slices.Backward(conns) {
		if i == subject {
			continue
		}
		if _, _, ok := c.find(c.r.target.Token, conn.UUID); ok {
			return conn
		}
	}
	c.skip("the first user (-token) needs a connection to delete beside the one whose label the checks change; it has %d", len(conns))
	return connection{}
}

// restore puts back the label that conn had; a label that could not be put
// back is a failure.
func (c *probe) restore(conn connection) {
	want := conn.labelOf()
	now, lex, ok := c.find(c.r.target.Token, conn.UUID)
	switch {
	case !ok:
		c.fail(lex, "body.data", "connection %s in the list, to put its label %s back; got it gone", conn.id(), showLabel(want))
		return
	case reflect.DeepEqual(now.labelOf(), want):
		return
	}
	ex := c.put(c.r.target.Token, conn.id(), c.labelValue(want))
	if ex.Status != c.r.api.update.Success[0] {
		c.fail(ex, "status", "%d to the PUT that puts the label %s back; got %d, and the label stays %s", c.r.api.update.Success[0], showLabel(want), ex.Status, showLabel(now.labelOf()))
		return
	}
	if after, lex, _ := c.find(c.r.target.Token, conn.UUID); !reflect.DeepEqual(after.labelOf(), want) {
		c.fail(lex, "body.data."+c.r.api.labelKey, "the label of %s put back as %s; got %s: the kit could not restore it", conn.id(), showLabel(want), showLabel(after.labelOf()))
	}
}

// sweep ends a check that sent a PUT or DELETE to the absent UUID. A server
// that takes a PUT to an unknown UUID as a create has made a connection
// there, which the kit must not leave behind: it looks in each user's list,
// as the server may have taken the request as either's, and deletes it
// there. The check fails for it, and says if it is still there.
func (c *probe) sweep() {
	if !c.wroteAbsent {
		return
	}
	id := uuid.MustParse(c.r.absent)
	for _, u := range []struct{ token, whose string }{{c.r.target.Token, "the first user's"}, {c.r.target.OtherToken, "the other user's"}} {
		if _, lex, ok := c.find(u.token, id); ok {
			c.fail(lex, "body.data", "no connection %s in %s list: no user had that UUID, and a request to an unknown connection creates none; got it, made by the check's requests, and the kit deletes it", c.r.absent, u.whose)
			del := c.del(u.token, c.r.absent)
			if _, _, ok := c.find(u.token, id); ok {
				c.fail(del, "status", "the connection %s that the server made gone after the kit's DELETE; got %d, and it is still in %s list: delete it by hand", c.r.absent, del.Status, u.whose)
			}
		}
	}
}

func (c *probe) put(token, id string, body []byte) *exchange {
	return c.send(request{method: c.r.api.update.Method, path: c.r.api.itemPath(id), token: token, contentType: c.r.api.mediaType, body: body})
}

func (c *probe) del(token, id string) *exchange {
	return c.send(request{method: c.r.api.remove.Method, path: c.r.api.itemPath(id), token: token})
}

// labelValue is a request body whose label is v, whatever v is.
func (c *probe) labelValue(v any) []byte { return mustJSON(map[string]any{c.r.api.labelKey: v}) }

// update PUTs body to the first user's connection id and expects the
// connection back; it returns the connection the answer shows.
func (c *probe) update(id uuid.UUID, body []byte) (connection, *exchange) {
	want := c.r.api.update.Success[0]
	ex := c.put(c.r.target.Token, id.String(), body)
	if ex.Status != want {
		c.fatal(ex, "status", "%d with the connection; got %d", want, ex.Status)
	}
	conn, err := c.r.api.decodeConnection(ex.Body)
	if err != nil || conn.UUID != id {
		c.fatal(ex, "body.uuid", "the connection %s as JSON; got %s", id, errOr(err, conn.id()))
	}
	return conn, ex
}

// errOr describes err, or else what came.
func errOr(err error, got string) string {
	if err != nil {
		return err.Error()
	}
	return got
}

// expectError fails unless ex is status with the Error body, its message one
// of want (any, if none given); it returns the decoded body. The answer to a
// HEAD has no body to hold.
func (c *probe) expectError(ex *exchange, status int, want ...string) errorBody {
	var body errorBody
	if ex.Status != status {
		c.fail(ex, "status", "%d; got %d", status, ex.Status)
		return body
	}
	if ex.req.Method == http.MethodHead {
		return body
	}
	if err := json.Unmarshal(ex.Body, &body); err != nil {
		if !ex.violation { // else failed for it already
			c.fail(ex, "body", "a JSON error body; got %s", err)
		}
	} else if len(want) > 0 && !slices.Contains(want, body.Message) {
		c.fail(ex, "body.message", "%s; got %q", quoteAll(want), body.Message)
	}
	return body
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, " or ")
}

// expectNotFound fails unless ex is the 404 of a connection the user does
// not have.
func (c *probe) expectNotFound(ex *exchange) {
	c.expectError(ex, c.r.api.status[respNotFound], c.r.api.msgs.NotFound)
}

// isNotFound reports whether ex is the 404 of a connection the user does not
// have, as expectNotFound holds it, and breaks none of the rules of every
// answer (its Content-Type among them).
func (c *probe) isNotFound(ex *exchange) bool {
	var body errorBody
	return !ex.violation && ex.Status == c.r.api.status[respNotFound] && json.Unmarshal(ex.Body, &body) == nil && body.Message == c.r.api.msgs.NotFound
}

// expectInvalid fails unless ex is a 422. The kit's body must break the
// spec's rules for field; that the 422's errors are exactly its failures,
// and its message made of them, is held on every 422 (observe.go).
func (c *probe) expectInvalid(ex *exchange, field string, sent []byte) {
	c.expectError(ex, c.r.api.status[respInvalid])
	if ex.Status == c.r.api.status[respInvalid] && len(c.r.api.fieldMessages(field, sent)) == 0 {
		c.fatal(ex, "kit", "the spec to refuse the %s of %s (a bug of the kit)", field, sent)
	}
}

// alike reports whether a and b have the same body, in the members that the
// schema of their answer declares, and the same names of any other
// (spec.declared).
func (c *probe) alike(a, b *exchange) bool {
	return sameJSON(c.r.spec.declared(a), c.r.spec.declared(b))
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// unchanged fails unless conn is listed exactly as before, in every member
// the schema declares: label and updated_at included, since a refused
// request must not touch it.
func (c *probe) unchanged(before connection, by string) {
	now, ex, ok := c.find(c.r.target.Token, before.UUID)
	if !ok {
		c.fatal(ex, "body.data", "connection %s still in the list after %s; got it gone", before.id(), by)
	}
	if now.without() != before.without() {
		c.fail(ex, "body.data", "connection %s unchanged by %s: %s; got %s", before.id(), by, c.r.red.excerpt(before.raw), c.r.red.excerpt(now.raw))
	}
}

// refusalTarget is where requests that must be refused go: the subject,
// which must come out unchanged; or, under ReadOnly or when there is no
// subject, the run's absent UUID, where an implementation may look the UUID
// up first and answer 404 (the spec does not order the two).
func (c *probe) refusalTarget() (id string, subject *connection) {
	if c.r.target.ReadOnly {
		return c.r.absent, nil
	}
	if conn, why := c.findSubject(); why == "" {
		return conn.id(), &conn
	}
	return c.r.absent, nil
}

// expectRefused fails unless ex is status with one of the messages, or,
// sent to the absent UUID, the 404 of an unknown connection.
func (c *probe) expectRefused(ex *exchange, subject *connection, status int, want ...string) {
	if subject == nil && ex.Status == c.r.api.status[respNotFound] {
		c.expectNotFound(ex)
		return
	}
	c.expectError(ex, status, want...)
}

// refused sends bodies that must be refused with status and one of the
// messages, and checks that none changed anything.
func (c *probe) refused(status int, bodies []refusal) { c.refusedSent(status, false, bodies) }

// refusedChunked is refused, with each body sent chunked, without a
// Content-Length.
func (c *probe) refusedChunked(status int, bodies []refusal) { c.refusedSent(status, true, bodies) }

func (c *probe) refusedSent(status int, chunked bool, bodies []refusal) {
	id, subject := c.refusalTarget()
	for _, b := range bodies {
		ex := c.send(request{method: c.r.api.update.Method, path: c.r.api.itemPath(id), token: c.r.target.Token, contentType: b.contentType, body: b.body, chunked: chunked})
		c.expectRefused(ex, subject, status, b.messages...)
	}
	if subject != nil {
		c.unchanged(*subject, "a refused request")
	}
}

// refusal is a body, as sent, and the messages it may be refused with.
type refusal struct {
	contentType string
	body        []byte
	messages    []string
}

// sameAnswer fails unless got answers exactly as want, the answer to an
// unknown UUID: status, body and headers (as sameHeaders holds them), so
// that the answer reveals nothing. That holds when want is the spec's 404;
// when it is not, it has failed for itself, and got is held to the spec
// alone: a right answer is not failed for differing from a wrong one, nor the
// same wrong answer told twice.
func (c *probe) sameAnswer(got, want *exchange, what string) {
	if !c.isNotFound(want) {
		if got.Status != want.Status || !c.alike(got, want) {
			c.expectNotFound(got)
		}
		return
	}
	if got.Status != want.Status {
		c.fail(got, "status", "%d, as the answer to %s; got %d", want.Status, what, got.Status)
		return
	}
	if !c.alike(got, want) {
		c.fail(got, "body", "the body of the answer to %s, %s", what, c.r.red.excerpt(want.Body))
		return
	}
	c.sameHeaders(got, want, what)
}

// sameHeaders fails unless got has the headers of want, the answer to what,
// but those optional names, which got may leave out. A header the spec
// declares for the answer is held to its schema, on every answer, not to
// want's value: X-RateLimit-Remaining counts down. Any other is held by
// presence only: the spec says nothing of its value, which may name the
// request or the moment (X-Request-Id, Date). Content-Type, the media type
// of the content the spec declares, is held to want's value: it is no
// request's nor moment's.
func (c *probe) sameHeaders(got, want *exchange, what string, optional ...string) {
	declared := map[string]bool{}
	for name := range c.r.spec.headers(want) {
		declared[http.CanonicalHeaderKey(name)] = true
	}
	for _, name := range slices.Sorted(maps.Keys(union(got.Header, want.Header))) {
		if declared[name] {
			continue
		}
		g, w := got.Header.Values(name), want.Header.Values(name)
		switch _, has := got.Header[name]; {
		case has && w == nil:
			c.fail(got, "header "+name, "none, as in the answer to %s; got %q", what, g)
		case !has && !slices.Contains(optional, name):
			c.fail(got, "header "+name, "present, as in the answer to %s (%q); got none", what, w)
		case has && name == "Content-Type" && !slices.Equal(g, w):
			c.fail(got, "header "+name, "%q, as in the answer to %s; got %q", w, what, g)
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
