package plannrtest_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// maxLabel is the spec's maxLength of a label, and tooLong the API's 422
// message for one longer.
var (
	maxLabel = plannroauth.LabelMaxLength()
	tooLong  = apispec.Format(apispec.MessagesOf().Validation["maxLength"], "attribute", "label", "max", strconv.Itoa(maxLabel))
)

// fixedNow is the server's clock where a test expects exact timestamps: in
// summer, when Plannr writes them in British Summer Time.
var fixedNow = time.Date(2026, 7, 4, 5, 6, 7, 0, time.UTC)

func fixedClock() time.Time { return fixedNow }

// TestUpdate is the acceptance scenario for labels: a program using
// package client changes a label, and reads a refusal as an *client.APIError.
func TestUpdate(t *testing.T) {
	t.Parallel()
	const other = "other-token"
	original := "My Fundment Account 1"
	tests := []struct {
		name      string
		token     string // the default user's when empty
		id        uuid.UUID
		label     nullable.Nullable[string]
		wantCode  int
		wantField []string // the 422's errors["label"]
		wantLabel *string  // in the store afterwards
	}{
		{name: "new label", label: nullable.NewNullableWithValue("Pension"), wantCode: 200, wantLabel: new("Pension")},
		{name: "maxLength characters", label: nullable.NewNullableWithValue(strings.Repeat("é", maxLabel)), wantCode: 200, wantLabel: new(strings.Repeat("é", maxLabel))},
		{name: "null clears", label: nullable.NewNullNullable[string](), wantCode: 200},
		{name: "absent keeps", wantCode: 200, wantLabel: &original},
		{name: "over maxLength", label: nullable.NewNullableWithValue(strings.Repeat("x", maxLabel+1)), wantCode: 422, wantField: []string{tooLong}, wantLabel: &original},
		{name: "unknown connection", id: uuid.New(), label: nullable.NewNullableWithValue("x"), wantCode: 404, wantLabel: &original},
		{name: "another user's connection", token: other, label: nullable.NewNullableWithValue("x"), wantCode: 404, wantLabel: &original},
		{name: "unknown token", token: "nobody", label: nullable.NewNullableWithValue("x"), wantCode: 401, wantLabel: &original},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := plannrtest.NewServer(t, plannrtest.WithClock(fixedClock), plannrtest.WithUser(other))
			token := srv.Token
			if tt.token != "" {
				token = tt.token
			}
			id := tt.id
			if id == uuid.Nil {
				id = plannrtest.DefaultConnectionID
			}
			body := gen.UpdateOAuthConnectionRequest{Label: tt.label}
			resp, err := client.Check(srv.ClientFor(token).UpdateOAuthConnectionWithResponse(t.Context(), id, body))

			var apiErr *client.APIError
			switch {
			case tt.wantCode == 200 && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantCode == 200:
				if want := `"updated_at":"2026-07-04T06:06:07+01:00"`; !strings.Contains(string(resp.Body), want) {
					t.Errorf("body %s, want %s", resp.Body, want)
				}
			case !errors.As(err, &apiErr):
				t.Fatalf("err = %v, want an *client.APIError", err)
			case apiErr.StatusCode != tt.wantCode || !slices.Equal(apiErr.Errors["label"], tt.wantField):
				t.Errorf("got HTTP %d with label errors %q, want %d with %q", apiErr.StatusCode, apiErr.Errors["label"], tt.wantCode, tt.wantField)
			}
			stored := srv.Connections(srv.Token)
			if len(stored) != 1 || !equalPtr(stored[0].Label, tt.wantLabel) {
				t.Errorf("stored connections %+v, want one labelled %v", stored, deref(tt.wantLabel))
			}
		})
	}
}

