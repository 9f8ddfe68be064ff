package client

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

const (
	testToken  = "test-token"
	connection = `{"uuid":"7b29add1-9028-4c1e-a87b-3c80a2e495fe","label":"Fundment","created_at":"2025-06-25T15:10:48+01:00","updated_at":"2025-06-25T15:10:48+01:00","access_token_expires_at":null,"refresh_token_expires_at":null,"provider":{"name":"fundment","label":"Fundment","logo_url":"https://api.plannrcrm.com/imgs/fundment-banner.png","authorization_url":"https://api.plannrcrm.com/oauth/fundment/authorize"}}`
	validation = `{"message":"The label field must not be greater than 255 characters.","errors":{"label":["The label field must not be greater than 255 characters."]}}`
)

var testID = uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe")

// fast keeps the exponential back-off in milliseconds, so that only the
// Retry-After cases take real time.
var fast = RetryPolicy{MaxRetries: 2, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond}

// reply is one answer of a plannr test server.
type reply struct {
	status     int
	retryAfter string
	// retryAfterDate, if set, sends Retry-After as the HTTP date this far
	// after the answer.
	retryAfterDate time.Duration
	header         http.Header // sent as well
	contentType    string      // application/json when empty
	body           string
	hang           bool // answer nothing until the client goes away
}

func jsonError(status int, message string) reply {
	return reply{status: status, body: fmt.Sprintf(`{"message":%q}`, message)}
}

// received is what a plannr test server was sent.
type received struct {
	method, path string
	header       http.Header
	body         string
}

// plannr answers its n-th request with replies[n], repeating the last one
// once they run out, and records what it is sent.
type plannr struct {
	url  string
	mu   sync.Mutex
	reqs []received
}

func newPlannr(t *testing.T, replies ...reply) *plannr {
	t.Helper()
	p := &plannr{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		n := len(p.reqs)
		p.reqs = append(p.reqs, received{r.Method, r.URL.Path, r.Header.Clone(), string(body)})
		p.mu.Unlock()
		rep := replies[min(n, len(replies)-1)]
		if rep.hang {
			<-r.Context().Done()
			return
		}
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		if rep.retryAfterDate != 0 {
			w.Header().Set("Retry-After", time.Now().Add(rep.retryAfterDate).UTC().Format(http.TimeFormat))
		}
		maps.Copy(w.Header(), rep.header)
		w.Header().Set("Content-Type", cmp.Or(rep.contentType, "application/json"))
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *plannr) received() []received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]received(nil), p.reqs...)
}

