package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

// The rules of this file hold for every answer, whatever check sent the
// request: each message is one of x-messages, a 422 names exactly the
// failures of the body sent, and each connection an answer shows keeps the
// rules the spec states of any connection. They do not
// depend on the order of the checks: created_at is held to what the first
// list showed, before any check ran.

// observations are what answers have shown so far: the first created_at and
// the latest updated_at of each connection, and the UTC offsets that each
// user's timestamps were written in.
type observations struct {
	created, updated map[uuid.UUID]seen
	offsets          map[string][]seen // by the user's token
}

// seen is a timestamp as an answer wrote it, and where.
type seen struct {
	t     time.Time
	text  string
	where string
}

func newObservations() *observations {
	return &observations{created: map[uuid.UUID]seen{}, updated: map[uuid.UUID]seen{}, offsets: map[string][]seen{}}
}

// maxOffsetShift is how far apart two UTC offsets of one account's zone may
// be: a daylight-saving shift, one hour wherever one is kept today. The kit
// cannot know the account's zone; it holds what one zone cannot do.
const maxOffsetShift = time.Hour

// answerRules holds ex's answer to the rules of every answer.
func (c *probe) answerRules(ex *exchange) {
	api := c.r.api
	c.rateLimitRules(ex)
	if ex.req.Method == http.MethodHead || len(ex.Body) == 0 {
		return
	}
	if ex.Status >= 400 {
		if field, problem := api.messageProblem(ex.Status, ex.body, ex.Body); problem != "" {
			c.fail(ex, field, "%s", problem)
		}
		return
	}
	switch c.r.spec.operation(ex) {
	case api.list.ID:
		if ex.Status != api.list.Success[0] {
			return
		}
		var list struct{ Data []json.RawMessage }
		if json.Unmarshal(ex.Body, &list) != nil {
			return // the spec's check has said so
		}
		var prev connection
		ids := map[uuid.UUID]bool{}
		for i, raw := range list.Data {
			at := fmt.Sprintf("body.data[%d]", i)
			conn, err := c.r.api.decodeConnection(raw)
			if err != nil {
				c.fail(ex, at, "a connection as the spec's OAuthConnection; got %s", err)
				continue
			}
			c.observe(ex, at, conn)
			if ids[conn.UUID] {
				c.fail(ex, at+".uuid", "each connection once in a list; got %s twice", conn.id())
			}
			ids[conn.UUID] = true
			if i > 0 && conn.CreatedAt.Before(prev.CreatedAt.Time) {
				c.fail(ex, at+"."+api.created, "the list oldest first: %s (created %s) before %s (created %s); got it after",
					conn.id(), conn.members[api.created], prev.id(), prev.members[api.created])
			}
			prev = conn
		}
	case api.update.ID:
		if conn, err := c.r.api.decodeConnection(ex.Body); ex.Status == api.update.Success[0] && err == nil {
			c.observe(ex, "body", conn)
		}
	}
}