// TestRateLimit is the acceptance scenario for 429: past a low limit,
// the client waits out Retry-After and gets its request through.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	log := &logtest.Statuses{}
	srv := plannrtest.NewServer(t, plannrtest.WithRateLimit(2, time.Second), plannrtest.WithLogger(slog.New(log)))
	ctx := t.Context()

	// A client that neither paces nor retries sees the limit: two answers,
	// then a 429.
	once := srv.Client(client.WithRetryPolicy(client.RetryPolicy{}), client.WithoutPacing())
	for range 2 {
		if _, err := client.Check(once.ListOAuthConnectionsWithResponse(ctx)); err != nil {
			t.Fatal(err)
		}
	}
	limited, err := client.Check(once.ListOAuthConnectionsWithResponse(ctx))
	if !isStatus(err, http.StatusTooManyRequests) || limited.Headers429 == nil || limited.Headers429.RetryAfter == nil {
		t.Fatalf("third request: err = %v, want a 429 with Retry-After", err)
	}
	wait := time.Duration(*limited.Headers429.RetryAfter) * time.Second

	// The retrying client runs into the same window and waits it out.
	start := time.Now()
	resp, err := client.Check(srv.Client().ListOAuthConnectionsWithResponse(ctx))
	if err != nil {
		t.Fatalf("retrying client: %v", err)
	}
	if elapsed := time.Since(start); elapsed < wait {
		t.Errorf("got through after %v, before the Retry-After of %v", elapsed, wait)
	}
	if len(resp.JSON200.Data) != 1 {
		t.Errorf("listed %d connections, want 1", len(resp.JSON200.Data))
	}
	if got := log.Count(http.StatusTooManyRequests); got != 2 {
		t.Errorf("the server sent %d 429s, want 2: one to each client", got)
	}
}

// TestRetriesStop is the acceptance scenario for retries that must end:
// at the context's end, and at the policy's bounds, with the 429 in hand.
func TestRetriesStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		window  time.Duration // of a limit of one request
		policy  *client.RetryPolicy
		timeout time.Duration // of the call's context, if any
		want    func(error) bool
	}{
		{
			name: "context ends during the wait", window: time.Minute,
			policy: &client.RetryPolicy{MaxRetries: 4, MaxElapsed: 3 * time.Minute}, timeout: 100 * time.Millisecond,
			want: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
		},
		{
			// plannrtest's client has a budget of 5 s: a minute's Retry-After is
			// past it, so the client does not wait at all.
			name: "Retry-After past the budget", window: time.Minute,
			want: func(err error) bool { return isStatus(err, http.StatusTooManyRequests) },
		},
		{
			name: "no retries allowed", window: time.Second, policy: &client.RetryPolicy{},
			want: func(err error) bool { return isStatus(err, http.StatusTooManyRequests) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := &logtest.Statuses{}
			srv := plannrtest.NewServer(t, plannrtest.WithRateLimit(1, tt.window), plannrtest.WithLogger(slog.New(log)))
			// Pacing would hold the second request back rather than send it
			// into a 429.
			opts := []client.Option{client.WithoutPacing()}
			if tt.policy != nil {
				opts = append(opts, client.WithRetryPolicy(*tt.policy))
			}
			c := srv.Client(opts...)
			if _, err := client.Check(c.ListOAuthConnectionsWithResponse(t.Context())); err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := client.Check(c.ListOAuthConnectionsWithResponse(ctx))
			if !tt.want(err) {
				t.Errorf("err = %v", err)
			}
			if elapsed := time.Since(start); elapsed > 900*time.Millisecond {
				t.Errorf("took %v to stop", elapsed)
			}
			if got := log.Count(http.StatusTooManyRequests); got != 1 {
				t.Errorf("the server sent %d 429s, want 1: no retry", got)
			}
		})
	}
}

// TestOwnHTTPClient sends requests a generated client never would, through a
// plain http.Client: the server checks its answers against the spec all the
// same (a violation would fail this test), and answers as Plannr. A header
// block over plannr-server's MaxHeaderBytes gets net/http's 431 from the fake
// as from the server, so that a client that works against the fake does not
// fail against the server.
func TestOwnHTTPClient(t *testing.T) {
	t.Parallel()
	srv := plannrtest.NewServer(t)
	conn := "/api/v1/oauth/connections/" + plannrtest.DefaultConnectionID.String()
	tests := []struct {
		method, path, contentType, body string
		noAuth                          bool
		header                          int // bytes of an extra header
		want                            int
	}{
		{method: "GET", path: "/api/v1/oauth/connections", want: 200},
		{method: "GET", path: "/api/v1/oauth/connections", noAuth: true, want: 401},
		{method: "POST", path: "/api/v1/oauth/connections", want: 405},
		{method: "GET", path: "/nowhere", want: 404},
		{method: "OPTIONS", path: "/*", want: 404}, // OPTIONS *, which net/http would answer 200 itself
		{method: "DELETE", path: "/api/v1/oauth/connections/not-a-uuid", want: 404},
		{method: "PUT", path: conn, contentType: "application/json", body: "{", want: 400},
		{method: "PUT", path: conn, contentType: "text/plain", body: `{"label":"x"}`, want: 415},
		{method: "PUT", path: conn, contentType: "application/json", body: `{"label":7}`, want: 422},
		{method: "GET", path: "/healthz", want: 200},
		{method: "GET", path: "/api/v1/oauth/connections", header: 8 << 10, want: 200},
		{method: "GET", path: "/api/v1/oauth/connections", header: 30 << 10, want: 431},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if tt.path == "/*" {
			req.URL.Opaque = "*" // the request line's target
		}
		if tt.contentType != "" {
			req.Header.Set("Content-Type", tt.contentType)
		}
		if !tt.noAuth {
			req.Header.Set("Authorization", "Bearer "+srv.Token)
		}
		if tt.header > 0 {
			req.Header.Set("X-Big", strings.Repeat("a", tt.header))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s (%d bytes more of headers): %d, want %d", tt.method, tt.path, tt.header, resp.StatusCode, tt.want)
		}
	}
}