func newClient(t *testing.T, baseURL string, opts ...Option) *gen.ClientWithResponses {
	t.Helper()
	c, err := New(testToken, append([]Option{WithBaseURL(baseURL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var label = gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullableWithValue("Fundment")}

// The three operations, each returning only what Check makes of it, so that
// a table can name any of them.
type op func(context.Context, *gen.ClientWithResponses) error

func list(ctx context.Context, c *gen.ClientWithResponses) error {
	_, err := Check(c.ListOAuthConnectionsWithResponse(ctx))
	return err
}

func update(ctx context.Context, c *gen.ClientWithResponses) error {
	_, err := Check(c.UpdateOAuthConnectionWithResponse(ctx, testID, label))
	return err
}

func remove(ctx context.Context, c *gen.ClientWithResponses) error {
	_, err := Check(c.DeleteOAuthConnectionWithResponse(ctx, testID))
	return err
}

func TestNewSendsPlannrHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		call            op
		opts            []Option
		wantMethod      string
		wantContentType string
		wantBody        string
		wantUserAgent   string
	}{
		{name: "list", call: list, wantMethod: http.MethodGet, wantUserAgent: "plannr-oauth-go/devel"},
		{name: "update", call: update, wantMethod: http.MethodPut, wantContentType: "application/json", wantBody: `{"label":"Fundment"}`, wantUserAgent: "plannr-oauth-go/devel"},
		{name: "delete", call: remove, wantMethod: http.MethodDelete, wantUserAgent: "plannr-oauth-go/devel"},
		{name: "WithUserAgent", call: list, opts: []Option{WithUserAgent("my-app/1.2")}, wantMethod: http.MethodGet, wantUserAgent: "my-app/1.2 plannr-oauth-go/devel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The body does not matter: the headers are checked on the way in.
			p := newPlannr(t, reply{status: http.StatusNoContent})
			_ = tt.call(t.Context(), newClient(t, p.url, tt.opts...))
			reqs := p.received()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.method != tt.wantMethod {
				t.Errorf("method = %s, want %s", got.method, tt.wantMethod)
			}
			for name, want := range map[string]string{
				"Authorization": "Bearer " + testToken,
				"Accept":        "application/json",
				"User-Agent":    tt.wantUserAgent,
				"Content-Type":  tt.wantContentType,
			} {
				if v := got.header.Get(name); v != want {
					t.Errorf("%s = %q, want %q", name, v, want)
				}
			}
			if strings.TrimSpace(got.body) != tt.wantBody {
				t.Errorf("body = %q, want %q", got.body, tt.wantBody)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ok := reply{status: http.StatusOK, body: connection}
	tests := []struct {
		name         string
		replies      []reply
		policy       RetryPolicy
		wantAttempts int
		wantStatus   int
		typed        func(*gen.UpdateOAuthConnectionResponse) any // the field gen must have filled
		// The call must take from minElapsed to maxElapsed, by default
		// minElapsed+1s: the upper bound catches waits nobody asked for.
		minElapsed, maxElapsed time.Duration
	}{
		{
			name:         "429 with Retry-After twice, then 200",
			replies:      []reply{{status: 429, retryAfter: "1", body: `{"message":"Too Many Attempts."}`}, {status: 429, retryAfter: "1", body: `{"message":"Too Many Attempts."}`}, ok},
			policy:       RetryPolicy{MaxRetries: 4, MinWait: time.Millisecond},
			wantAttempts: 3, wantStatus: 200, minElapsed: 2 * time.Second,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON200 },
		},
		{
			name:    "503 with Retry-After as an HTTP date, then 200",
			replies: []reply{{status: 503, retryAfterDate: 2 * time.Second, body: `{"message":"Service Unavailable"}`}, ok},
			policy:  fast,
			// An HTTP date has whole seconds: 2 s ahead is 1 to 2 s ahead.
			wantAttempts: 2, wantStatus: 200, minElapsed: time.Second, maxElapsed: 2500 * time.Millisecond,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON200 },
		},
		{
			name:    "429 with Retry-After 0, then 200: MinWait, not at once",
			replies: []reply{{status: 429, retryAfter: "0", body: `{"message":"Too Many Attempts."}`}, ok},
			policy:  RetryPolicy{MaxRetries: 1, MinWait: 300 * time.Millisecond},
			// The floor, and no back-off on top of it.
			wantAttempts: 2, wantStatus: 200, minElapsed: 300 * time.Millisecond, maxElapsed: 800 * time.Millisecond,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON200 },
		},
		{
			name:         "502 from a proxy, then 200",
			replies:      []reply{{status: 502, contentType: "text/html", body: "<h1>Bad Gateway</h1>"}, ok},
			policy:       fast,
			wantAttempts: 2, wantStatus: 200,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON200 },
		},
		{
			name:         "500 every time: the last 500 after 1+MaxRetries attempts",
			replies:      []reply{jsonError(500, "Server Error")},
			policy:       fast,
			wantAttempts: 3, wantStatus: 500,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSONDefault },
		},
		{
			name:         "429 every time: the last 429, typed",
			replies:      []reply{{status: 429, retryAfter: "0", body: `{"message":"Too Many Attempts."}`}},
			policy:       fast,
			wantAttempts: 3, wantStatus: 429,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON429 },
		},
		{
			name:         "Retry-After past MaxElapsed: no wait, the 429 at once",
			replies:      []reply{{status: 429, retryAfter: "60", body: `{"message":"Too Many Attempts."}`}},
			policy:       RetryPolicy{MaxRetries: 4, MaxElapsed: time.Second},
			wantAttempts: 1, wantStatus: 429,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON429 },
		},
		{
			name:         "MaxRetries 0 disables retries",
			replies:      []reply{jsonError(503, "Service Unavailable"), ok},
			policy:       RetryPolicy{MaxRetries: 0},
			wantAttempts: 1, wantStatus: 503,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSONDefault },
		},
		{
			name: "400 is not retried", replies: []reply{jsonError(400, "The request body is not valid JSON."), ok}, policy: fast,
			wantAttempts: 1, wantStatus: 400,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON400 },
		},
		{
			name: "401 is not retried", replies: []reply{jsonError(401, "Unauthenticated."), ok}, policy: fast,
			wantAttempts: 1, wantStatus: 401,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON401 },
		},
		{
			name: "404 is not retried", replies: []reply{jsonError(404, "OAuth2 connection not found."), ok}, policy: fast,
			wantAttempts: 1, wantStatus: 404,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON404 },
		},
		{
			name: "422 is not retried", replies: []reply{{status: 422, body: validation}, ok}, policy: fast,
			wantAttempts: 1, wantStatus: 422,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSON422 },
		},
		{
			name: "501 is not retried", replies: []reply{jsonError(501, "Not Implemented"), ok}, policy: fast,
			wantAttempts: 1, wantStatus: 501,
			typed: func(r *gen.UpdateOAuthConnectionResponse) any { return r.JSONDefault },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPlannr(t, tt.replies...)
			c := newClient(t, p.url, WithRetryPolicy(tt.policy))
			start := time.Now()
			resp, err := c.UpdateOAuthConnectionWithResponse(t.Context(), testID, label)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("err = %v, want the last response", err)
			}
			if resp.StatusCode() != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode(), tt.wantStatus)
			}
			if reflect.ValueOf(tt.typed(resp)).IsNil() {
				t.Errorf("gen did not type the %d response: %+v", resp.StatusCode(), resp)
			}
			reqs := p.received()
			if len(reqs) != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", len(reqs), tt.wantAttempts)
			}
			// Every retry must send the whole body again.
			for i, r := range reqs {
				if strings.TrimSpace(r.body) != `{"label":"Fundment"}` {
					t.Errorf("attempt %d sent body %q", i+1, r.body)
				}
			}
			maxElapsed := cmp.Or(tt.maxElapsed, tt.minElapsed+time.Second)
			if elapsed < tt.minElapsed || elapsed > maxElapsed {
				t.Errorf("took %v, want %v to %v", elapsed, tt.minElapsed, maxElapsed)
			}
		})
	}
}

