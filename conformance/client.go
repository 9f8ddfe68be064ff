package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptrace"
	"net/url"
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

// do sends req, each attempt of it in a slot of its own. net/http sends a
// request again, inside RoundTrip, where no wrapper sees it: a GET, HEAD or
// OPTIONS whose kept-alive connection closed under it, or a request an
// HTTP/2 server refused. Each attempt first gets a connection, which the
// trace does see; every attempt after the first waits there for its slot,
// before it is written. The caller took the first attempt's.
func (c *client) do(req *http.Request) (*http.Response, error) {
	attempts := 0
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {
		if attempts++; attempts > 1 {
			// A wait cut short by the context fails the attempt with it.
			_ = c.slot(req.Context())
		}
	}}
	return c.http.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
}

// request is what a check sends.
type request struct {
	method string
	path   string // the API's path, escaped, appended to the base URL
	token  string // sent as "Authorization: Bearer <token>" unless empty
	// auth, if set, replaces the Authorization header: one entry a line.
	auth        []string
	contentType string
	body        []byte
	// chunked sends the body without a Content-Length.
	chunked bool
	// lines are header lines sent besides those above, each value a line.
	lines http.Header
}

// exchange is a request and its answer.
type exchange struct {
	req     *http.Request
	apiPath *url.URL // the request's path without the base URL's
	body    []byte   // the request's
	token   string   // the user the request was sent as, if one
	Status  int
	Header  http.Header
	Body    []byte
	// violation is whether the answer breaks the rules of every answer; the
	// check has failed for it already.
	violation bool
	// window is what the answer's rate-limit headers say, if it is an
	// authenticated answer that has them.
	window *window
}

// safeMethods change nothing on any server that keeps to HTTP's semantics;
// under ReadOnly every other request goes to the run's absent UUID.
var safeMethods = []string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace}

// send makes the request and holds the answer to the spec and to the rules
// of every answer (observe.go); a failure of them fails the check. A
// transport error ends the check.
func (c *probe) send(rq request) *exchange {
	write := !slices.Contains(safeMethods, rq.method)
	if c.r.target.ReadOnly && write && !c.r.isAbsent(rq.path) {
		// A bug of the kit, caught before anything is sent.
		c.fatal(nil, "request", "under -readonly, %s only to the UUID no user owns (%s); the kit was about to send %s %s", rq.method, c.r.absent, rq.method, rq.path)
	}
	apiPath, err := url.Parse(rq.path)
	if err != nil {
		c.fatal(nil, "request", "a valid path; the kit made %q: %s", rq.path, err)
	}
	// The path goes as written: an escaped slash stays escaped.
	var body io.Reader = bytes.NewReader(rq.body)
	if rq.chunked {
		body = struct{ io.Reader }{body} // a length NewRequest cannot see
	}
	req, err := http.NewRequestWithContext(c.ctx, rq.method, c.r.client.base+rq.path, body)
	if err != nil {
		c.fatal(nil, "request", "a valid request to %q: %s", rq.path, err)
	}
	if rq.chunked {
		req.TransferEncoding = []string{"chunked"}
	}
	req.Header.Set("Accept", "application/json")
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	for name, values := range rq.lines {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	switch {
	case rq.auth != nil:
		req.Header["Authorization"] = rq.auth
	case rq.token != "":
		req.Header.Set("Authorization", bearer(rq.token))
	}
	ex := &exchange{req: req, apiPath: apiPath, body: rq.body}
	if rq.auth == nil {
		ex.token = rq.token
	}
	c.last = ex
	if err := c.r.client.slot(c.ctx); err != nil {
		c.fatal(ex, "answer", "time to send; got %s", err)
	}
	resp, err := c.r.client.do(req)
	// A server may take a PUT to the absent UUID as a create: the check then
	// looks for it (sweep). A 429 is refused before anything is done, and
	// would refuse the look too.
	c.wroteAbsent = c.wroteAbsent || write && c.r.isAbsent(rq.path) && (err != nil || resp.StatusCode != c.r.api.status[respTooMany])
	if err != nil {
		c.fatal(ex, "answer", "an answer; got %s", err)
	}
	defer resp.Body.Close()
	ex.Status, ex.Header = resp.StatusCode, resp.Header
	if ex.Body, err = io.ReadAll(resp.Body); err != nil {
		c.fatal(ex, "body", "a whole body; got %s", err)
	}
	before := len(c.res.Failures)
	if err := c.r.spec.check(ex); err != nil {
		c.fail(ex, "answer", "an answer the spec allows; got: %s", err)
	}
	c.answerRules(ex)
	ex.violation = len(c.res.Failures) > before
	return ex
}

// describe renders ex's request for a report.
func (c *probe) describe(ex *exchange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", ex.req.Method, ex.req.URL.EscapedPath())
	for _, k := range slices.Sorted(maps.Keys(ex.req.Header)) {
		for _, v := range ex.req.Header[k] {
			fmt.Fprintf(&b, "\n%s: %s", k, v)
		}
	}
	for _, te := range ex.req.TransferEncoding {
		fmt.Fprintf(&b, "\nTransfer-Encoding: %s", te)
	}
	if len(ex.body) > 0 {
		fmt.Fprintf(&b, "\n\n%s", c.r.red.excerpt(ex.body))
	}
	return c.r.red.string(b.String())
}