// TestSeeding covers the options and helpers that put users and connections in
// the server, and the store as Connections reads it back.
func TestSeeding(t *testing.T) {
	t.Parallel()
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	expiry := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	given := plannrtest.Connection{
		UUID: uuid.MustParse("0d6c1a54-3f0e-4b8e-9a57-2f1c8e9b1d11"), Label: new("ISA"),
		CreatedAt: created, UpdatedAt: created.Add(time.Hour), AccessTokenExpiresAt: &expiry,
	}
	withProvider := given
	withProvider.Provider = plannrtest.DefaultProvider

	fixtures := filepath.Join(t.TempDir(), "fixtures.json")
	if err := os.WriteFile(fixtures, []byte(`{"users":[{"token":"fixture-token","connections":[
		{"uuid":"7b29add1-9028-4c1e-a87b-3c80a2e495fe","provider":"fundment","created_at":"2025-06-25T15:10:48+01:00"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		opts      []plannrtest.Option
		add       func(*plannrtest.Server) // run after start
		token     string
		wantToken string // Server.Token
		want      []plannrtest.Connection
	}{
		{
			name: "default user", token: plannrtest.DefaultToken, wantToken: plannrtest.DefaultToken,
			want: []plannrtest.Connection{{UUID: plannrtest.DefaultConnectionID, Provider: "fundment", Label: new("My Fundment Account 1")}},
		},
		{
			name: "WithUser", opts: []plannrtest.Option{plannrtest.WithUser("alice", given)},
			token: "alice", wantToken: plannrtest.DefaultToken, want: []plannrtest.Connection{withProvider},
		},
		{
			name: "AddUser", opts: []plannrtest.Option{plannrtest.WithoutDefaultUser()},
			add:   func(s *plannrtest.Server) { s.AddUser("bob", given) },
			token: "bob", want: []plannrtest.Connection{withProvider},
		},
		{
			name:  "AddUser to an existing user",
			add:   func(s *plannrtest.Server) { s.AddUser(plannrtest.DefaultToken, given) },
			token: plannrtest.DefaultToken, wantToken: plannrtest.DefaultToken,
			want: []plannrtest.Connection{withProvider, {UUID: plannrtest.DefaultConnectionID, Provider: "fundment", Label: new("My Fundment Account 1")}},
		},
		{
			name: "user without connections", opts: []plannrtest.Option{plannrtest.WithUser("carol")},
			token: "carol", wantToken: plannrtest.DefaultToken, want: []plannrtest.Connection{},
		},
		{
			name: "WithFixtures replaces the default user", opts: []plannrtest.Option{plannrtest.WithFixtures(fixtures)},
			token: "fixture-token", want: []plannrtest.Connection{{UUID: plannrtest.DefaultConnectionID, Provider: "fundment"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := plannrtest.NewServer(t, tt.opts...)
			if srv.Token != tt.wantToken {
				t.Errorf("Token = %q, want %q", srv.Token, tt.wantToken)
			}
			if tt.add != nil {
				tt.add(srv)
			}
			got := srv.Connections(tt.token)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d connections, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, c := range got {
				w := tt.want[i]
				if c.UUID != w.UUID || c.Provider != w.Provider || !equalPtr(c.Label, w.Label) {
					t.Errorf("connection %d = %+v, want %+v", i, c, w)
				}
				if w.CreatedAt.IsZero() {
					continue
				}
				if !c.CreatedAt.Equal(w.CreatedAt) || !c.UpdatedAt.Equal(w.UpdatedAt) || !equalTime(c.AccessTokenExpiresAt, w.AccessTokenExpiresAt) || c.RefreshTokenExpiresAt != nil {
					t.Errorf("connection %d times = %+v, want %+v", i, c, w)
				}
			}
			// What the store holds is what the API lists.
			resp, err := client.Check(srv.ClientFor(tt.token).ListOAuthConnectionsWithResponse(t.Context()))
			if err != nil || len(resp.JSON200.Data) != len(tt.want) {
				t.Errorf("the API lists %v (err %v), want %d connections", resp.JSON200, err, len(tt.want))
			}
		})
	}
}

// TestAddUserDefaults checks what AddUser fills in a Connection left empty.
func TestAddUserDefaults(t *testing.T) {
	t.Parallel()
	srv := plannrtest.NewServer(t, plannrtest.WithClock(func() time.Time { return fixedNow.Add(123 * time.Millisecond) }))
	added := srv.AddUser("dave", plannrtest.Connection{}, plannrtest.Connection{})
	got := srv.Connections("dave")
	if len(added) != 2 || len(got) != 2 {
		t.Fatalf("added %d, stored %d, want 2", len(added), len(got))
	}
	if added[0].UUID == added[1].UUID || added[0].UUID == uuid.Nil {
		t.Errorf("UUIDs %v and %v, want two random ones", added[0].UUID, added[1].UUID)
	}
	for i, c := range got {
		if c.UUID != added[i].UUID || c.Provider != plannrtest.DefaultProvider || c.Label != nil {
			t.Errorf("stored %+v, want %+v", c, added[i])
		}
		// Whole seconds in the user's zone, as the API writes created_at.
		if !c.CreatedAt.Equal(fixedNow) || !c.UpdatedAt.Equal(fixedNow) || c.CreatedAt.Location().String() != "Europe/London" {
			t.Errorf("created_at %v, updated_at %v, want %v in Europe/London", c.CreatedAt, c.UpdatedAt, fixedNow)
		}
	}
}

// TestNilClockIsTheDefault: WithClock(nil) is the real clock, as a nil
// option is its default, not a clock that panics when a user is added.
func TestNilClockIsTheDefault(t *testing.T) {
	t.Parallel()
	before := time.Now().Truncate(time.Second)
	srv := plannrtest.NewServer(t, plannrtest.WithClock(nil), plannrtest.WithUser("erin", plannrtest.Connection{}))
	if c := srv.AddUser("erin", plannrtest.Connection{})[0]; c.CreatedAt.Before(before) || c.CreatedAt.After(time.Now()) {
		t.Errorf("created_at %v, want now", c.CreatedAt)
	}
}

// TestAddUserStampsInTheUsersZone: a connection added to a user is stamped
// in that user's zone, as an update of it then is, so that created_at and
// updated_at share the account's offset as the spec says.
func TestAddUserStampsInTheUsersZone(t *testing.T) {
	t.Parallel()
	fixtures := filepath.Join(t.TempDir(), "fixtures.json")
	if err := os.WriteFile(fixtures, []byte(`{"users":[{"token":"ny-token","timezone":"America/New_York"},{"token":"tokyo-token","timezone":"Asia/Tokyo"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token string
		opts        []plannrtest.Option
		want        string // created_at and updated_at, as the API writes them
	}{
		{"new user", "new-token", nil, "2026-07-04T06:06:07+01:00"},
		{"default user", plannrtest.DefaultToken, nil, "2026-07-04T06:06:07+01:00"},
		{"fixtures user in New York", "ny-token", []plannrtest.Option{plannrtest.WithFixtures(fixtures)}, "2026-07-04T01:06:07-04:00"},
		{"fixtures user in Tokyo", "tokyo-token", []plannrtest.Option{plannrtest.WithFixtures(fixtures)}, "2026-07-04T14:06:07+09:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := plannrtest.NewServer(t, append(tt.opts, plannrtest.WithClock(fixedClock))...)
			c := srv.AddUser(tt.token, plannrtest.Connection{})[0]
			if got := (plannroauth.Timestamp{Time: c.CreatedAt}).String(); got != tt.want {
				t.Errorf("AddUser's created_at %s, want %s", got, tt.want)
			}
			body := gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullableWithValue("x")}
			resp, err := client.Check(srv.ClientFor(tt.token).UpdateOAuthConnectionWithResponse(t.Context(), c.UUID, body))
			if err != nil {
				t.Fatal(err)
			}
			for _, field := range []string{"created_at", "updated_at"} {
				if want := fmt.Sprintf("%q:%q", field, tt.want); !strings.Contains(string(resp.Body), want) {
					t.Errorf("PUT answered %s, want %s", resp.Body, want)
				}
			}
		})
	}
}

// TestMisuseFailsTheTest checks that a mistake in a test's setup fails the test
// at the call that made it, with a message naming it.
func TestMisuseFailsTheTest(t *testing.T) {
	t.Parallel()
	twice := plannrtest.Connection{UUID: uuid.New()}
	tests := []struct {
		name  string
		opts  []plannrtest.Option
		use   func(*plannrtest.Server)
		fatal string
	}{
		{name: "fixtures file missing", opts: []plannrtest.Option{plannrtest.WithFixtures("/nonexistent/fixtures.json")}, fatal: "no such file"},
		{name: "WithUser of a bad token", opts: []plannrtest.Option{plannrtest.WithUser("two words")}, fatal: "cannot be sent as a bearer token"},
		{name: "unknown provider", use: func(s *plannrtest.Server) { s.AddUser("eve", plannrtest.Connection{Provider: "acme"}) }, fatal: `unknown provider "acme"`},
		{name: "UUID added twice", use: func(s *plannrtest.Server) { s.AddUser("eve", twice, twice) }, fatal: "was added before"},
		{name: "UUID of the default user", use: func(s *plannrtest.Server) {
			s.AddUser("eve", plannrtest.Connection{UUID: plannrtest.DefaultConnectionID})
		}, fatal: "was added before"},
		{name: "time RFC 3339 cannot write", use: func(s *plannrtest.Server) {
			s.AddUser("eve", plannrtest.Connection{AccessTokenExpiresAt: new(time.Date(0, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)))})
		}, fatal: "access_token_expires_at: -0001-12-31T23:30:00Z is outside the years RFC 3339 can write"},
		// A label the API could not hold, refused as a fixtures file's is.
		{name: "label too long", use: func(s *plannrtest.Server) {
			s.AddUser("eve", plannrtest.Connection{Label: new(strings.Repeat("x", plannroauth.LabelMaxLength()+1))})
		}, fatal: "label: " + apispec.Format(apispec.MessagesOf().Validation["maxLength"], "attribute", "label", "max", strconv.Itoa(plannroauth.LabelMaxLength()))},
		{name: "label with a NUL", use: func(s *plannrtest.Server) { s.AddUser("eve", plannrtest.Connection{Label: new("a\x00b")}) },
			fatal: "label: " + apispec.Format(apispec.MessagesOf().Validation["pattern"], "attribute", "label")},
		{name: "label not trimmed", use: func(s *plannrtest.Server) { s.AddUser("eve", plannrtest.Connection{Label: new("  padded  ")}) }, fatal: "label: not trimmed"},
		{name: "blank label", use: func(s *plannrtest.Server) { s.AddUser("eve", plannrtest.Connection{Label: new("")}) }, fatal: "label: blank"},
		{name: "WithUser of a label not trimmed", opts: []plannrtest.Option{plannrtest.WithUser("eve", plannrtest.Connection{Label: new("x\n")})}, fatal: "label: not trimmed"},
		{name: "Connections of an unknown token", use: func(s *plannrtest.Server) { s.Connections("nobody") }, fatal: "no user has token"},
		{name: "Client without a default user", opts: []plannrtest.Option{plannrtest.WithoutDefaultUser()}, use: func(s *plannrtest.Server) { s.Client() }, fatal: "empty token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeTB{TB: t}
			fake.run(func() {
				srv := plannrtest.NewServer(fake, tt.opts...)
				if tt.use != nil {
					tt.use(srv)
				}
			})
			errs, fatals := fake.reports()
			if len(errs) != 0 || len(fatals) != 1 || !strings.Contains(fatals[0], tt.fatal) {
				t.Errorf("errors %q, fatal %q; want one fatal about %q", errs, fatals, tt.fatal)
			}
		})
	}
}