// countingTransport counts attempts that never reach a handler.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// closedURL is the URL of a server that is gone: every connection to it is
// refused.
func closedURL(*testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

// TestNoAnswerIsRetriedThenFails: a call that got no answer is retried, then
// fails with an error that says after how many attempts it gave up, when it
// retried. One that made one attempt or none (a refused certificate, a
// context ended before the first attempt) claims no count: it said "giving
// up after 1 attempt(s)" of a call that never went out.
func TestNoAnswerIsRetriedThenFails(t *testing.T) {
	t.Parallel()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name         string
		baseURL      func(*testing.T) string
		ctx          context.Context // nil: t's
		timeout      time.Duration
		maxRetries   int
		wantAttempts int32
	}{
		{name: "connection refused", baseURL: closedURL, maxRetries: 2, wantAttempts: 3},
		{name: "connection refused, no retries", baseURL: closedURL, maxRetries: 0, wantAttempts: 1},
		{name: "certificate refused", baseURL: func(t *testing.T) string {
			srv := httptest.NewTLSServer(http.NotFoundHandler())
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake's failure is the test's
			t.Cleanup(srv.Close)
			return srv.URL
		}, maxRetries: 2, wantAttempts: 1},
		{name: "context ended before the call", baseURL: closedURL, ctx: ended, maxRetries: 2, wantAttempts: 0},
		{
			name:    "per-attempt timeout",
			baseURL: func(t *testing.T) string { return newPlannr(t, reply{hang: true}).url },
			timeout: 50 * time.Millisecond, maxRetries: 1, wantAttempts: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			transport := &countingTransport{}
			c := newClient(t, tt.baseURL(t),
				WithHTTPClient(&http.Client{Transport: transport, Timeout: tt.timeout}),
				WithRetryPolicy(RetryPolicy{MaxRetries: tt.maxRetries, MinWait: time.Millisecond}))
			resp, err := Check(c.ListOAuthConnectionsWithResponse(cmp.Or(tt.ctx, t.Context())))
			if resp != nil || err == nil {
				t.Fatalf("got (%v, %v), want no response and an error", resp, err)
			}
			switch want := fmt.Sprintf("giving up after %d attempt(s)", tt.wantAttempts); {
			case tt.wantAttempts > 1 && !strings.Contains(err.Error(), want):
				t.Errorf("err = %v, want it to say %q", err, want)
			case tt.wantAttempts <= 1 && strings.Contains(err.Error(), "attempt"):
				t.Errorf("err = %v claims a count of %d attempt(s); only a call that retried says it", err, tt.wantAttempts)
			}
			if errors.As(err, new(*APIError)) {
				t.Errorf("err = %v is an *APIError; there was no answer", err)
			}
			if n := transport.n.Load(); n != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", n, tt.wantAttempts)
			}
		})
	}
}

