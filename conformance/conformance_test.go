package conformance_test

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plannr-toolkit/plannr-oauth/conformance"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// TestOurServer runs every check, the opt-in drive included, against
// plannrtest: each must pass, and none skip.
func TestOurServer(t *testing.T) {
	target := fake(t, nil).target
	rep := expectPass(t, target)
	// A run without Run leaves out the opt-in drive; with one, it runs.
	if slices.ContainsFunc(rep.Results, func(r conformance.Result) bool { return r.Check == "ratelimit_drive" }) {
		t.Error("ratelimit_drive ran without being asked for")
	}
	target.Run = "ratelimit_drive"
	if _, got := outcomes(t, target); !slices.Equal(got[conformance.Pass], []string{"ratelimit_drive"}) {
		t.Errorf("-run ratelimit_drive: %v, want it alone to pass", got)
	}
}

// TestRun runs the checks as subtests, as an implementation's own test would.
func TestRun(t *testing.T) {
	target := fake(t, nil).target
	target.Run = "^(label_|tenant_isolation$)"
	conformance.Run(t, target)
}

// TestRightInAnotherWay runs every check against servers that differ from
// ours where the spec leaves a choice open: each must pass.
func TestRightInAnotherWay(t *testing.T) {
	routeNotFound := apispec.MessagesOf().RouteNotFound
	for _, tc := range []struct {
		name     string
		wrap     wrapper
		prefix   string
		readOnly bool
	}{
		{name: "X-RateLimit-Reset only on a 429, as Laravel sends it", wrap: onAnswer(func(_ *http.Request, a *answer) {
			if a.status != http.StatusTooManyRequests {
				a.header.Del("X-RateLimit-Reset")
			}
		})},
		{name: "a Bearer challenge with another realm and an error", wrap: onAnswer(func(_ *http.Request, a *answer) {
			if a.status == http.StatusUnauthorized {
				a.header.Set("WWW-Authenticate", `Bearer realm="plannr", error="invalid_token"`)
			}
		})},
		{name: "the API under a path", prefix: "/plannr", wrap: func(next http.Handler, _ *plannrtest.Server) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, ok := strings.CutPrefix(r.URL.Path, "/plannr/")
				if !ok {
					writeError(w, http.StatusNotFound, map[string]string{"message": routeNotFound})
					return
				}
				r.URL.Path = "/" + p
				r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, "/plannr")
				next.ServeHTTP(w, r)
			})
		}},
		{name: "null labels left out of lists, as Plannr's examples do", wrap: onAnswer(func(r *http.Request, a *answer) {
			if r.Method == http.MethodGet {
				a.editConnections(func(conn map[string]any) {
					if conn["label"] == nil {
						delete(conn, "label")
					}
				})
			}
		})},
		{name: "no refresh_authorization_url", wrap: onAnswer(func(_ *http.Request, a *answer) {
			a.editConnections(func(conn map[string]any) { delete(conn, "refresh_authorization_url") })
		})},
		{name: "the UUID of refresh_authorization_url in upper case", wrap: onAnswer(func(_ *http.Request, a *answer) {
			a.editConnections(func(conn map[string]any) {
				if url, ok := conn["refresh_authorization_url"].(string); ok {
					i := strings.LastIndexByte(url, '/')
					conn["refresh_authorization_url"] = url[:i] + strings.ToUpper(url[i:])
				}
			})
		})},
		{name: "OPTIONS in Allow", wrap: onAnswer(func(_ *http.Request, a *answer) {
			if allow := a.header.Get("Allow"); allow != "" {
				a.header.Set("Allow", allow+", OPTIONS")
			}
		})},
		// Headers the spec does not declare may vary from answer to answer.
		{name: "a trace id on every answer", wrap: onAnswer(func(_ *http.Request, a *answer) {
			a.header.Set("X-Trace-Id", uuid.NewString())
		})},
		// Members the schemas do not declare, new on every answer: only the
		// schemas' members are the spec's.
		{name: "undeclared members that change on every answer", wrap: onAnswer(func(_ *http.Request, a *answer) {
			var v map[string]any
			if json.Unmarshal(a.body, &v) != nil {
				return
			}
			v["request"] = uuid.NewString()
			a.body = mustJSON(v)
			a.editConnections(func(conn map[string]any) {
				conn["fetched"] = uuid.NewString()
				conn["provider"].(map[string]any)["status"] = uuid.NewString()
			})
		})},
		// format: uri is RFC 3986, which Go's url.Parse is not: it refuses a
		// percent-encoded host.
		{name: "a provider's URL with a percent-encoded host", wrap: onAnswer(func(_ *http.Request, a *answer) {
			a.editConnections(func(conn map[string]any) {
				conn["provider"].(map[string]any)["logo_url"] = "https://%61pi.plannrcrm.com/imgs/fundment-banner.png"
			})
		})},
		{name: "the UUID looked up before the body", wrap: lookUpFirst},
		{name: "the UUID looked up before the body, -readonly", wrap: lookUpFirst, readOnly: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := fake(t, tc.wrap)
			target := srv.target
			target.BaseURL += tc.prefix
			target.ReadOnly = tc.readOnly
			if tc.readOnly {
				before := srv.state(t)
				rep := expectPass(t, target, writes()...)
				if after := srv.state(t); after != before {
					t.Errorf("-readonly changed the data:\nbefore %s\nafter  %s", before, after)
				}
				t.Logf("%d requests", rep.Requests)
				return
			}
			expectPass(t, target)
			target.Run = "ratelimit_drive"
			expectPass(t, target)
		})
	}
}

