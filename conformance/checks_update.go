package conformance

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

func ptr(s string) *string { return &s }

const testLabel = "plannr-conformance label"

// relabel PUTs body to conn and expects the connection back with the label
// want and every other member as before but updated_at; the list must then
// show exactly what the PUT answered, since the answer comes once the change
// is stored.
func (c *probe) relabel(conn connection, body []byte, want *string) connection {
	api := c.r.api
	got, ex := c.update(conn.UUID, body)
	if !reflect.DeepEqual(got.labelOf(), want) {
		c.fail(ex, "body."+api.labelKey, "%s; got %s", showLabel(want), showLabel(got.labelOf()))
	}
	// refresh_authorization_url may come in one answer and not the other.
	same := []string{api.labelKey, api.updated, api.refreshURL}
	if w, g := conn.without(same...), got.without(same...); w != g {
		c.fail(ex, "body", "every member but %s and %s as before, %s; got %s", api.labelKey, api.updated, c.r.red.excerpt([]byte(w)), c.r.red.excerpt([]byte(g)))
	}
	listed, lex, ok := c.find(c.r.target.Token, conn.UUID)
	switch {
	case !ok:
		c.fatal(lex, "body.data", "connection %s in the list after its PUT; got it gone", conn.id())
	case listed.without(api.labelKey) != got.without(api.labelKey) || !reflect.DeepEqual(listed.labelOf(), got.labelOf()):
		c.fail(lex, "body.data", "the list to show %s as the PUT answered it, once stored: %s", conn.id(), c.r.red.excerpt(got.raw))
	}
	return got
}

func checkLabelSet(c *probe) {
	conn := c.subject()
	for _, label := range []string{testLabel, "Ünïcödé ✓ 😀", testLabel} {
		c.relabel(conn, c.labelValue(label), &label)
		// Every operation is idempotent: the same PUT again, the same label.
		c.relabel(conn, c.labelValue(label), &label)
	}
}

func checkLabelAbsent(c *probe) {
	conn := c.subject()
	c.relabel(conn, c.labelValue(testLabel), ptr(testLabel))
	c.relabel(conn, []byte(`{}`), ptr(testLabel))
}

func checkLabelNull(c *probe) {
	conn := c.subject()
	c.relabel(conn, c.labelValue(testLabel), ptr(testLabel))
	c.relabel(conn, c.labelValue(nil), nil)
}