// TestNoRetryPastTheDeadline: a retry whose wait would end after the
// context's deadline is not made. The call returns at once what its attempt
// got, as when the retries run out: the 5xx, or an error that says why it
// was not retried; it does not sleep until the deadline to return a bare
// context error. (A 429 is TestRateLimitedPastDeadline's.)
func TestNoRetryPastTheDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		baseURL func(*testing.T) string
		// wantStatus is the answer the call returns; 0: an error instead.
		wantStatus int
	}{
		{name: "503 whose Retry-After ends past the deadline", wantStatus: 503, baseURL: func(t *testing.T) string {
			return newPlannr(t, reply{status: 503, retryAfter: "60", body: `{"message":"Service Unavailable"}`}).url
		}},
		{name: "500 whose back-off ends past the deadline", wantStatus: 500, baseURL: func(t *testing.T) string {
			return newPlannr(t, jsonError(500, "Server Error")).url
		}},
		{name: "no answer, the back-off ending past the deadline", baseURL: closedURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			transport := &countingTransport{}
			// Back-off of a minute, past the deadline; retries and budget to spare.
			c := newClient(t, tt.baseURL(t), WithHTTPClient(&http.Client{Transport: transport}),
				WithRetryPolicy(RetryPolicy{MaxRetries: 4, MinWait: time.Minute, MaxElapsed: time.Hour}))
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			resp, err := c.ListOAuthConnectionsWithResponse(ctx)
			if ctx.Err() != nil {
				t.Errorf("returned after the context's deadline, want at once")
			}
			switch {
			case tt.wantStatus != 0 && err != nil:
				t.Errorf("err = %v, want the %d", err, tt.wantStatus)
			case tt.wantStatus != 0 && resp.StatusCode() != tt.wantStatus:
				t.Errorf("status = %d, want %d", resp.StatusCode(), tt.wantStatus)
			case tt.wantStatus == 0 && (!errors.Is(err, context.DeadlineExceeded) || !strings.Contains(fmt.Sprint(err), "past the context's deadline")):
				t.Errorf("err = %v, want context.DeadlineExceeded, saying that the retry would come past the deadline", err)
			}
			if n := transport.n.Load(); n != 1 {
				t.Errorf("attempts = %d, want 1", n)
			}
		})
	}
}

// TestLabelNotUTF8IsNotSent: encoding/json would send U+FFFD in place of
// each byte of a label that is not UTF-8, and the server would store a label
// other than the one given; the client refuses it instead, sending nothing.
func TestLabelNotUTF8IsNotSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		label   nullable.Nullable[string]
		wantErr bool
	}{
		{name: "an invalid byte", label: nullable.NewNullableWithValue("Fund\xffment"), wantErr: true},
		{name: "a surrogate, encoded", label: nullable.NewNullableWithValue("Fund\xed\xa0\x80ment"), wantErr: true},
		{name: "cut inside a character", label: nullable.NewNullableWithValue("Fundment \xc3"), wantErr: true},
		{name: "UTF-8", label: nullable.NewNullableWithValue(" Fundmént ✓ ")},
		{name: "null", label: nullable.NewNullNullable[string]()},
		{name: "left as it is", label: nullable.Nullable[string]{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPlannr(t, reply{status: http.StatusOK, body: connection})
			c := newClient(t, p.url)
			_, err := Check(c.UpdateOAuthConnectionWithResponse(t.Context(), testID, gen.UpdateOAuthConnectionRequest{Label: tt.label}))
			sent := len(p.received())
			switch {
			case tt.wantErr && (err == nil || !strings.Contains(err.Error(), "UTF-8")):
				t.Errorf("err = %v, want an error saying the label is not UTF-8", err)
			case tt.wantErr && sent != 0:
				t.Errorf("the server got %d requests, want none", sent)
			case !tt.wantErr && (err != nil || sent != 1):
				t.Errorf("err = %v, %d requests sent; want the update sent", err, sent)
			}
		})
	}
}

