package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

func ptr(s string) *string { return &s }

// relabel PUTs body to conn and expects a 200 whose label is want, and the
// list to show exactly the answer.
func (c *probe) relabel(conn connection, body []byte, want *string) connection {
	got, ex := c.update(conn.UUID, body)
	c.expectLabel(ex, got, want)
	listed, lex := c.findOrFail(conn.UUID)
	if !sameJSON(listed.raw, got.raw) {
		c.fail(lex, "the list to show the connection as the PUT answered it: %s", excerpt(got.raw))
	}
	return got
}

func (c *probe) findOrFail(id string) (connection, *exchange) {
	conns, ex := c.list(c.r.target.Token)
	for _, conn := range conns {
		if conn.UUID == id {
			return conn, ex
		}
	}
	c.fatal(ex, "connection %s in the list", id)
	return connection{}, nil
}

// unchanged fails unless conn is listed exactly as before: label and
// updated_at included, since a refused request must not touch it.
func (c *probe) unchanged(before connection, after string) {
	now, ex := c.findOrFail(before.UUID)
	if !sameJSON(now.raw, before.raw) {
		c.fail(ex, "connection %s unchanged by %s: %s", before.UUID, after, excerpt(before.raw))
	}
}

func labelBody(label string) []byte { return mustJSON(map[string]string{"label": label}) }

const testLabel = "plannr-conformance label"

func checkLabelSet(c *probe) {
	conn := c.subject()
	c.relabel(conn, labelBody(testLabel), ptr(testLabel))
	c.relabel(conn, labelBody("Ünïcödé ✓ 😀"), ptr("Ünïcödé ✓ 😀"))
}

func checkLabelAbsent(c *probe) {
	conn := c.subject()
	c.relabel(conn, labelBody(testLabel), ptr(testLabel))
	c.relabel(conn, []byte(`{}`), ptr(testLabel))
}

func checkLabelNull(c *probe) {
	conn := c.subject()
	c.relabel(conn, labelBody(testLabel), ptr(testLabel))
	c.relabel(conn, []byte(`{"label":null}`), nil)
}

func checkLabelTrimmed(c *probe) {
	conn := c.subject()
	c.relabel(conn, labelBody("  "+testLabel+"\t "), ptr(testLabel))
	for _, blank := range []string{"", "   ", " \t "} {
		c.relabel(conn, labelBody(testLabel), ptr(testLabel))
		c.relabel(conn, labelBody(blank), nil)
	}
	// The length limit applies to the trimmed label.
	long := strings.Repeat("x", 255)
	c.relabel(conn, labelBody("  "+long+"  "), &long)
}

// expectInvalid fails unless ex is a 422 whose errors name field.
func (c *probe) expectInvalid(ex *exchange, field string) {
	body := c.expectError(ex, http.StatusUnprocessableEntity, "")
	if ex.Status == http.StatusUnprocessableEntity && len(body.Errors[field]) == 0 {
		c.fail(ex, "errors.%s with at least one message", field)
	}
}

func checkLabelMaxLength(c *probe) {
	conn := c.subject()
	for _, unit := range []string{"x", "😀", "é"} {
		ok := strings.Repeat(unit, 255)
		before := c.relabel(conn, labelBody(ok), &ok)
		c.expectInvalid(c.put(c.r.target.Token, conn.UUID, labelBody(ok+unit)), "label")
		c.unchanged(before, "a 422")
	}
}

// invalidBodies are bodies of the right syntax and the wrong shape, each with
// the field its 422 must name.
var invalidBodies = []struct{ body, field string }{
	{`{"label":42}`, "label"},
	{`{"label":true}`, "label"},
	{`{"label":["x"]}`, "label"},
	{`{"label":{"text":"x"}}`, "label"},
	{`[]`, "body"},
	{`[{"label":"x"}]`, "body"},
	{`"x"`, "body"},
	{`42`, "body"},
}

func checkNegativeData(c *probe) {
	conn := c.subject()
	for _, b := range invalidBodies {
		c.expectInvalid(c.put(c.r.target.Token, conn.UUID, []byte(b.body)), b.field)
	}
	c.unchanged(conn, "a 422")
}