// TestWindowEndsMidCheck runs ratelimit_headers against a server whose window
// closes in the middle of it: X-RateLimit-Remaining starts again from the
// limit less one, or less when the user's other clients spent some of the
// new window first, and the check passes, with X-RateLimit-Reset or, as
// Laravel, without.
func TestWindowEndsMidCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reset bool
		spent int64
	}{
		{"with X-RateLimit-Reset", true, 0},
		{"without X-RateLimit-Reset", false, 0},
		{"other traffic first, with X-RateLimit-Reset", true, 2},
		{"other traffic first, without X-RateLimit-Reset", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target := fake(t, newWindowAtDelete(tc.reset, tc.spent)).target
			target.Run = "^ratelimit_headers$"
			expectPass(t, target)
		})
	}
}

// TestRateLimitAsTheSpecAllows runs the rate-limit checks, the drive
// included, against servers whose X-RateLimit-* headers differ from ours
// where the spec leaves them free: each must pass.
func TestRateLimitAsTheSpecAllows(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap wrapper
		opts []plannrtest.Option
		// run picks the checks; the rate-limit checks by default.
		run string
	}{
		// X-RateLimit-Limit is at least 1; x-limits is Plannr's.
		{name: "a limit other than x-limits'", opts: append(users(), plannrtest.WithRateLimit(apispec.LimitsOf().RateLimit/2, time.Minute))},
		// Another client of the first user's spends requests between the kit's.
		{name: "other traffic of the same user", wrap: func(next http.Handler, _ *plannrtest.Server) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") == "Bearer "+firstToken && r.Method == http.MethodDelete {
					other := httptest.NewRequestWithContext(r.Context(), http.MethodGet, listPath, nil)
					other.Header.Set("Authorization", r.Header.Get("Authorization"))
					next.ServeHTTP(httptest.NewRecorder(), other)
				}
				next.ServeHTTP(w, r)
			})
		}, run: "^ratelimit_headers$"},
		// Other clients of the first user's spend its budget during the
		// drive: in step with the kit, or at their own pace.
		{name: "another client in step with the drive", wrap: inStep(1), run: "^ratelimit_drive$"},
		{name: "another client spending two in step with the drive", wrap: inStep(2), run: "^ratelimit_drive$"},
		{name: "another client concurrently", wrap: concurrently(1, 200*time.Microsecond), run: "^ratelimit_drive$"},
		{name: "three other clients concurrently", wrap: concurrently(3, time.Millisecond), run: "^ratelimit_drive$"},
		// The window closes in the middle of the drive, and other clients
		// spend some of the new one first; with X-RateLimit-Reset or, as
		// Laravel, without.
		{name: "a window that turns over mid-drive", opts: turnover.opts, wrap: slowAtTurnover(20, turnover.window, 3), run: "^ratelimit_drive$"},
		{name: "a window that turns over mid-drive, without X-RateLimit-Reset", opts: turnover.opts, wrap: chain(onAnswer(func(_ *http.Request, a *answer) {
			if a.status != http.StatusTooManyRequests {
				a.header.Del("X-RateLimit-Reset")
			}
		}), slowAtTurnover(20, turnover.window, 3)), run: "^ratelimit_drive$"},
		// Laravel says 0 in a window's last second; the schema's minimum is 0.
		{name: "Retry-After 0 in a window's last second", wrap: onAnswer(func(_ *http.Request, a *answer) {
			if a.status != http.StatusTooManyRequests {
				return
			}
			at, err := http.ParseTime(a.header.Get("Date"))
			if err != nil {
				at = time.Now()
			}
			a.header.Set("Retry-After", "0")
			a.header.Set("X-RateLimit-Reset", strconv.FormatInt(at.Unix(), 10))
		}), run: "^ratelimit_drive$"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target := fake(t, tc.wrap, tc.opts...).target
			target.Run = cmp.Or(tc.run, "^ratelimit_")
			expectPass(t, target)
		})
	}
}