func TestCancellingStopsRetrying(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply reply
	}{
		{name: "during an attempt", reply: reply{hang: true}},
		{name: "while waiting out a Retry-After", reply: reply{status: 503, retryAfter: "30", body: `{"message":"Service Unavailable"}`}},
		{name: "while backing off", reply: jsonError(500, "Server Error")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPlannr(t, tt.reply)
			// MinWait far beyond the test: only the cancellation can end it.
			c := newClient(t, p.url, WithRetryPolicy(RetryPolicy{MaxRetries: 4, MinWait: time.Minute}))
			// Cancelled, not a deadline: a retry past a deadline is not
			// waited for at all (TestNoRetryPastTheDeadline).
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			_, err := c.DeleteOAuthConnectionWithResponse(ctx, testID)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("took %v to stop after the context ended", elapsed)
			}
			if n := len(p.received()); n != 1 {
				t.Errorf("attempts = %d, want 1", n)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply reply
		call  op
		want  *APIError // nil: no error
	}{
		{name: "200 list", reply: reply{status: 200, body: `{"data":[` + connection + `]}`}, call: list},
		{name: "200 update", reply: reply{status: 200, body: connection}, call: update},
		{name: "204 delete", reply: reply{status: 204}, call: remove},
		{name: "401", reply: jsonError(401, "Unauthenticated."), call: list, want: &APIError{StatusCode: 401, Message: "Unauthenticated."}},
		{name: "404", reply: jsonError(404, "OAuth2 connection not found."), call: remove, want: &APIError{StatusCode: 404, Message: "OAuth2 connection not found."}},
		{
			name: "422 with field errors", reply: reply{status: 422, body: validation}, call: update,
			want: &APIError{
				StatusCode: 422, Message: "The label field must not be greater than 255 characters.",
				Errors: map[string][]string{"label": {"The label field must not be greater than 255 characters."}},
			},
		},
		{name: "503 without a body", reply: reply{status: 503, contentType: "text/plain"}, call: list, want: &APIError{StatusCode: 503, Message: "Service Unavailable"}},
		{name: "502 in HTML", reply: reply{status: 502, contentType: "text/html", body: "<h1>Bad Gateway</h1>"}, call: update, want: &APIError{StatusCode: 502, Message: "Bad Gateway"}},
		// Answers that say they are JSON and are not the API's error shape,
		// which gen fails to decode.
		{name: "401 said to be JSON, empty", reply: reply{status: 401}, call: list, want: &APIError{StatusCode: 401, Message: "Unauthorized"}},
		{name: "502 said to be JSON, empty", reply: reply{status: 502}, call: update, want: &APIError{StatusCode: 502, Message: "Bad Gateway"}},
		{name: "404 said to be JSON, in HTML", reply: reply{status: 404, body: "<h1>Not Found</h1>"}, call: remove, want: &APIError{StatusCode: 404, Message: "Not Found"}},
		{
			name: "422 whose errors is an array", reply: reply{status: 422, body: `{"message":"The given data was invalid.","errors":["label"]}`}, call: update,
			want: &APIError{StatusCode: 422, Message: "The given data was invalid."},
		},
		{name: "500 whose message is not a string", reply: reply{status: 500, body: `{"message":{"text":"Server Error"}}`}, call: list, want: &APIError{StatusCode: 500, Message: "Internal Server Error"}},
		{name: "400 of a JSON array", reply: reply{status: 400, body: `[]`}, call: update, want: &APIError{StatusCode: 400, Message: "Bad Request"}},
		{name: "unknown status", reply: reply{status: 599}, call: list, want: &APIError{StatusCode: 599, Message: "unknown status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPlannr(t, tt.reply)
			err := tt.call(t.Context(), newClient(t, p.url, WithRetryPolicy(RetryPolicy{MaxRetries: 0})))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want an *APIError", err, err)
			}
			if !reflect.DeepEqual(apiErr, tt.want) {
				t.Errorf("got %+v, want %+v", apiErr, tt.want)
			}
		})
	}
}