// TestStart runs the server outside a test's control: Close reports no
// violation, and a misuse panics rather than failing a test there is none of.
func TestStart(t *testing.T) {
	t.Parallel()
	srv, err := plannrtest.Start(plannrtest.WithUser("frank"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Check(srv.ClientFor("frank").ListOAuthConnectionsWithResponse(t.Context())); err != nil {
		t.Error(err)
	}
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(p.(string), "no user has token") {
				t.Errorf("Connections of an unknown token: recovered %v, want a panic", p)
			}
		}()
		srv.Connections("nobody")
	}()
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := plannrtest.Start(plannrtest.WithFixtures("/nonexistent")); err == nil || !strings.HasPrefix(err.Error(), "plannrtest: ") {
		t.Errorf("Start with a missing fixtures file: err = %v", err)
	}
}

// fakeTB records what a Server reports instead of failing the test; like
// testing, it ends the goroutine on Fatalf.
type fakeTB struct {
	testing.TB
	mu           sync.Mutex
	errs, fatals []string
}

func (f *fakeTB) Errorf(format string, args ...any) { f.record(&f.errs, format, args) }

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.record(&f.fatals, format, args)
	runtime.Goexit()
}

func (f *fakeTB) record(to *[]string, format string, args []any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*to = append(*to, fmt.Sprintf(format, args...))
}

