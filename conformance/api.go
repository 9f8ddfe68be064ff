package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"
)

const (
	listPath    = "/api/v1/oauth/connections"
	jsonType    = "application/json"
	unknownUUID = "00000000-0000-4000-8000-000000000000"

	msgUnauthenticated = "Unauthenticated."
	msgNotFound        = "OAuth2 connection not found."
)

func connPath(id string) string { return listPath + "/" + id }

// connection is an OAuth2 connection as an answer shows it; raw keeps the
// whole object, for comparing answers.
type connection struct {
	UUID      string  `json:"uuid"`
	Label     *string `json:"label"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
	raw       json.RawMessage
}

func (c connection) label() string {
	if c.Label == nil {
		return "null"
	}
	return strconv.Quote(*c.Label)
}

func decodeConnection(b []byte) (connection, error) {
	var c connection
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	c.raw = b
	return c, nil
}

func decodeList(ex *exchange) ([]connection, error) {
	if ex.Status != http.StatusOK {
		return nil, fmt.Errorf("status %d, want 200", ex.Status)
	}
	var list struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(ex.Body, &list); err != nil {
		return nil, err
	}
	conns := make([]connection, len(list.Data))
	for i, raw := range list.Data {
		var err error
		if conns[i], err = decodeConnection(raw); err != nil {
			return nil, err
		}
	}
	return conns, nil
}

// list lists the connections of token's user; anything but a list ends the
// check.
func (c *probe) list(token string) ([]connection, *exchange) {
	ex := c.send(request{method: http.MethodGet, path: listPath, token: token})
	conns, err := decodeList(ex)
	if err != nil {
		c.fatal(ex, "200 with the list of connections: %v", err)
	}
	return conns, ex
}

// find returns the connection of id in token's list; ok is false if it is not
// there.
func (c *probe) find(token, id string) (connection, bool) {
	conns, _ := c.list(token)
	for _, conn := range conns {
		if conn.UUID == id {
			return conn, true
		}
	}
	return connection{}, false
}

// subject is the first user's first connection, as it is now, which the
// label checks change. A check that changes its label puts it back.
func (c *probe) subject() connection {
	if len(c.r.conns) == 0 {
		c.skip("the first user (-token) has no connection")
	}
	conn, ok := c.find(c.r.target.Token, c.r.conns[0].UUID)
	if !ok {
		c.skip("the first user's connection %s is gone", c.r.conns[0].UUID)
	}
	c.cleanup(func() { c.restore(conn) })
	return conn
}

// restore puts conn's label back, if it changed.
func (c *probe) restore(conn connection) {
	now, ok := c.find(c.r.target.Token, conn.UUID)
	if !ok || reflect.DeepEqual(now.Label, conn.Label) {
		return
	}
	body, _ := json.Marshal(map[string]*string{"label": conn.Label})
	if ex := c.put(c.r.target.Token, conn.UUID, body); ex.Status != http.StatusOK {
		c.fail(ex, "200 to the PUT that restores the label %s", conn.label())
	}
}

func (c *probe) put(token, id string, body []byte) *exchange {
	return c.send(request{method: http.MethodPut, path: connPath(id), token: token, contentType: jsonType, body: body})
}

// update PUTs body to the first user's connection and expects a 200 with the
// connection; it returns the connection the answer shows.
func (c *probe) update(id string, body []byte) (connection, *exchange) {
	ex := c.put(c.r.target.Token, id, body)
	if ex.Status != http.StatusOK {
		c.fatal(ex, "200 with the connection")
	}
	conn, err := decodeConnection(ex.Body)
	if err != nil || conn.UUID != id {
		c.fatal(ex, "the connection %s as JSON (%v)", id, err)
	}
	return conn, ex
}

// expectLabel fails unless conn's label is want (nil for null).
func (c *probe) expectLabel(ex *exchange, conn connection, want *string) {
	if !reflect.DeepEqual(conn.Label, want) {
		c.fail(ex, "label %s, got %s", connection{Label: want}.label(), conn.label())
	}
}

// expectError fails unless ex is status with the JSON message want ("" for
// any); it returns the decoded body.
func (c *probe) expectError(ex *exchange, status int, want string) errorBody {
	var body errorBody
	if ex.Status != status {
		c.fail(ex, "status %d", status)
		return body
	}
	if err := json.Unmarshal(ex.Body, &body); err != nil {
		if ex.violation == nil { // else failed for it already
			c.fail(ex, "a JSON error body: %v", err)
		}
	} else if want != "" && body.Message != want {
		c.fail(ex, "message %q, got %q", want, body.Message)
	}
	return body
}

type errorBody struct {
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors"`
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// parseTimestamp parses a created_at or updated_at: RFC 3339 in whole seconds.
func parseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, err
	}
	if len(s) > len("2006-01-02T15:04:05") && s[len("2006-01-02T15:04:05")] == '.' {
		return t, fmt.Errorf("%q has a fraction of a second", s)
	}
	return t, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
