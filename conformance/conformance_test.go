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
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

const otherToken = "conformance-other-token"

// otherConn is the other user's connection.
var otherConn = uuid.MustParse("c0ffee00-1234-4abc-8def-0123456789ab")

// fake starts plannrtest's server with the users the kit needs: the default
// user, given a second connection, and another user with one. The server
// checks its own answers against the spec too, and fails t on a violation.
func fake(t *testing.T, opts ...plannrtest.Option) conformance.Target {
	t.Helper()
	opts = append([]plannrtest.Option{
		plannrtest.WithUser(plannrtest.DefaultToken, plannrtest.Connection{}),
		plannrtest.WithUser(otherToken, plannrtest.Connection{UUID: otherConn}),
	}, opts...)
	srv := plannrtest.NewServer(t, opts...)
	return conformance.Target{BaseURL: srv.URL, Token: srv.Token, OtherToken: otherToken}
}

// outcomes runs target and returns the checks of each outcome.
func outcomes(t *testing.T, target conformance.Target) map[conformance.Outcome][]string {
	t.Helper()
	rep, err := conformance.Execute(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	got := map[conformance.Outcome][]string{}
	for _, res := range rep.Results {
		got[res.Outcome] = append(got[res.Outcome], res.Check)
		if res.Outcome == conformance.Fail {
			var b strings.Builder
			for _, f := range res.Failures {
				b.WriteString(f.String())
			}
			t.Errorf("%s failed:\n%s", res.Check, b.String())
		}
	}
	return got
}

// TestOurServer runs every check, the opt-in drive included, against
// plannrtest: each must pass.
func TestOurServer(t *testing.T) {
	got := outcomes(t, fake(t))
	if len(got[conformance.Skip]) > 0 {
		t.Errorf("skipped %v: the fake has every user and connection the checks need", got[conformance.Skip])
	}
	// A run without Run leaves out the opt-in drive; with one, it runs.
	if slices.Contains(got[conformance.Pass], "ratelimit_drive") {
		t.Error("ratelimit_drive ran without being asked for")
	}
	drive := outcomes(t, conformance.Target{Run: "ratelimit_drive", BaseURL: fake(t, plannrtest.WithRateLimit(40, time.Minute)).BaseURL,
		Token: plannrtest.DefaultToken, OtherToken: otherToken})
	if !slices.Equal(drive[conformance.Pass], []string{"ratelimit_drive"}) {
		t.Errorf("-run ratelimit_drive: %v, want it alone to pass", drive)
	}
}

// TestRun runs the checks as subtests, as an implementation's own test would.
func TestRun(t *testing.T) {
	target := fake(t)
	target.Run = "^(label_|tenant_isolation$)"
	conformance.Run(t, target)
}

// TestSkips checks that checks which lack data say so rather than pass.
func TestSkips(t *testing.T) {
	srv := plannrtest.NewServer(t, plannrtest.WithUser(otherToken))
	rep, err := conformance.Execute(t.Context(), conformance.Target{
		BaseURL: srv.URL, Token: srv.Token, OtherToken: otherToken,
		Run: "^(tenant_isolation|use_after_free|label_set)$",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"tenant_isolation": "the other user (-other-token) has no connection",
		"label_set":        "",
		"use_after_free":   "the first user (-token) needs two connections, one to delete and one for the other checks; it has 1",
	}
	for _, res := range rep.Results {
		if res.Reason != want[res.Check] || (res.Reason == "") != (res.Outcome == conformance.Pass) {
			t.Errorf("%s: %s (%q), want reason %q", res.Check, res.Outcome, res.Reason, want[res.Check])
		}
	}
	if len(rep.Results) != len(want) {
		t.Errorf("ran %d checks, want %d", len(rep.Results), len(want))
	}
}

func TestExecuteRefuses(t *testing.T) {
	srv := plannrtest.NewServer(t)
	for name, target := range map[string]conformance.Target{
		"no other token":  {BaseURL: srv.URL, Token: srv.Token},
		"the same tokens": {BaseURL: srv.URL, Token: srv.Token, OtherToken: srv.Token},
		"a bad -run":      {BaseURL: srv.URL, Token: srv.Token, OtherToken: otherToken, Run: "("},
		"an unknown user": {BaseURL: srv.URL, Token: srv.Token, OtherToken: otherToken},
		"no server":       {BaseURL: "http://127.0.0.1:1", Token: srv.Token, OtherToken: otherToken},
	} {
		if rep, err := conformance.Execute(t.Context(), target); err == nil {
			t.Errorf("%s: a report of %d checks, want an error", name, len(rep.Results))
		}
	}
}

// mutant is our server with one defect, put in by a proxy in front of it.
type mutant struct {
	name string
	// caughtBy is the check that must fail on the mutant (and pass without it).
	caughtBy string
	opts     []plannrtest.Option
	request  func(*http.Request)
	response func(*http.Response)
}

var mutants = []mutant{
	{
		name: "tenancy answered 403", caughtBy: "tenant_isolation",
		response: func(resp *http.Response) {
			if resp.StatusCode == http.StatusNotFound && strings.HasSuffix(resp.Request.URL.Path, otherConn.String()) {
				setBody(resp, http.StatusForbidden, "application/json", `{"message":"This action is unauthorized."}`)
			}
		},
	},
	{
		name: "null ignored", caughtBy: "label_null_clears",
		request: func(r *http.Request) {
			if r.Body == nil {
				return
			}
			body, _ := io.ReadAll(r.Body)
			var m map[string]any
			if json.Unmarshal(body, &m) == nil {
				if v, ok := m["label"]; ok && v == nil {
					delete(m, "label")
					body, _ = json.Marshal(m)
				}
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		},
	},
	{
		name: "a text/plain 404", caughtBy: "path_uuid",
		response: func(resp *http.Response) {
			if resp.StatusCode == http.StatusNotFound {
				setBody(resp, http.StatusNotFound, "text/plain; charset=utf-8", "404 page not found\n")
			}
		},
	},
	{
		name: "rate-limit headers dropped", caughtBy: "ratelimit_headers",
		response: func(resp *http.Response) {
			for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
				resp.Header.Del(h)
			}
		},
	},
	{
		// The clock stops at the seeded connection's updated_at.
		name: "updated_at frozen", caughtBy: "timestamps",
		opts: []plannrtest.Option{plannrtest.WithClock(func() time.Time { return time.Date(2025, 6, 25, 14, 10, 48, 0, time.UTC) })},
	},
}

func setBody(resp *http.Response, status int, contentType, body string) {
	resp.StatusCode, resp.Status = status, http.StatusText(status)
	resp.Header.Set("Content-Type", contentType)
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Body, resp.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
}

// TestMutants checks that each defect is caught by the check named for it,
// which passes on our server as it is.
func TestMutants(t *testing.T) {
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			run := "^" + m.caughtBy + "$"
			clean := fake(t)
			clean.Run = run
			if got := outcomes(t, clean); !slices.Equal(got[conformance.Pass], []string{m.caughtBy}) {
				t.Fatalf("without the defect: %v, want %s to pass", got, m.caughtBy)
			}
			target := fake(t, m.opts...)
			target.BaseURL, target.Run = proxy(t, target.BaseURL, m), run
			rep, err := conformance.Execute(t.Context(), target)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Results) != 1 || rep.Results[0].Outcome != conformance.Fail || rep.Passed() {
				t.Fatalf("with the defect: %+v, want %s to fail", rep.Results, m.caughtBy)
			}
			t.Logf("%s: %s", m.caughtBy, rep.Results[0].Failures[0].Expected)
		})
	}
}

// proxy serves base through m's defect.
func proxy(t *testing.T, base string, m mutant) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		if m.request != nil {
			m.request(pr.Out)
		}
	}}
	if m.response != nil {
		p.ModifyResponse = func(resp *http.Response) error {
			m.response(resp)
			return nil
		}
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}