// turnover is a server whose windows are short enough for a test to wait
// one out.
var turnover = struct {
	window time.Duration
	opts   []plannrtest.Option
}{1500 * time.Millisecond, append(users(), plannrtest.WithRateLimit(50, 1500*time.Millisecond))}

// newWindowAtDelete opens a new window for the first user at its first
// DELETE, of which the user's other clients have spent spent requests:
// X-RateLimit-Remaining counts down from the limit less one, less spent,
// again. X-RateLimit-Reset, if kept, shows the window before as opened a
// second before the server's, so that the new one closes later.
func newWindowAtDelete(reset bool, spent int64) wrapper {
	shift := int64(-1) // added to the server's count once the window is new
	limit := int64(apispec.LimitsOf().RateLimit)
	return onFirstUsersRemaining(func(r *http.Request, a *answer, left int64) {
		if shift < 0 && r.Method == http.MethodDelete {
			shift = limit - 1 - spent - left
		}
		if shift >= 0 {
			a.header.Set("X-RateLimit-Remaining", strconv.FormatInt(left+shift, 10))
		} else if at, err := strconv.ParseInt(a.header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			a.header.Set("X-RateLimit-Reset", strconv.FormatInt(at-1, 10))
		}
		if !reset {
			a.header.Del("X-RateLimit-Reset")
		}
	})
}

// onFirstUsersRemaining calls f, one call at a time, on each answer to the
// first user that holds an X-RateLimit-Remaining, with its value.
func onFirstUsersRemaining(f func(r *http.Request, a *answer, left int64)) wrapper {
	var mu sync.Mutex
	return onAnswer(func(r *http.Request, a *answer) {
		left, err := strconv.ParseInt(a.header.Get("X-RateLimit-Remaining"), 10, 64)
		if err != nil || r.Header.Get("Authorization") != "Bearer "+firstToken {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		f(r, a, left)
	})
}

// lookUpFirst answers a PUT to a connection the user does not own with the
// 404, whatever its body, as a server that binds the model before it
// validates does: it sends the server an empty body in its place.
func lookUpFirst(next http.Handler, srv *plannrtest.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := uuid.Parse(path.Base(r.URL.Path))
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if err == nil && r.Method == http.MethodPut && (token == firstToken || token == otherToken) &&
			!slices.ContainsFunc(srv.Connections(token), func(c plannrtest.Connection) bool { return c.UUID == id }) {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(`{}`)), 2
			r.Header.Set("Content-Type", "application/json")
		}
		next.ServeHTTP(w, r)
	})
}

