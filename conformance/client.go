package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// client sends the kit's requests, counting them and, with a budget, pacing
// them: the n-th request starts no earlier than n minutes/budget after the
// first, so that no minute holds more than budget requests.
type client struct {
	base string
	http *http.Client

	mu       sync.Mutex
	interval time.Duration // 0: no pacing
	next     time.Time
	sent     int
}

func newClient(t Target, budget int) *client {
	hc := &http.Client{Timeout: 10 * time.Second}
	if t.HTTPClient != nil {
		copied := *t.HTTPClient
		hc = &copied
	}
	// A redirect is an answer to check, not one to follow.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &client{base: strings.TrimSuffix(t.BaseURL, "/"), http: hc}
	if budget > 0 {
		c.interval = time.Minute / time.Duration(budget)
	}
	return c
}

func (c *client) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// slot counts a request and waits for its turn under the budget.
func (c *client) slot(ctx context.Context) error {
	c.mu.Lock()
	at := time.Now()
	if at.Before(c.next) {
		at = c.next
	}
	c.next = at.Add(c.interval)
	c.sent++
	c.mu.Unlock()
	if wait := time.Until(at); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// request is what a check sends.
type request struct {
	method string
	path   string // escaped, appended to the base URL
	token  string // sent as "Authorization: Bearer <token>" unless empty
	// auth, if set, replaces the Authorization header: one entry a line.
	auth        []string
	contentType string
	body        []byte
}

// exchange is a request and its answer.
type exchange struct {
	req    *http.Request
	body   []byte // the request's
	Status int
	Header http.Header
	Body   []byte
	// violation is how the answer breaks the spec, if it does; the check has
	// failed for it already.
	violation error
}

// send makes the request and checks the answer against the spec; a broken
// spec is a failure of the check. A transport error ends the check.
func (c *probe) send(rq request) *exchange {
	// The path goes as written: an escaped slash stays escaped.
	req, err := http.NewRequestWithContext(c.r.ctx, rq.method, c.r.client.base+rq.path, bytes.NewReader(rq.body))
	if err != nil {
		c.fatal(nil, "a valid request to %q: %v", rq.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	switch {
	case rq.auth != nil:
		req.Header["Authorization"] = rq.auth
	case rq.token != "":
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	ex := &exchange{req: req, body: rq.body}
	if err := c.r.client.slot(c.r.ctx); err != nil {
		c.fatal(ex, "time to send: %v", err)
	}
	resp, err := c.r.client.http.Do(req)
	if err != nil {
		c.fatal(ex, "an answer; got %v", err)
	}
	defer resp.Body.Close()
	ex.Status, ex.Header = resp.StatusCode, resp.Header
	if ex.Body, err = io.ReadAll(resp.Body); err != nil {
		c.fatal(ex, "a whole body; got %v", err)
	}
	if ex.violation = c.r.spec.check(ex); ex.violation != nil && c.res != nil {
		c.fail(ex, "an answer the spec allows: %v", ex.violation)
	}
	return ex
}

// describe renders ex's request for a report, tokens redacted.
func (c *probe) describe(ex *exchange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", ex.req.Method, ex.req.URL.EscapedPath())
	keys := make([]string, 0, len(ex.req.Header))
	for k := range ex.req.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range ex.req.Header[k] {
			fmt.Fprintf(&b, "\n%s: %s", k, c.redact(v))
		}
	}
	if len(ex.body) > 0 {
		fmt.Fprintf(&b, "\n\n%s", excerpt(ex.body))
	}
	return b.String()
}