// run calls fn on a goroutine of its own, which Fatalf may end.
func (f *fakeTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func (f *fakeTB) reports() (errs, fatals []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.errs), slices.Clone(f.fatals)
}

func isStatus(err error, status int) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == status
}

func equalPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func equalTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// TestAddUserNormalisesTimestamps: what a test puts in is served in the
// formats the spec promises, as a fixtures file's timestamps are.
func TestAddUserNormalisesTimestamps(t *testing.T) {
	t.Parallel()
	srv := plannrtest.NewServer(t)
	created := time.Date(2025, 6, 25, 15, 10, 48, 123456789, time.FixedZone("", 5*3600+1800))
	expiry := time.Date(2025, 6, 25, 18, 10, 48, 890172999, time.FixedZone("", 3600))
	got := srv.AddUser("normalised-token", plannrtest.Connection{CreatedAt: created, AccessTokenExpiresAt: &expiry})[0]
	if s := got.CreatedAt.Format(time.RFC3339Nano); s != "2025-06-25T10:40:48+01:00" {
		t.Errorf("created_at %s, want whole seconds in Europe/London", s)
	}
	if !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("updated_at %v, want created_at", got.UpdatedAt)
	}
	if s := got.AccessTokenExpiresAt.Format(time.RFC3339Nano); s != "2025-06-25T17:10:48.890172Z" {
		t.Errorf("expiry %s, want UTC to the microsecond", s)
	}
}

