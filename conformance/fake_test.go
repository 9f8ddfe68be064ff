package conformance_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plannr-toolkit/plannr-oauth/conformance"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// The tokens of the fake's two users: with a slash, a plus and padding, which
// answers may write escaped (\/, \u002b, %2F), so that the tests show they
// never reach a report in any spelling.
const (
	firstToken = "alice.tok/en+1=="
	otherToken = "bob~tok/en+2="
)

var (
	// otherConn is the other user's connection.
	otherConn = uuid.MustParse("c0ffee00-1234-4abc-8def-0123456789ab")
	// summer is when the first user's first connection was made: London is
	// then at +01:00, so that a timestamp in UTC is not the account's offset.
	summer = time.Date(2025, 6, 25, 14, 10, 48, 0, time.UTC)
	expiry = time.Date(2025, 6, 25, 18, 10, 48, 890170000, time.UTC)
)

// zone is the account zone of plannrtest's users.
const zone = "Europe/London"

func ptr[T any](v T) *T { return &v }

// listPath is the path of the list, as the spec has it.
var listPath = apispec.Operations()[slices.IndexFunc(apispec.Operations(), func(op apispec.Operation) bool { return op.Method == http.MethodGet })].Path

// users are the fake's data by default: the first user owns a connection
// made in summer, with a label and expiries, and one made now; the other
// user owns one.
func users() []plannrtest.Option {
	return []plannrtest.Option{
		plannrtest.WithoutDefaultUser(),
		plannrtest.WithUser(firstToken,
			plannrtest.Connection{Label: ptr("My Fundment Account 1"), CreatedAt: summer, AccessTokenExpiresAt: &expiry, RefreshTokenExpiresAt: ptr(expiry.AddDate(1, 0, 0))},
			plannrtest.Connection{}),
		plannrtest.WithUser(otherToken, plannrtest.Connection{UUID: otherConn}),
	}
}

// fakeServer is plannrtest's server, our own, maybe behind a wrapper that
// breaks a rule, and the target that points the kit at it.
type fakeServer struct {
	*plannrtest.Server
	target conformance.Target
}

// wrapper puts a server right or wrong in some way in front of next, the
// proxy to srv.
type wrapper func(next http.Handler, srv *plannrtest.Server) http.Handler

// fake starts plannrtest's server with opts (users() when none), behind
// wrap when it is not nil. The server checks its own answers against the
// spec too, and fails t on a violation.
func fake(t *testing.T, wrap wrapper, opts ...plannrtest.Option) fakeServer {
	t.Helper()
	if len(opts) == 0 {
		opts = users()
	}
	srv := plannrtest.NewServer(t, opts...)
	base := srv.URL
	if wrap != nil {
		front := httptest.NewServer(wrap(proxyTo(t, srv.URL), srv))
		t.Cleanup(front.Close)
		base = front.URL
	}
	return fakeServer{srv, conformance.Target{BaseURL: base, Token: firstToken, OtherToken: otherToken, Zone: zone, OtherZone: zone, Budget: -1}}
}

// proxyTo forwards every request to base as it came, an encoded slash
// included.
func proxyTo(t *testing.T, base string) http.Handler {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }}
}

// state is every user's connections, read from the store, not the API.
func (s fakeServer) state(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(map[string][]plannrtest.Connection{firstToken: s.Connections(firstToken), otherToken: s.Connections(otherToken)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// answer is a response a wrapper may change before it goes.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// onAnswer wraps a handler so that edit may change each answer.
func onAnswer(edit func(r *http.Request, a *answer)) wrapper {
	return func(next http.Handler, _ *plannrtest.Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			a := &answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
			edit(r, a)
			for k, v := range a.header {
				w.Header()[k] = v
			}
			// A HEAD's length is the GET's, which edit may have changed.
			if r.Method == http.MethodHead {
				w.Header().Del("Content-Length")
			} else {
				w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
			}
			w.WriteHeader(a.status)
			_, _ = w.Write(a.body)
		})
	}
}

// onRequest wraps a handler so that edit may change each request first; it
// may answer it itself, by returning true.
func onRequest(edit func(w http.ResponseWriter, r *http.Request) bool) wrapper {
	return func(next http.Handler, _ *plannrtest.Server) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !edit(w, r) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// setError makes a the Error body with status and message.
func (a *answer) setError(status int, message string) {
	a.status, a.body = status, mustJSON(map[string]string{"message": message})
	a.header.Set("Content-Type", "application/json")
}

// writeError answers with the Error body.
func writeError(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(body))
}

// editConnections applies f to each connection of a list or PUT answer.
func (a *answer) editConnections(f func(conn map[string]any)) {
	if a.status != http.StatusOK || len(a.body) == 0 {
		return
	}
	var v map[string]any
	if json.Unmarshal(a.body, &v) != nil {
		return
	}
	if data, ok := v["data"].([]any); ok {
		for _, c := range data {
			f(c.(map[string]any))
		}
	} else if _, ok := v["uuid"]; ok {
		f(v)
	}
	a.body = mustJSON(v)
}

// editBody applies f to a request's JSON body, if it is an object.
func editBody(r *http.Request, f func(m map[string]any)) {
	if r.Body == nil {
		return
	}
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		f(m)
		body = mustJSON(m)
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
}

// timestamp edits a timestamp member of conn with f.
func timestamp(conn map[string]any, name string, f func(time.Time) string) {
	s, ok := conn[name].(string)
	if !ok {
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		conn[name] = f(t)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// outcomes runs target and returns the report and the checks of each
// outcome.
func outcomes(t *testing.T, target conformance.Target) (*conformance.Report, map[conformance.Outcome][]string) {
	t.Helper()
	rep, err := conformance.Execute(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	got := map[conformance.Outcome][]string{}
	for _, res := range rep.Results {
		got[res.Outcome] = append(got[res.Outcome], res.Check)
	}
	return rep, got
}

// failures renders the failures of rep, for a test's log.
func failures(rep *conformance.Report) string {
	var b strings.Builder
	for _, res := range rep.Results {
		for _, f := range res.Failures {
			b.WriteString(res.Check + ":\n" + f.String())
		}
	}
	return b.String()
}

// expectPass fails t unless every check that ran on target passed, and
// none skipped but those skip names.
func expectPass(t *testing.T, target conformance.Target, skip ...string) *conformance.Report {
	t.Helper()
	rep, got := outcomes(t, target)
	if len(got[conformance.Fail]) > 0 {
		t.Errorf("failed %v:\n%s", got[conformance.Fail], failures(rep))
	}
	if !slices.Equal(got[conformance.Skip], skip) {
		t.Errorf("skipped %v, want %v", got[conformance.Skip], skip)
	}
	return rep
}