// observe holds one connection of ex's answer, at the field at, to the rules
// of any connection, and notes it for the answers to come.
func (c *probe) observe(ex *exchange, at string, conn connection) {
	api, obs := c.r.api, c.r.seen
	where := fmt.Sprintf("in the answer to %s %s", ex.req.Method, ex.req.URL.EscapedPath())
	stamps := map[string]seen{}
	for _, name := range api.stamps {
		text, t, ok := c.member(ex, at, conn, name)
		if !ok {
			continue
		}
		if want := string(plannroauth.AppendTimestamp(nil, t)); text != want {
			c.fail(ex, at+"."+name, "the account's offset written ±HH:MM (+00:00, never Z), in whole seconds: %q; got %q", want, text)
		}
		stamps[name] = seen{t: t, text: text, where: fmt.Sprintf("%s of %s %s", name, conn.id(), where)}
	}
	for _, name := range api.expiries {
		if text, t, ok := c.member(ex, at, conn, name); ok {
			if want := string(plannroauth.AppendExpiry(nil, t)); text != want {
				c.fail(ex, at+"."+name, "an expiry in UTC with six digits of fraction: %q; got %q", want, text)
			}
		}
	}
	// The spec's example shows another id (Plannr's, unexplained); its
	// words, and this toolkit's choice, are the connection's UUID. The
	// authorization_url as it is, since a path is case-sensitive; the UUID
	// as the API writes one, in either case (RFC 9562), as uuid_spellings
	// holds a path's.
	if url := conn.RefreshAuthorizationURL; url != nil {
		prefix := conn.Provider.AuthorizationURL + "/"
		if id, ok := strings.CutPrefix(*url, prefix); !ok || !strings.EqualFold(id, conn.id()) {
			c.fail(ex, at+"."+api.refreshURL, "the provider's authorization_url followed by /<uuid>: %q; got %q", prefix+conn.id(), *url)
		}
	}
	created, okC := stamps[api.created]
	updated, okU := stamps[api.updated]
	if okC && okU && updated.t.Before(created.t) {
		c.fail(ex, at+"."+api.updated, "%s not before %s (%s); got %s", api.updated, api.created, created.text, updated.text)
	}
	if okC {
		if first, ok := obs.created[conn.UUID]; !ok {
			obs.created[conn.UUID] = created
		} else if !created.t.Equal(first.t) {
			c.fail(ex, at+"."+api.created, "%s never to move: %s, first seen %s; got %s", api.created, first.text, first.where, created.text)
		}
	}
	if okU {
		if last, ok := obs.updated[conn.UUID]; ok && updated.t.Before(last.t) {
			c.fail(ex, at+"."+api.updated, "%s never to go back: %s seen %s; got %s", api.updated, last.text, last.where, updated.text)
		} else if !ok || updated.t.After(last.t) {
			obs.updated[conn.UUID] = updated
		}
	}
	if ex.token != "" {
		for _, name := range api.stamps {
			if s, ok := stamps[name]; ok {
				c.oneZone(ex, at+"."+name, ex.token, s)
			}
		}
	}
}

// member reads the timestamp name of conn; ok is false when it is null or
// absent, or is no RFC 3339 time (which is a failure).
func (c *probe) member(ex *exchange, at string, conn connection, name string) (text string, t time.Time, ok bool) {
	raw, present := conn.members[name]
	if !present || string(raw) == "null" || json.Unmarshal(raw, &text) != nil {
		return "", t, false // null, absent where the schema allows it, or not a string, which the spec's check reports
	}
	t, err := plannroauth.ParseTime(text)
	if err != nil {
		c.fail(ex, at+"."+name, "an RFC 3339 date-time; got %q", text)
		return "", t, false
	}
	return text, t, true
}

// oneZone holds the user's timestamp s to the one zone of the user's
// account: its offset at that instant, if the kit knows the zone; else
// written in the same offset as any other at the same instant, and within
// maxOffsetShift of every other.
func (c *probe) oneZone(ex *exchange, field, token string, s seen) {
	obs := c.r.seen
	_, off := s.t.Zone()
	if loc := c.r.zones[token]; loc != nil {
		if _, want := s.t.In(loc).Zone(); want != off {
			c.fail(ex, field, "the offset of the account's zone, %s, at that instant: %s; got %s", loc, plannroauth.AppendTimestamp(nil, s.t.In(loc)), s.text)
			return
		}
	}
	for _, prev := range obs.offsets[token] {
		_, prevOff := prev.t.Zone()
		d := time.Duration(off-prevOff) * time.Second
		switch {
		case prevOff == off:
		case prev.t.Equal(s.t):
			c.fail(ex, field, "the account's UTC offset, one for one instant: %s is the instant of %s, written %s; got %s", s.text, prev.where, prev.text, s.text)
			return
		case d > maxOffsetShift || d < -maxOffsetShift:
			c.fail(ex, field, "the account's UTC offset, which shifts by %v at most: %s is written %s; got %s", maxOffsetShift, prev.where, prev.text, s.text)
			return
		}
	}
	if !slices.ContainsFunc(obs.offsets[token], func(p seen) bool { return p.text == s.text }) {
		obs.offsets[token] = append(obs.offsets[token], s)
	}
}