// TestNetHTTPErrorsAreJSON: what net/http answers itself, before any handler,
// is the API's JSON in the fake as in plannr-server, with an X-Request-Id
// and a line in the fake's log (WithLogger), and the fake's own pages (the
// spec, in YAML) are served as they are.
func TestNetHTTPErrorsAreJSON(t *testing.T) {
	var logs logtest.Buffer
	srv := plannrtest.NewServer(t, plannrtest.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	msgs := apispec.MessagesOf()
	tests := []struct {
		name, request string
		status        int
		message       string
	}{
		{"64 KiB header", "GET /api/v1/oauth/connections HTTP/1.1\r\nHost: plannr\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n",
			http.StatusRequestHeaderFieldsTooLarge, msgs.HeadersTooLarge},
		{"malformed request line", "GET\r\n\r\n", http.StatusBadRequest, msgs.BadRequest},
		{"an Expect other than 100-continue", "GET /api/v1/oauth/connections HTTP/1.1\r\nHost: plannr\r\nExpect: teapot\r\n\r\n",
			http.StatusExpectationFailed, msgs.ExpectationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			go func() { _, _ = io.WriteString(c, tt.request) }()
			answer, err := io.ReadAll(c) // to the end: the server closes the connection
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(answer)), nil)
			if err != nil {
				t.Fatalf("%q: %v", answer, err)
			}
			body, _ := io.ReadAll(resp.Body)
			want := `{"message":"` + tt.message + `"}`
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" || strings.TrimSpace(string(body)) != want || !resp.Close {
				t.Errorf("got %q, want %d %s and the connection closed", answer, tt.status, want)
			}
			id := resp.Header.Get("X-Request-Id")
			line := fmt.Sprintf(" msg=request route=unmatched status=%d request_id=%s ", tt.status, id)
			if id == "" || !strings.Contains(logs.String(), line) {
				t.Errorf("X-Request-Id %q; want an id, and the line%s in the log:\n%s", id, line, logs.String())
			}
		})
	}
	resp, err := http.Get(srv.URL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(resp.Header.Get("Content-Type"), "json") || !strings.HasPrefix(string(body), "openapi:") {
		t.Errorf("/openapi.yaml: %d %q %.40q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
