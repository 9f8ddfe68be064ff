package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/buildinfo"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// fixedNow is the fake's clock: in summer, so updated_at is written in BST.
var fixedNow = time.Date(2026, 7, 4, 5, 6, 7, 0, time.UTC)

var demoID = plannrtest.DefaultConnectionID.String()

// tooLong is the API's 422 message of a label over the limit, as the spec words it.
var tooLong = apispec.Format(apispec.MessagesOf().Validation["maxLength"], "attribute", "label", "max", strconv.Itoa(plannroauth.LabelMaxLength()))

const (
	demoTable = "" +
		"UUID                                  PROVIDER  LABEL                  UPDATED\n" +
		"7b29add1-9028-4c1e-a87b-3c80a2e495fe  fundment  My Fundment Account 1  2025-06-25T15:10:48+01:00\n"

	// updated is what update prints of the demo connection with a label of %s.
	updated = "" +
		"uuid:                     7b29add1-9028-4c1e-a87b-3c80a2e495fe\n" +
		"provider:                 fundment\n" +
		"label:                    %s\n" +
		"created_at:               2025-06-25T15:10:48+01:00\n" +
		"updated_at:               2026-07-04T06:06:07+01:00\n" +
		"access_token_expires_at:  2025-06-25T18:10:48.890172Z\n" +
		"refresh_token_expires_at: 2026-06-25T14:10:48.890222Z\n"

	usageHint = "Run 'plannr help' for usage.\n"

	// badToken is the whole stderr of a token outside RFC 6750's grammar.
	badToken = "plannr: the token is not a bearer token that a client can send (RFC 6750: letters, digits, -._~+/ and trailing =): check --token or PLANNR_TOKEN\n" + usageHint
)

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// args may hold {url}, the fake's base URL.
		args []string
		// env overrides the defaults: PLANNR_BASE_URL is the fake's URL and
		// PLANNR_TOKEN its default user's token.
		env   map[string]string
		opts  []plannrtest.Option
		setup func(*testing.T, *plannrtest.Server)
		code  int
		// stdout is compared whole; stderr must contain wantErr, or be empty.
		stdout, stderr string
		// label is the demo connection's label afterwards; "" means unchanged,
		// "<none>" null, "<deleted>" gone.
		label string
	}{
		{name: "list", args: []string{"connections", "list"}, stdout: demoTable},
		{
			name: "list a label a terminal would act on",
			args: []string{"connections", "list"}, opts: []plannrtest.Option{plannrtest.WithClock(func() time.Time { return fixedNow })},
			setup: func(t *testing.T, s *plannrtest.Server) {
				s.AddUser(s.Token, plannrtest.Connection{UUID: uuid.MustParse("0d6c1a54-3f0e-4b8e-9a57-2f1c8e9b1d11"), Label: new("a\tb\x1b[2J")})
			},
			stdout: demoTable + "0d6c1a54-3f0e-4b8e-9a57-2f1c8e9b1d11  fundment  \"a\\tb\\x1b[2J\"          2026-07-04T06:06:07+01:00\n",
		},
		{name: "update", args: []string{"connections", "update", demoID, "--label", "Pension"}, stdout: fmt.Sprintf(updated, "Pension"), label: "Pension"},
		{name: "update, flags first", args: []string{"--label=Pension", "connections", "update", demoID}, stdout: fmt.Sprintf(updated, "Pension"), label: "Pension"},
		{name: "an empty label clears it, as Laravel's ConvertEmptyStringsToNull does", args: []string{"connections", "update", demoID, "--label", ""}, stdout: fmt.Sprintf(updated, "<none>"), label: "<none>"},
		{name: "clear the label", args: []string{"connections", "update", demoID, "--clear-label"}, stdout: fmt.Sprintf(updated, "<none>"), label: "<none>"},
		{name: "delete", args: []string{"connections", "delete", demoID}, stdout: "deleted " + demoID + "\n", label: "<deleted>"},
		{name: "delete --json prints nothing", args: []string{"connections", "delete", demoID, "--json"}, label: "<deleted>"},
		{name: "everything after -- is an argument", args: []string{"connections", "update", "--label", "x", "--", demoID}, stdout: fmt.Sprintf(updated, "x"), label: "x"},

		// The API says no.
		{
			name: "label too long", args: []string{"connections", "update", demoID, "--label", strings.Repeat("x", plannroauth.LabelMaxLength()+1)},
			code: 1, stderr: "plannr: " + tooLong + " (HTTP 422)\n  label: " + tooLong + "\n",
		},
		{
			name: "unknown connection", args: []string{"connections", "delete", "0d6c1a54-3f0e-4b8e-9a57-2f1c8e9b1d11"},
			code: 1, stderr: "plannr: OAuth2 connection not found. (HTTP 404)\n",
		},
		{
			name: "wrong token", args: []string{"connections", "list", "--token", "wrong"},
			code: 1, stderr: "plannr: Unauthenticated. (HTTP 401)\n  check --token or PLANNR_TOKEN\n",
		},
		{
			// The minute's Retry-After is past the timeout: the command ends
			// at once with the 429 rather than waiting out the timeout. The
			// window is spent by another process, as the CLI would meet it.
			name: "rate limited past the timeout", args: []string{"connections", "list", "--timeout", "5s"},
			opts:  []plannrtest.Option{plannrtest.WithRateLimit(1, time.Minute)},
			setup: func(t *testing.T, s *plannrtest.Server) { listOnce(t, s) },
			code:  1, stderr: "plannr: Too Many Attempts. (HTTP 429)\n  the API takes requests again in ",
		},
		{
			name: "no server", args: []string{"connections", "list", "--base-url", "http://127.0.0.1:1", "--timeout", "100ms"},
			code: 1, stderr: "plannr: ",
		},
		{
			// The client gives up at once when no retry fits before the
			// deadline: the message says why the attempt failed.
			name: "no server, no time for a retry", args: []string{"connections", "list", "--base-url", "http://127.0.0.1:1", "--timeout", "500ms"},
			code: 1, stderr: "connection refused",
		},

		// Environment variables.
		{name: "token from the flag over the environment", args: []string{"--token", plannrtest.DefaultToken, "connections", "list"}, env: map[string]string{"PLANNR_TOKEN": "wrong"}, stdout: demoTable},
		{name: "base URL from the flag", args: []string{"connections", "list", "--base-url", "{url}"}, env: map[string]string{"PLANNR_BASE_URL": ""}, stdout: demoTable},
		{
			name: "base URL from the flag over the environment", args: []string{"connections", "list", "--base-url", "{url}"},
			env: map[string]string{"PLANNR_BASE_URL": "http://127.0.0.1:1"}, stdout: demoTable,
		},
		{name: "missing token", args: []string{"connections", "list"}, env: map[string]string{"PLANNR_TOKEN": ""}, code: 2, stderr: "plannr: no token: pass --token or set PLANNR_TOKEN\n" + usageHint},
		// A token net/http would refuse to send, or the server to read: a usage
		// error, and the message leaves the token out.
		{name: "token with a newline", args: []string{"connections", "list", "--token", "secret\nX-Injected: 1"}, code: 2, stderr: badToken},
		{name: "token with a control character", args: []string{"connections", "list"}, env: map[string]string{"PLANNR_TOKEN": "secret\x01"}, code: 2, stderr: badToken},
		{name: "token with a space", args: []string{"connections", "list", "--token", "secret token"}, code: 2, stderr: badToken},
		{name: "token of = alone", args: []string{"connections", "list", "--token", "=="}, code: 2, stderr: badToken},

		// The version, whatever else the command line says.
		{name: "version", args: []string{"--version"}, stdout: "plannr " + buildinfo.Read().String() + "\n"},
		{name: "version beside a command", args: []string{"connections", "delete", "--version"}, stdout: "plannr " + buildinfo.Read().String() + "\n"},

		// Usage errors, caught before any request.
		{name: "no command", code: 2, stderr: "plannr: missing command\n" + usageHint},
		{name: "unknown command", args: []string{"users"}, code: 2, stderr: `unknown command "users"`},
		{name: "unknown connections command", args: []string{"connections", "show"}, code: 2, stderr: `unknown command "connections show"`},
		{name: "connections alone", args: []string{"connections"}, code: 2, stderr: "missing command: list, update or delete"},
		{name: "bad UUID", args: []string{"connections", "delete", "7b29add1"}, code: 2, stderr: `connections delete: "7b29add1" is not a UUID`},
		{name: "missing UUID", args: []string{"connections", "update", "--clear-label"}, code: 2, stderr: "connections update: missing the connection's UUID"},
		{name: "extra argument", args: []string{"connections", "list", "everything"}, code: 2, stderr: `unexpected arguments ["everything"]`},
		{name: "label and clear-label", args: []string{"connections", "update", demoID, "--label", "x", "--clear-label"}, code: 2, stderr: "exactly one of --label TEXT and --clear-label"},
		{name: "neither label nor clear-label", args: []string{"connections", "update", demoID}, code: 2, stderr: "exactly one of --label TEXT and --clear-label"},
		{name: "label on delete", args: []string{"connections", "delete", demoID, "--label", "x"}, code: 2, stderr: "connections delete does not take --label"},
		{name: "unknown flag", args: []string{"connections", "list", "--verbose"}, code: 2, stderr: "flag provided but not defined: -verbose"},
		{name: "flag without its value", args: []string{"connections", "list", "--token"}, code: 2, stderr: "flag needs an argument: -token"},
		{name: "empty --token", args: []string{"connections", "list", "--token", ""}, code: 2, stderr: "plannr: --token is empty\n" + usageHint},
		{name: "empty --base-url", args: []string{"connections", "list", "--base-url="}, code: 2, stderr: "plannr: --base-url is empty\n" + usageHint},
		{name: "label not UTF-8", args: []string{"connections", "update", demoID, "--label", "caf\xe9"}, code: 2, stderr: "connections update: --label is not valid UTF-8 (byte 0xe9 at 3)"},
		{name: "zero timeout", args: []string{"connections", "list", "--timeout", "0s"}, code: 2, stderr: "--timeout 0s is not positive"},
		{name: "base URL with a query", args: []string{"connections", "list", "--base-url", "{url}?tenant=1"}, code: 2, stderr: "has a query"},
		{name: "base URL with a fragment", args: []string{"connections", "list"}, env: map[string]string{"PLANNR_BASE_URL": "http://127.0.0.1:1/#v1"}, code: 2, stderr: "has a fragment"},
		{name: "base URL not http", args: []string{"connections", "list"}, env: map[string]string{"PLANNR_BASE_URL": "ftp://example.com"}, code: 2, stderr: "is not an absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requests := &requestCount{}
			opts := append([]plannrtest.Option{plannrtest.WithClock(func() time.Time { return fixedNow }), plannrtest.WithLogger(slog.New(requests))}, tt.opts...)
			srv := plannrtest.NewServer(t, opts...)
			if tt.setup != nil {
				tt.setup(t, srv)
			}
			before := requests.n.Load()
			env := map[string]string{"PLANNR_BASE_URL": srv.URL, "PLANNR_TOKEN": srv.Token}
			for k, v := range tt.env {
				env[k] = v
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "{url}", srv.URL)
			}

			var stdout, stderr bytes.Buffer
			code := Run(t.Context(), args, &stdout, &stderr, func(k string) string { return env[k] })

			if code != tt.code {
				t.Errorf("exit status %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tt.stdout)
			}
			if tt.stderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr:\n%s\nwant it to hold:\n%s", stderr.String(), tt.stderr)
			}
			if sent := requests.n.Load() - before; code == 2 && sent != 0 {
				t.Errorf("a usage error sent %d requests", sent)
			}
			if got, want := demoLabel(t, srv), cmp.Or(tt.label, "My Fundment Account 1"); got != want {
				t.Errorf("label afterwards %s, want %s", got, want)
			}
		})
	}
}