// writes are the checks that -readonly skips, but the opt-in drive.
func writes() []string {
	var names []string
	for _, c := range conformance.Checks() {
		if c.Writes && !c.OptIn {
			names = append(names, c.Name)
		}
	}
	return names
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
		"use_after_free":   "the first user (-token) needs a connection to delete beside the one whose label the checks change; it has 1",
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
	srv := plannrtest.NewServer(t, plannrtest.WithUser(otherToken))
	for _, tc := range []struct {
		name   string
		target conformance.Target
		err    string
	}{
		{"no other token", conformance.Target{BaseURL: srv.URL, Token: srv.Token}, "are required"},
		{"the same tokens", conformance.Target{BaseURL: srv.URL, Token: srv.Token, OtherToken: srv.Token}, "two users' tokens"},
		{"a bad -run", conformance.Target{BaseURL: srv.URL, Token: srv.Token, OtherToken: otherToken, Run: "("}, "Run:"},
		{"an unknown zone", conformance.Target{BaseURL: srv.URL, Token: srv.Token, OtherToken: otherToken, OtherZone: "Europe/Nowhere"}, "OtherZone:"},
		{"an unknown user", conformance.Target{BaseURL: srv.URL, Token: srv.Token, OtherToken: "nobody-token"}, "listing the connections of <other-token>"},
		{"no server", conformance.Target{BaseURL: "http://127.0.0.1:1", Token: srv.Token, OtherToken: otherToken}, "an answer; got"},
	} {
		if rep, err := conformance.Execute(t.Context(), tc.target); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want an error with %q (report %+v)", tc.name, err, tc.err, rep)
		}
	}
}

// servedKey keys a connection's count of the requests it has served.
type servedKey struct{}

// TestBudgetCountsResends has a server drop the connection, once it has read
// the request, of every n-th GET, HEAD or OPTIONS that comes on a reused
// one: net/http sends each again, on a new connection, inside RoundTrip.
// Every request the server gets is one the kit counted and paced.
func TestBudgetCountsResends(t *testing.T) {
	const budget = 6000 // a minute: one request each 10 ms, for a quick test
	for _, tc := range []struct {
		name  string
		every int
	}{
		{"every 4th", 4},
		{"every one", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			proxy := proxyTo(t, plannrtest.NewServer(t, users()...).URL)
			var mu sync.Mutex
			var got, reused, dropped int
			front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served := r.Context().Value(servedKey{}).(*int) // a connection serves one request at a time
				*served++
				mu.Lock()
				got++
				drop := *served > 1 && slices.Contains([]string{http.MethodGet, http.MethodHead, http.MethodOptions}, r.Method)
				if drop {
					reused++
					drop = reused%tc.every == 0
				}
				mu.Unlock()
				if drop {
					if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
						mu.Lock()
						dropped++
						mu.Unlock()
						conn.Close()
						return
					}
				}
				proxy.ServeHTTP(w, r)
			}))
			front.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
				return context.WithValue(ctx, servedKey{}, new(int))
			}
			front.Start()
			t.Cleanup(front.Close)
			target := conformance.Target{BaseURL: front.URL, Token: firstToken, OtherToken: otherToken, Zone: zone, OtherZone: zone, ReadOnly: true, Budget: budget}

			start := time.Now()
			rep := expectPass(t, target, writes()...)
			elapsed := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if dropped == 0 {
				t.Fatal("no connection dropped: the test shows nothing")
			}
			if got != rep.Requests {
				t.Errorf("the server got %d requests (%d sent again), the kit counted %d", got, dropped, rep.Requests)
			}
			// Each request the kit counted took a slot of its own.
			if interval := time.Minute / budget; elapsed < time.Duration(got-1)*interval {
				t.Errorf("%d requests in %v, want at least %v between each", got, elapsed, interval)
			}
		})
	}
}