// TestUnreadableHeadersKeepTheAnswer: a header that the spec types as an
// integer and gen cannot bind (a Retry-After as an HTTP date, a garbled
// X-RateLimit-*) costs no operation its answer. The date becomes seconds;
// any other value is removed.
func TestUnreadableHeadersKeepTheAnswer(t *testing.T) {
	t.Parallel()
	tooMany := reply{status: 429, body: `{"message":"Too Many Attempts."}`}
	ops := []struct {
		name    string
		success reply
		call    func(context.Context, *gen.ClientWithResponses) (*http.Response, error)
	}{
		{name: "list", success: reply{status: 200, body: `{"data":[]}`}, call: func(ctx context.Context, c *gen.ClientWithResponses) (*http.Response, error) {
			r, err := Check(c.ListOAuthConnectionsWithResponse(ctx))
			if r == nil {
				return nil, err
			}
			return r.HTTPResponse, err
		}},
		{name: "update", success: reply{status: 200, body: connection}, call: func(ctx context.Context, c *gen.ClientWithResponses) (*http.Response, error) {
			r, err := Check(c.UpdateOAuthConnectionWithResponse(ctx, testID, label))
			if r == nil {
				return nil, err
			}
			return r.HTTPResponse, err
		}},
		{name: "delete", success: reply{status: 204}, call: func(ctx context.Context, c *gen.ClientWithResponses) (*http.Response, error) {
			r, err := Check(c.DeleteOAuthConnectionWithResponse(ctx, testID))
			if r == nil {
				return nil, err
			}
			return r.HTTPResponse, err
		}},
	}
	tests := []struct {
		name   string
		limit  bool   // the answer is a 429; else the operation's success
		date   bool   // Retry-After is an HTTP date 2 s ahead
		header string // the header looked at
		value  string // the header's value, unless date
		// want lists the values the caller may read; nil: the header is gone.
		want []string
	}{
		// An HTTP date has whole seconds: 2 s ahead is 1 to 2 s ahead.
		{name: "Retry-After as an HTTP date", limit: true, date: true, header: "Retry-After", want: []string{"1", "2"}},
		{name: "Retry-After in seconds", limit: true, header: "Retry-After", value: "30", want: []string{"30"}},
		{name: "Retry-After unreadable", limit: true, header: "Retry-After", value: "soon"},
		{name: "X-RateLimit-Limit not an integer on a 429", limit: true, header: "X-RateLimit-Limit", value: "60.0"},
		{name: "X-RateLimit-Limit not an integer", header: "X-RateLimit-Limit", value: "60.0"},
		{name: "X-RateLimit-Remaining empty", header: "X-RateLimit-Remaining", value: ""},
		{name: "X-RateLimit-Reset unreadable", header: "X-RateLimit-Reset", value: "soon"},
		{name: "X-RateLimit-Limit twice in one line", header: "X-RateLimit-Limit", value: "60, 60"},
		{name: "X-RateLimit-Limit readable", header: "X-RateLimit-Limit", value: "60", want: []string{"60"}},
	}
	for _, op := range ops {
		for _, tt := range tests {
			t.Run(op.name+": "+tt.name, func(t *testing.T) {
				t.Parallel()
				rep := op.success
				if tt.limit {
					rep = tooMany
				}
				if tt.date {
					rep.retryAfterDate = 2 * time.Second
				} else {
					rep.header = http.Header{tt.header: {tt.value}}
				}
				p := newPlannr(t, rep)
				c := newClient(t, p.url, WithRetryPolicy(RetryPolicy{}), WithoutPacing())
				resp, err := op.call(t.Context(), c)
				var apiErr *APIError
				switch {
				case resp == nil:
					t.Fatalf("no answer, err = %v; want the answer", err)
				case tt.limit && (!errors.As(err, &apiErr) || apiErr.StatusCode != 429):
					t.Errorf("err = %v, want the 429 as an *APIError", err)
				case !tt.limit && err != nil:
					t.Errorf("err = %v, want nil", err)
				}
				got := resp.Header.Values(tt.header)
				if tt.want == nil && len(got) != 0 || tt.want != nil && (len(got) != 1 || !slices.Contains(tt.want, got[0])) {
					t.Errorf("%s = %q, want one of %q", tt.header, got, tt.want)
				}
			})
		}
	}
}

func TestAPIErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  APIError
		want string
	}{
		{APIError{StatusCode: 404, Message: "OAuth2 connection not found."}, "plannr: HTTP 404: OAuth2 connection not found."},
		{
			APIError{StatusCode: 422, Message: "Bad label (and 1 more error)", Errors: map[string][]string{"label": {"Too long.", "Not a string."}, "body": {"Bad."}}},
			"plannr: HTTP 422: Bad label (and 1 more error) (body: Bad.; label: Too long. Not a string.)",
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MinWait: 100 * time.Millisecond, MaxWait: time.Second}.withDefaults()
	withRetryAfter := func(status int, v string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {v}}}
	}
	dated := func(resp *http.Response, date string) *http.Response {
		resp.Header.Set("Date", date)
		return resp
	}
	tests := []struct {
		name     string
		retry    int
		resp     *http.Response
		min, max time.Duration
		// whole: the wait is whole seconds.
		whole bool
	}{
		{name: "first retry", retry: 0, min: 100 * time.Millisecond, max: 100 * time.Millisecond},
		{name: "third retry, jittered", retry: 2, min: 200 * time.Millisecond, max: 400 * time.Millisecond},
		{name: "capped at MaxWait", retry: 10, min: 500 * time.Millisecond, max: time.Second},
		{name: "no overflow", retry: 200, min: 500 * time.Millisecond, max: time.Second},
		{name: "connection error", retry: 1, resp: nil, min: 100 * time.Millisecond, max: 200 * time.Millisecond},
		{name: "429 Retry-After seconds, past MaxWait", resp: withRetryAfter(429, "5"), min: 5 * time.Second, max: 5 * time.Second},
		{name: "503 Retry-After date", resp: withRetryAfter(503, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)), min: 59 * time.Minute, max: time.Hour},
		{name: "429 Retry-After date, from the server's Date, not the local clock", resp: dated(withRetryAfter(429, "Sat, 01 Jan 2000 00:00:30 GMT"), "Sat, 01 Jan 2000 00:00:00 GMT"), min: 30 * time.Second, max: 30 * time.Second},
		{name: "Retry-After date without Date: from the local clock, rounded up", resp: withRetryAfter(429, time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat)), min: 29 * time.Second, max: 30 * time.Second, whole: true},
		{name: "Retry-After of 10^12 s: clamped", resp: withRetryAfter(429, "1000000000000"), min: maxRetryAfter, max: maxRetryAfter},
		{name: "Retry-After past int64: clamped", resp: withRetryAfter(429, "99999999999999999999"), min: maxRetryAfter, max: maxRetryAfter},
		{name: "Retry-After date past time.Duration: clamped", resp: dated(withRetryAfter(503, "Fri, 31 Dec 9999 23:59:59 GMT"), "Sat, 01 Jan 2000 00:00:00 GMT"), min: maxRetryAfter, max: maxRetryAfter},
		{name: "Retry-After 0: MinWait", resp: withRetryAfter(429, "0"), min: 100 * time.Millisecond, max: 100 * time.Millisecond},
		{name: "Retry-After in the past: MinWait", resp: withRetryAfter(429, "Fri, 31 Dec 1999 23:59:59 GMT"), min: 100 * time.Millisecond, max: 100 * time.Millisecond},
		{name: "Retry-After on a 500 is ignored", retry: 0, resp: withRetryAfter(500, "5"), min: 100 * time.Millisecond, max: 100 * time.Millisecond},
		{name: "unreadable Retry-After", retry: 0, resp: withRetryAfter(429, "soon"), min: 100 * time.Millisecond, max: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		// Enough draws that a jitter outside the bounds would show.
		for range 100 {
			if got := p.wait(tt.retry, tt.resp); got < tt.min || got > tt.max || (tt.whole && got%time.Second != 0) {
				t.Errorf("%s: wait = %v, want %v to %v (whole seconds: %v)", tt.name, got, tt.min, tt.max, tt.whole)
				break
			}
		}
	}
}

// TestDocsTellTheRetryWaits holds what the package documentation and the
// README say of the waits between retries to the defaults, and to what
// TestWait and TestRetries hold wait to: a Retry-After is honoured, but never
// below MinWait.
func TestDocsTellTheRetryWaits(t *testing.T) {
	t.Parallel()
	seconds := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s" }
	for _, c := range []struct{ file, says string }{
		{"doc.go", fmt.Sprintf("exponential back-off from %s to %s with jitter, or the Retry-After of a 429 or 503, never less than %[1]s (DefaultMinWait)",
			seconds(DefaultMinWait), seconds(DefaultMaxWait))},
		{"../README.md", fmt.Sprintf("exponential back-off from %s to %s with jitter, or the `Retry-After` of a 429 or 503, never less than %[1]s.",
			seconds(DefaultMinWait), seconds(DefaultMaxWait))},
	} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		// The words alone, without line breaks or comment markers.
		words := strings.Join(slices.DeleteFunc(strings.Fields(string(b)), func(w string) bool { return w == "//" }), " ")
		if !strings.Contains(words, c.says) {
			t.Errorf("%s does not say, as the code has it: %s", c.file, c.says)
		}
	}
}