// checkValidationMessage checks the message of each 422 that a few bodies draw,
// among them a label that breaks two rules at once (not a string, and over
// 255 items, as Laravel's max counts an array).
func checkValidationMessage(c *probe) {
	conn := c.subject()
	many := mustJSON(map[string][]string{"label": make([]string, 256)})
	bodies := [][]byte{many, []byte(`{"label":42}`), labelBody(strings.Repeat("x", 256))}
	for _, b := range invalidBodies {
		bodies = append(bodies, []byte(b.body))
	}
	for _, body := range bodies {
		ex := c.put(c.r.target.Token, conn.UUID, body)
		if ex.Status != http.StatusUnprocessableEntity {
			c.fail(ex, "status 422")
			continue
		}
		want, err := laravelMessage(ex.Body)
		if err != nil {
			c.fail(ex, "a 422 body with errors: %v", err)
			continue
		}
		var got errorBody
		if json.Unmarshal(ex.Body, &got) == nil && got.Message != want {
			c.fail(ex, "message %q, the first error and the count of the others, got %q", want, got.Message)
		}
	}
}

// laravelMessage is the message Laravel gives a 422 of body's errors: the
// first message of the first field, and "(and N more errors)" for the rest.
func laravelMessage(body []byte) (string, error) {
	var v struct {
		Errors json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	// The first field in the order sent: a map would lose it.
	dec := json.NewDecoder(bytes.NewReader(v.Errors))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", fmt.Errorf("errors is not an object")
	}
	first, total := "", 0
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return "", err
		}
		var msgs []string
		if err := dec.Decode(&msgs); err != nil {
			return "", err
		}
		if total == 0 && len(msgs) > 0 {
			first = msgs[0]
		}
		total += len(msgs)
	}
	switch {
	case total == 0:
		return "", fmt.Errorf("errors holds no message")
	case total == 1:
		return first, nil
	case total == 2:
		return first + " (and 1 more error)", nil
	}
	return fmt.Sprintf("%s (and %d more errors)", first, total-1), nil
}

func checkUnknownProperties(c *probe) {
	conn := c.subject()
	c.relabel(conn, labelBody(testLabel), ptr(testLabel))
	c.relabel(conn, []byte(`{"Label":"caps","LABEL":"upper","name":"x","uuid":"00000000-0000-4000-8000-000000000000"}`), ptr(testLabel))
	c.relabel(conn, []byte(`{"label":"with extra","extra":{"nested":[1,2]}}`), ptr("with extra"))
}

// clockSkew is how far updated_at may be from the Date of the answer that
// set it: the two clocks may be different machines'.
const clockSkew = time.Minute

func checkTimestamps(c *probe) {
	conn := c.subject()
	created, err1 := parseTimestamp(conn.CreatedAt)
	last, err2 := parseTimestamp(conn.UpdatedAt)
	if err1 != nil || err2 != nil {
		c.fatal(nil, "the connection's timestamps in RFC 3339 with whole seconds: %v, %v", err1, err2)
	}
	for i, body := range [][]byte{labelBody(testLabel), []byte(`{}`), []byte(`{"label":null}`)} {
		got, ex := c.update(conn.UUID, body)
		gotCreated, err1 := parseTimestamp(got.CreatedAt)
		updated, err2 := parseTimestamp(got.UpdatedAt)
		if err1 != nil || err2 != nil {
			c.fail(ex, "timestamps in RFC 3339 with whole seconds: %v, %v", err1, err2)
			continue
		}
		if !gotCreated.Equal(created) {
			c.fail(ex, "created_at %s unmoved, got %s", conn.CreatedAt, got.CreatedAt)
		}
		if updated.Before(last) {
			c.fail(ex, "updated_at never back: %s was shown before, got %s", last.Format(time.RFC3339), got.UpdatedAt)
		}
		if date, err := http.ParseTime(ex.Header.Get("Date")); err == nil {
			if d := updated.Sub(date); d < -clockSkew || d > clockSkew {
				c.fail(ex, "updated_at the time of update %d, within %v of the answer's Date %s, got %s", i+1, clockSkew, ex.Header.Get("Date"), got.UpdatedAt)
			}
		}
		last = updated
	}
}