// trimmed is every character the API trims: Laravel's set, as the domain
// package states it.
var trimmed = sync.OnceValue(func() string {
	var b strings.Builder
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if plannroauth.IsTrimmed(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
})

// kept is an invisible character that the API does not trim.
var kept = sync.OnceValue(func() string {
	for _, rg := range unicode.Cf.R16 {
		for r := rune(rg.Lo); r <= rune(rg.Hi); r += rune(rg.Stride) {
			if !plannroauth.IsTrimmed(r) {
				return string(r)
			}
		}
	}
	panic("conformance: every format character is trimmed")
})

func checkLabelTrimmed(c *probe) {
	conn := c.subject()
	all := trimmed()
	c.relabel(conn, c.labelValue(all+testLabel+all), ptr(testLabel))
	for _, blank := range []string{"", " ", "\x00", all} {
		c.relabel(conn, c.labelValue(testLabel), ptr(testLabel))
		c.relabel(conn, c.labelValue(blank), nil)
	}
	// Other invisible characters are kept.
	c.relabel(conn, c.labelValue(kept()+testLabel+kept()), ptr(kept()+testLabel+kept()))
	// The length limit applies to the trimmed label.
	long := strings.Repeat("x", c.r.api.labelMax)
	c.relabel(conn, c.labelValue("  "+long+"\x00 "), &long)
}

func checkLabelMaxLength(c *probe) {
	conn := c.subject()
	// maxLength counts characters, whatever their bytes in UTF-8.
	for _, unit := range []string{"x", "é", "😀"} {
		ok := strings.Repeat(unit, c.r.api.labelMax)
		before := c.relabel(conn, c.labelValue(ok), &ok)
		over := c.labelValue(ok + unit)
		c.expectInvalid(c.put(c.r.target.Token, conn.id(), over), c.r.api.labelKey, over)
		c.unchanged(before, "a 422")
	}
}

// invalid is a body of the right syntax that breaks the update's schema,
// and the field its 422 must name.
type invalid struct {
	body  []byte
	field string
}

// checkNegativeData sends bodies that break the schema: each is a 422 naming
// the field with the spec's messages, none repeating the value sent (each
// carries a marker), and nothing changes.
func checkNegativeData(c *probe) {
	key := c.r.api.labelKey
	marker := "conformance-marker-" + c.r.absent[:8]
	c.invalid(marker, []invalid{
		{c.labelValue(42), key},
		{c.labelValue(true), key},
		{c.labelValue([]string{marker}), key},
		{c.labelValue(map[string]string{marker: marker}), key},
		{c.labelValue("a\x00" + marker), key}, // NUL inside: the pattern
		{c.labelValue(strings.Repeat(marker, c.r.api.labelMax/len(marker)+1)), key},
		{[]byte(`[]`), "body"},
		{mustJSON([]any{map[string]string{key: marker}}), "body"},
		{mustJSON(marker), "body"},
		{[]byte(`42`), "body"},
		{[]byte(`null`), "body"}, // JSON, but not the object the schema asks for
	})
}

// checkValidationMessage sends a label that breaks two rules at once (too
// long, and a NUL inside): the 422 names both, and its message is the first
// followed by the count of the other, as every 422's (observe.go).
func checkValidationMessage(c *probe) {
	marker := "conformance-marker-" + c.r.absent[:8]
	over := strings.Repeat("x", c.r.api.labelMax)
	c.invalid(marker, []invalid{{c.labelValue(over + "\x00" + marker), c.r.api.labelKey}})
}

// invalid sends each body to the refusal target and checks its 422.
func (c *probe) invalid(marker string, bodies []invalid) {
	id, subject := c.refusalTarget()
	for _, b := range bodies {
		ex := c.put(c.r.target.Token, id, b.body)
		if subject == nil && ex.Status == c.r.api.status[respNotFound] {
			c.expectNotFound(ex)
			continue
		}
		c.expectInvalid(ex, b.field, b.body)
		var e errorBody
		if json.Unmarshal(ex.Body, &e) == nil {
			for _, msg := range append([]string{e.Message}, e.Errors[b.field]...) {
				if strings.Contains(msg, marker) {
					c.fail(ex, "body.errors."+b.field, "no message repeating the value sent (%s); got %q", marker, msg)
				}
			}
		}
	}
	if subject != nil {
		c.unchanged(*subject, "a 422")
	}
}

// checkUnknownProperties sends members the update does not define, none of
// which may move anything on a server that takes them. To the subject: the
// connection as the list shows it (uuid and all), a new label under the
// label's name and in other cases, and a member no connection has; the
// label is set, as without them, and nothing else but updated_at changes. To
// the absent UUID, where nothing is there to change: the label's name in
// other cases with a value the spec refuses, a 404 unless the server takes
// them for the label.
func checkUnknownProperties(c *probe) {
	conn := c.subject()
	key, label := c.r.api.labelKey, ptr(testLabel)
	if reflect.DeepEqual(conn.labelOf(), label) {
		label = ptr(testLabel + " 2")
	}
	cased := []string{strings.ToUpper(key[:1]) + key[1:], strings.ToUpper(key)}
	echo := map[string]any{"conformance-unknown": map[string][]int{"nested": {1, 2}}}
	for name, v := range conn.members {
		echo[name] = v
	}
	echo[key] = label
	refused := map[string]any{}
	for _, name := range cased {
		echo[name], refused[name] = label, 42
	}
	c.relabel(conn, mustJSON(echo), label)
	c.expectNotFound(c.put(c.r.target.Token, c.r.absent, mustJSON(refused)))
}

// clockSkew is how far updated_at may be from the Date of the answer that
// set it: the two clocks may be different machines'.
const clockSkew = time.Minute

// aSecond is how long the kit waits between two updates, so that the second
// must move updated_at, which has whole seconds, past the first.
const aSecond = 1100 * time.Millisecond

func checkTimestamps(c *probe) {
	conn := c.subject()
	var last time.Time
	for i, body := range [][]byte{c.labelValue(conn.labelOf()), []byte(`{}`), c.labelValue(testLabel)} {
		// A second after the last update, an update that leaves the label
		// must still move updated_at past it.
		moves := i == 1
		if moves {
			c.wait(aSecond)
		}
		got, ex := c.update(conn.UUID, body)
		updated := got.UpdatedAt.Time
		if moves && !updated.After(last) {
			c.fail(ex, "body."+c.r.api.updated, "%s to move on every update, even one that leaves the label, %v after the last; got %s again", c.r.api.updated, aSecond, got.members[c.r.api.updated])
		}
		if date, err := http.ParseTime(ex.Header.Get("Date")); err == nil {
			if d := updated.Sub(date); d < -clockSkew || d > clockSkew {
				c.fail(ex, "body."+c.r.api.updated, "the time of the update, within %v of the answer's Date %s; got %s", clockSkew, ex.Header.Get("Date"), got.members[c.r.api.updated])
			}
		}
		last = updated
	}
	// Never back, and created_at never moving, are held on every answer
	// (observe.go), against what the first list showed, whatever ran before.
}

// wait sleeps for d, or until the run is canceled.
func (c *probe) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
		c.fatal(c.last, "kit", "time to wait %v; got %s", d, c.ctx.Err())
	}
}