func TestNewRejectsMisconfiguration(t *testing.T) {
	t.Parallel()
	// shared paces testToken's requests to DefaultBaseURL.
	shared := NewPacer(0)
	if _, err := New(testToken, WithPacer(shared)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, baseURL string
		opts                 []Option
		wantSays             string // what the error must say, when it matters
	}{
		{name: "empty token", baseURL: DefaultBaseURL},
		{name: "token with a newline", token: "test\ntoken", baseURL: DefaultBaseURL, wantSays: "cannot be sent in a header"},
		{name: "token that smuggles a header", token: "test-token\r\nX-Admin: 1", baseURL: DefaultBaseURL, wantSays: "cannot be sent in a header"},
		{name: "token with NUL", token: "test\x00token", baseURL: DefaultBaseURL, wantSays: "cannot be sent in a header"},
		{name: "token with DEL", token: "test\x7ftoken", baseURL: DefaultBaseURL, wantSays: "cannot be sent in a header"},
		{name: "base URL without scheme", token: testToken, baseURL: "api.plannrcrm.com"},
		{name: "base URL of another scheme", token: testToken, baseURL: "ftp://api.plannrcrm.com"},
		{name: "unparsable base URL", token: testToken, baseURL: "https://api.plannrcrm.com/%zz"},
		{name: "base URL with a query", token: testToken, baseURL: "https://api.plannrcrm.com/?tenant=1"},
		{name: "base URL with a fragment", token: testToken, baseURL: "https://api.plannrcrm.com/#v1"},
		{name: "a pacer of another token", token: "other-token", baseURL: DefaultBaseURL, opts: []Option{WithPacer(shared)}},
		{name: "a pacer of another base URL", token: testToken, baseURL: "https://plannr.example", opts: []Option{WithPacer(shared)}},
		{name: "a pacer, and a window for the client's own", token: testToken, baseURL: DefaultBaseURL, opts: []Option{WithPacer(NewPacer(0)), WithRateWindow(time.Second)}},
		{name: "a pacer, and no pacing", token: testToken, baseURL: DefaultBaseURL, opts: []Option{WithPacer(NewPacer(0)), WithoutPacing()}},
	}
	for _, tt := range tests {
		_, err := New(tt.token, append([]Option{WithBaseURL(tt.baseURL)}, tt.opts...)...)
		switch {
		case err == nil:
			t.Errorf("%s: New succeeded, want an error", tt.name)
		case !strings.Contains(err.Error(), tt.wantSays):
			t.Errorf("%s: err = %v, want it to say %q", tt.name, err, tt.wantSays)
		case tt.token != "" && strings.Contains(err.Error(), tt.token):
			t.Errorf("%s: err = %v shows the token", tt.name, err)
		}
	}
}

func TestWithLogger(t *testing.T) {
	t.Parallel()
	p := newPlannr(t, jsonError(503, "Service Unavailable"), reply{status: 204})
	var buf bytes.Buffer
	// slog's handlers are safe for concurrent use; the buffer is read only
	// after the call.
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := remove(t.Context(), newClient(t, p.url, WithLogger(logger), WithRetryPolicy(fast))); err != nil {
		t.Fatal(err)
	}
	logs := buf.String()
	if !strings.Contains(logs, "retrying request") || !strings.Contains(logs, "status: 503") {
		t.Errorf("logs do not show the retry of the 503:\n%s", logs)
	}
	if strings.Contains(logs, testToken) {
		t.Errorf("logs show the token:\n%s", logs)
	}
}

// TestDefaultsAreTheSpecs holds the client's defaults that the spec states
// to the spec: they are constants, so that callers can use them as such, and
// a constant cannot be read from the embedded spec.
func TestDefaultsAreTheSpecs(t *testing.T) {
	doc := apispec.Doc()
	if len(doc.Servers) == 0 {
		t.Error("the spec names no server")
	} else if url := doc.Servers[0].URL; url != DefaultBaseURL {
		t.Errorf("DefaultBaseURL is %s; the spec's first server is %s", DefaultBaseURL, url)
	}
	if window := apispec.LimitsOf().RateWindow; window != DefaultRateWindow {
		t.Errorf("DefaultRateWindow is %s; the spec's rate window is %s", DefaultRateWindow, window)
	}
	// A 429 can be waited out once only if a call may outlast a window.
	if window := apispec.LimitsOf().RateWindow; DefaultMaxElapsed <= window {
		t.Errorf("DefaultMaxElapsed is %s, not past the spec's rate window of %s", DefaultMaxElapsed, window)
	}
}

// TestHeadersAreTheSpecs holds the names of the headers the client reads to
// the spec's, as HTTP compares them (in any case): a name misspelt would be
// a header never found, and a limit never learned.
func TestHeadersAreTheSpecs(t *testing.T) {
	declared := map[string]bool{}
	for name := range apispec.Doc().Components.Headers {
		declared[http.CanonicalHeaderKey(name)] = true
	}
	for _, name := range []string{headerLimit, headerRemaining, headerReset, headerRetryAfter} {
		if !declared[http.CanonicalHeaderKey(name)] {
			t.Errorf("the client reads %s, a header the spec's components.headers does not declare", name)
		}
	}
}