// TestJSON checks that --json prints the API's answer as it came, whether the
// flag is given before or after the command.
func TestJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string // of the connection
	}{
		{args: []string{"--json", "connections", "list"}, want: "My Fundment Account 1"},
		{args: []string{"connections", "list", "--json"}, want: "My Fundment Account 1"},
		{args: []string{"connections", "update", demoID, "--label", "Pension", "--json"}, want: "Pension"},
	}
	for _, tt := range tests {
		srv := plannrtest.NewServer(t)
		var stdout, stderr bytes.Buffer
		env := map[string]string{"PLANNR_BASE_URL": srv.URL, "PLANNR_TOKEN": srv.Token}
		if code := Run(t.Context(), tt.args, &stdout, &stderr, func(k string) string { return env[k] }); code != 0 {
			t.Fatalf("%q: exit status %d: %s", tt.args, code, stderr.String())
		}
		type connection struct {
			UUID  string `json:"uuid"`
			Label string `json:"label"`
		}
		var got struct {
			connection
			Data []connection `json:"data"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || !strings.HasSuffix(stdout.String(), "}\n") {
			t.Fatalf("%q: stdout is not one JSON object and a newline (%v): %s", tt.args, err, stdout.String())
		}
		if len(got.Data) == 1 {
			got.connection = got.Data[0]
		}
		if got.UUID != demoID || got.Label != tt.want {
			t.Errorf("%q: printed %+v, want the connection labelled %s", tt.args, got, tt.want)
		}
	}
}

// fullWriter fails every write, as stdout on /dev/full or a full disk does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// TestOutputUnwritten: a command whose work is to print fails when the
// output could not be written, and says so on stderr, as coreutils' do.
func TestOutputUnwritten(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"--version"}} {
		var stderr bytes.Buffer
		code := Run(context.Background(), args, fullWriter{}, &stderr, func(string) string { return "" })
		if code != 1 || !strings.Contains(stderr.String(), "plannr: could not write the output: no space left on device") {
			t.Errorf("%q: exit status %d, stderr %q; want 1 and why", args, code, stderr.String())
		}
	}
}

// TestHelp checks that every way of asking for help prints the usage, and that
// the usage names every flag and environment variable there is.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"connections", "update", "-h"}, {"help", "connections"}} {
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), args, &stdout, &stderr, func(string) string { return "" }); code != 0 || stdout.String() != usage || stderr.Len() != 0 {
			t.Errorf("%q: exit status %d, stdout %q, stderr %q; want the usage", args, code, stdout.String(), stderr.String())
		}
	}
	flags := slices.Clone(globalFlags)
	for _, cmd := range commands {
		flags = append(flags, cmd.flags...)
	}
	for _, name := range flags {
		if !strings.Contains(usage, "--"+name+" ") {
			t.Errorf("the usage does not document --%s", name)
		}
	}
	for name := range commands {
		if !strings.Contains(usage, "connections "+name) {
			t.Errorf("the usage does not document connections %s", name)
		}
	}
	for _, env := range []string{"PLANNR_TOKEN", "PLANNR_BASE_URL"} {
		if !strings.Contains(usage, env) {
			t.Errorf("the usage does not document %s", env)
		}
	}
}

// listOnce lists through a client of its own, which does not pace, as
// another process would not share this one's budget.
func listOnce(t *testing.T, s *plannrtest.Server) {
	t.Helper()
	if _, err := client.Check(s.Client(client.WithoutPacing()).ListOAuthConnectionsWithResponse(t.Context())); err != nil {
		t.Fatal(err)
	}
}

// demoLabel is the demo connection's label as stored, in the notation of
// TestRun's label.
func demoLabel(t *testing.T, s *plannrtest.Server) string {
	for _, c := range s.Connections(plannrtest.DefaultToken) {
		if c.UUID == plannrtest.DefaultConnectionID {
			if c.Label == nil {
				return "<none>"
			}
			return printable(*c.Label)
		}
	}
	return "<deleted>"
}

// requestCount is a slog.Handler that counts the server's request lines.
type requestCount struct{ n atomic.Int64 }

func (c *requestCount) Enabled(context.Context, slog.Level) bool { return true }
func (c *requestCount) Handle(context.Context, slog.Record) error {
	c.n.Add(1)
	return nil
}
func (c *requestCount) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *requestCount) WithGroup(string) slog.Handler      { return c }

// TestUnexpectedAnswers: an answer that is not the API's (a captive
// portal's page, a wrong --base-url, a 204 where the connection should come
// back, a redirect) ends the command with a message and status 1, printing
// nothing else.
func TestUnexpectedAnswers(t *testing.T) {
	t.Parallel()
	const portal = "<html><body>Log in to the Wi-Fi</body></html>"
	// notAPI is the message of an answer unlike the API's, as %s, and
	// wrongBase the line after, naming the base URL.
	const wrongBase = "  the base URL was {url} (--base-url, else PLANNR_BASE_URL, else " + client.DefaultBaseURL + ")\n"
	const notAPI = "plannr: the answer, %s, is not one Plannr's API sends: is --base-url right?\n" + wrongBase
	tests := []struct {
		name        string
		args        []string
		status      int
		contentType string
		location    string
		body        string
		stderr      string // whole; {url} is the server's URL
		// undecodable: stderr goes on with why the body could not be read.
		undecodable bool
		// userinfo, if set, is put in the base URL, as user:password@.
		userinfo string
	}{
		{name: "list answered by a captive portal", args: []string{"connections", "list"}, status: 200, contentType: "text/html", body: portal, stderr: fmt.Sprintf(notAPI, "HTTP 200 with text/html")},
		{name: "list --json answered in HTML", args: []string{"connections", "list", "--json"}, status: 200, contentType: "text/html", body: portal, stderr: fmt.Sprintf(notAPI, "HTTP 200 with text/html")},
		{name: "update answered 204", args: []string{"connections", "update", demoID, "--label", "x"}, status: 204, stderr: fmt.Sprintf(notAPI, "HTTP 204 with no body")},
		{name: "update answered in HTML", args: []string{"connections", "update", demoID, "--clear-label"}, status: 200, contentType: "text/html; charset=utf-8", body: portal, stderr: fmt.Sprintf(notAPI, "HTTP 200 with text/html; charset=utf-8")},
		{name: "delete answered in HTML", args: []string{"connections", "delete", demoID}, status: 200, contentType: "text/html", body: portal, stderr: fmt.Sprintf(notAPI, "HTTP 200 with text/html")},

		// A web server at the base URL without the API: its 404 is no
		// connection's.
		{name: "list answered by a web server's 404", args: []string{"connections", "list"}, status: 404, contentType: "text/html", body: "<html><h1>404 Not Found</h1></html>", stderr: fmt.Sprintf(notAPI, "HTTP 404 with text/html")},
		{name: "a web server's 404, the base URL's password not shown", args: []string{"connections", "list"}, status: 404, contentType: "text/html", userinfo: "me:secret", stderr: fmt.Sprintf(notAPI, "HTTP 404 with text/html")},
		{name: "delete answered 404 in plain text", args: []string{"connections", "delete", demoID}, status: 404, contentType: "text/plain; charset=utf-8", body: "404 page not found\n", stderr: fmt.Sprintf(notAPI, "HTTP 404 with text/plain; charset=utf-8")},
		{name: "update answered 404 without a body", args: []string{"connections", "update", demoID, "--label", "x"}, status: 404, stderr: fmt.Sprintf(notAPI, "HTTP 404 with no stated type")},

		// JSON in the API's envelope that does not decode: what came, in
		// words, and the decoder's on a line of their own.
		{
			name: "list with data of another type", args: []string{"connections", "list"}, status: 200, contentType: "application/json", body: `{"data":"none"}`,
			stderr: fmt.Sprintf(notAPI, "HTTP 200 with application/json") + "  its body could not be read: ", undecodable: true,
		},
		{
			name: "list with a connection whose UUID is none", args: []string{"connections", "list", "--json"}, status: 200, contentType: "application/json; charset=utf-8", body: `{"data":[{"uuid":"x"}]}`,
			stderr: fmt.Sprintf(notAPI, "HTTP 200 with application/json; charset=utf-8") + "  its body could not be read: ", undecodable: true,
		},

		// A redirect is not followed: the token would go along, or be dropped
		// for a 401 that blames it.
		{
			name: "list redirected", args: []string{"connections", "list"}, status: 301, location: "/moved", contentType: "text/html", body: portal,
			stderr: "plannr: the answer, HTTP 301, is a redirect to {url}/moved, which plannr does not follow: is --base-url right?\n" + wrongBase,
		},
		{
			name: "delete redirected, with a JSON body", args: []string{"connections", "delete", demoID}, status: 307, location: "https://elsewhere.example/x", contentType: "application/json", body: `{"data":[]}`,
			stderr: "plannr: the answer, HTTP 307, is a redirect to https://elsewhere.example/x, which plannr does not follow: is --base-url right?\n" + wrongBase,
		},
		{
			name: "update redirected nowhere", args: []string{"connections", "update", demoID, "--label", "x"}, status: 302,
			stderr: "plannr: the answer, HTTP 302, is a redirect to nowhere (no Location), which plannr does not follow: is --base-url right?\n" + wrongBase,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				if tt.location != "" {
					w.Header().Set("Location", tt.location)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			base, shown := srv.URL, srv.URL
			if tt.userinfo != "" {
				base = strings.Replace(srv.URL, "//", "//"+tt.userinfo+"@", 1)
				shown = strings.Replace(srv.URL, "//", "//"+strings.Split(tt.userinfo, ":")[0]+":xxxxx@", 1)
			}
			env := map[string]string{"PLANNR_BASE_URL": base, "PLANNR_TOKEN": "token"}
			var stdout, stderr bytes.Buffer
			code := Run(t.Context(), tt.args, &stdout, &stderr, func(k string) string { return env[k] })
			want := strings.ReplaceAll(tt.stderr, "{url}", shown)
			got := stderr.String()
			if tt.undecodable && strings.HasPrefix(got, want) && strings.Count(got, "\n") == 3 && strings.HasSuffix(got, "\n") {
				got = want // the decoder's words are its own
			}
			if code != 1 || stdout.Len() != 0 || got != want {
				t.Errorf("exit status %d, stdout %q, stderr %q; want 1, nothing, %q", code, stdout.String(), stderr.String(), want)
			}
		})
	}
}

// TestEveryOperationHasACommand runs every command against the fake, through
// a proxy that notes which operation of the spec each request was for: an
// operation added to the spec fails the test until a command calls it.
func TestEveryOperationHasACommand(t *testing.T) {
	t.Parallel()
	srv := plannrtest.NewServer(t)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	called := map[string]bool{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if op, ok := apispec.OperationAt(r.Method, r.URL.Path); ok {
			mu.Lock()
			called[op.ID] = true
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	env := map[string]string{"PLANNR_BASE_URL": front.URL, "PLANNR_TOKEN": srv.Token}
	for _, args := range [][]string{
		{"connections", "list"},
		{"connections", "update", demoID, "--label", "x"},
		{"connections", "delete", demoID},
	} {
		if code := Run(context.Background(), args, io.Discard, io.Discard, func(k string) string { return env[k] }); code != 0 {
			t.Fatalf("%q: exit status %d", args, code)
		}
	}
	for _, op := range apispec.Operations() {
		if !called[op.ID] {
			t.Errorf("no command calls %s (%s %s)", op.ID, op.Method, op.Path)
		}
	}
}

// TestInterrupt: Ctrl-C while a request is in flight ends the command with
// 130, as a shell reports a command that SIGINT killed.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, interrupt := context.WithCancel(t.Context())
	go func() {
		<-arrived
		interrupt()
	}()
	env := map[string]string{"PLANNR_BASE_URL": srv.URL, "PLANNR_TOKEN": "token"}
	var stdout, stderr bytes.Buffer
	code := Run(ctx, []string{"connections", "list"}, &stdout, &stderr, func(k string) string { return env[k] })
	if want := "plannr: interrupted\n"; code != 130 || stdout.Len() != 0 || stderr.String() != want {
		t.Errorf("exit status %d, stdout %q, stderr %q; want 130, nothing, %q", code, stdout.String(), stderr.String(), want)
	}
}

// TestNothingSentClaimsNoAttempt: a call whose request never went out, its
// server's certificate refused, fails with why, and claims no attempt: it
// said "giving up after 1 attempt(s)".
func TestNothingSentClaimsNoAttempt(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake's failure is the test's
	defer srv.Close()
	env := map[string]string{"PLANNR_BASE_URL": srv.URL, "PLANNR_TOKEN": "token"}
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"connections", "list"}, &stdout, &stderr, func(k string) string { return env[k] })
	if code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "certificate") || strings.Contains(stderr.String(), "attempt") {
		t.Errorf("exit status %d, stdout %q, stderr %q; want 1, nothing, why without an attempt count", code, stdout.String(), stderr.String())
	}
}

// TestDeleteRetried: a delete whose first attempt reached the server, which
// may have deleted the connection, then failed (an answer lost, a 502 from a
// proxy) is retried, and the retry's 404 is the first attempt's success. A
// first attempt refused (429) did nothing: its retry's 404 is a 404.
func TestDeleteRetried(t *testing.T) {
	t.Parallel()
	const unknown = "0d6c1a54-3f0e-4b8e-9a57-2f1c8e9b1d11"
	tests := []struct {
		name string
		id   string
		// first is what becomes of the first attempt; "forward" sends it on.
		first          func(w http.ResponseWriter, r *http.Request, forward http.Handler)
		code           int
		stdout, stderr string
		label          string // the demo connection's afterwards, as in TestRun
	}{
		{
			name: "the answer lost", id: demoID,
			first: func(w http.ResponseWriter, r *http.Request, forward http.Handler) {
				forward.ServeHTTP(httptest.NewRecorder(), r)
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			stdout: "deleted " + demoID + "\n", label: "<deleted>",
		},
		{
			name: "a 502 after the delete", id: demoID,
			first: func(w http.ResponseWriter, r *http.Request, forward http.Handler) {
				forward.ServeHTTP(httptest.NewRecorder(), r)
				w.WriteHeader(http.StatusBadGateway)
			},
			stdout: "deleted " + demoID + "\n", label: "<deleted>",
		},
		{
			name: "a 429 before it", id: unknown,
			first: func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			code: 1, stderr: "plannr: OAuth2 connection not found. (HTTP 404)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := plannrtest.NewServer(t)
			target, err := url.Parse(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			proxy := httputil.NewSingleHostReverseProxy(target)
			var attempts atomic.Int64
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if attempts.Add(1) == 1 {
					tt.first(w, r, proxy)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			defer front.Close()
			env := map[string]string{"PLANNR_BASE_URL": front.URL, "PLANNR_TOKEN": srv.Token}
			var stdout, stderr bytes.Buffer
			code := Run(t.Context(), []string{"connections", "delete", tt.id}, &stdout, &stderr, func(k string) string { return env[k] })
			if code != tt.code || stdout.String() != tt.stdout || stderr.String() != tt.stderr || attempts.Load() != 2 {
				t.Errorf("exit status %d, stdout %q, stderr %q after %d attempts; want %d, %q, %q after 2", code, stdout.String(), stderr.String(), attempts.Load(), tt.code, tt.stdout, tt.stderr)
			}
			if got, want := demoLabel(t, srv), cmp.Or(tt.label, "My Fundment Account 1"); got != want {
				t.Errorf("label afterwards %s, want %s", got, want)
			}
		})
	}
}
