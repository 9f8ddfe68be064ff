package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/gen"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/memory"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr string
	}{
		{name: "defaults", want: config{addr: "127.0.0.1:8080", db: "plannr.db", demoToken: DefaultDemoToken, rateLimit: 500, maxConns: 1024, rateWindow: time.Minute, requestTimeout: server.DefaultTimeout, shutdownTimeout: 10 * time.Second}},
		{name: "environment", env: map[string]string{"PLANNR_ADDR": ":9000", "PLANNR_DB": ":memory:", "PLANNR_RATE_LIMIT": "0", "PLANNR_FIXTURES": "f.json"},
			want: config{addr: ":9000", db: ":memory:", fixtures: "f.json", demoToken: DefaultDemoToken, rateLimit: 0, maxConns: 1024, rateWindow: time.Minute, requestTimeout: server.DefaultTimeout, shutdownTimeout: 10 * time.Second}},
		{name: "a flag beats the environment", args: []string{"-addr", ":1"}, env: map[string]string{"PLANNR_ADDR": ":9000"},
			want: config{addr: ":1", db: "plannr.db", demoToken: DefaultDemoToken, rateLimit: 500, maxConns: 1024, rateWindow: time.Minute, requestTimeout: server.DefaultTimeout, shutdownTimeout: 10 * time.Second}},
		{name: "metrics apart", env: map[string]string{"PLANNR_METRICS_ADDR": "127.0.0.1:9090"},
			want: config{addr: "127.0.0.1:8080", db: "plannr.db", demoToken: DefaultDemoToken, rateLimit: 500, maxConns: 1024, rateWindow: time.Minute, requestTimeout: server.DefaultTimeout, shutdownTimeout: 10 * time.Second, metricsAddr: "127.0.0.1:9090"}},
		{name: "version", args: []string{"-version"},
			want: config{addr: "127.0.0.1:8080", db: "plannr.db", demoToken: DefaultDemoToken, rateLimit: 500, maxConns: 1024, rateWindow: time.Minute, requestTimeout: server.DefaultTimeout, shutdownTimeout: 10 * time.Second, version: true}},
		// -version answers whatever the environment holds, as -h does.
		{name: "version beside a bad environment", args: []string{"-version"}, env: map[string]string{"PLANNR_RATE_LIMIT": "many", "PLANNR_ADDR": "nowhere"},
			want: config{addr: "127.0.0.1:8080", db: "plannr.db", demoToken: DefaultDemoToken, rateLimit: 500, maxConns: 1024, rateWindow: time.Minute, requestTimeout: server.DefaultTimeout, shutdownTimeout: 10 * time.Second, version: true}},
		{name: "bad number in the environment", env: map[string]string{"PLANNR_RATE_LIMIT": "many"}, wantErr: `invalid value "many" of PLANNR_RATE_LIMIT for -rate-limit (int): parse error`},
		{name: "duration without a unit in the environment", env: map[string]string{"PLANNR_RATE_WINDOW": "5"}, wantErr: `invalid value "5" of PLANNR_RATE_WINDOW for -rate-window (duration): parse error`},
		// Refused now, rather than after the start's log, exit 1, or (empty)
		// listening on every interface.
		{name: "-addr without a port", args: []string{"-addr", "127.0.0.1"}, wantErr: `-addr "127.0.0.1" is not host:port, such as 127.0.0.1:8080: address 127.0.0.1: missing port in address`},
		{name: "-addr empty", args: []string{"-addr="}, wantErr: `-addr "" is not host:port`},
		{name: "-addr of a port past 65535", args: []string{"-addr", "127.0.0.1:99999"}, wantErr: `-addr "127.0.0.1:99999" is not host:port`},
		{name: "-metrics-addr without a port", env: map[string]string{"PLANNR_METRICS_ADDR": "localhost"}, wantErr: `-metrics-addr "localhost" is not host:port`},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected arguments"},
		{name: "libpq key=value database", env: map[string]string{"PLANNR_DB": "dbname=plannr"}, wantErr: "-db: a libpq key=value"},
		{name: "database URL of another scheme", args: []string{"-db", "mysql://h/plannr"}, wantErr: `-db: a URL of scheme "mysql"`},
		{name: "demo token that no client can send", args: []string{"-demo-token", "my#demo"}, wantErr: "-demo-token"},
		{name: "no rate window", args: []string{"-rate-window", "0s"}, wantErr: "-rate-window"},
		{name: "negative request timeout", args: []string{"-request-timeout", "-1s"}, wantErr: "-request-timeout"},
		{name: "negative shutdown timeout", args: []string{"-shutdown-timeout", "-1s"}, wantErr: "-shutdown-timeout"},
		{name: "negative max conns", env: map[string]string{"PLANNR_MAX_CONNS": "-5"}, wantErr: "-max-conns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestUsageErrors: a command line or environment the server cannot use is
// told once on stderr, with exit status 2 (as the other commands, and the
// flag package's convention), and nothing starts.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		wantErr string
	}{
		{"unknown flag", []string{"-nope"}, "", "flag provided but not defined: -nope"},
		{"bad value", []string{"-rate-limit", "many"}, "", `invalid value "many" for flag -rate-limit`},
		{"bad variable", nil, "PLANNR_RATE_WINDOW=soon", "PLANNR_RATE_WINDOW"},
		{"stray argument", []string{"serve"}, "", "unexpected arguments: [serve]"},
		{"negative max conns", []string{"-max-conns", "-5"}, "", "-max-conns must be 0 or more, not -5"},
		{"negative shutdown timeout", []string{"-shutdown-timeout", "-1s"}, "", "-shutdown-timeout must not be negative, not -1s"},
	}
	bin := serverBinary(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A server that started anyway is stopped, and fails the test.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append([]string{"-addr", "127.0.0.1:0", "-db", ":memory:"}, tt.args...)...)
			cmd.Env = append(os.Environ(), tt.env)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("exit: %v, want status 2", err)
			}
			if n := strings.Count(stderr.String(), tt.wantErr); n != 1 || stdout.Len() > 0 {
				t.Errorf("%q told %d times on stderr:\n%s\nstdout:\n%s", tt.wantErr, n, &stderr, &stdout)
			}
		})
	}
}

// TestVersionUnwritten: -version fails when stdout could not be written,
// and says so on stderr, as coreutils do.
func TestVersionUnwritten(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full to write to: %v", err)
	}
	defer full.Close()
	cmd := exec.Command(serverBinary(t), "-version")
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = full, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), "plannr-server: could not write the output: write /dev/stdout: no space left on device") {
		t.Errorf("exit: %v, stderr %q; want status 1 and why", err, stderr.String())
	}
}

// startServer runs run() in the background on a free loopback port and returns its
// base URL and what it printed; stop shuts it down and waits.
func startServer(t *testing.T, cfg config) (base string, printed []string, stop func()) {
	t.Helper()
	return startServerLogging(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// startServerLogging is startServer logging to log.
func startServerLogging(t *testing.T, cfg config, log *slog.Logger) (base string, printed []string, stop func()) {
	t.Helper()
	base, printed, shutdown := launch(t, cfg, log)
	return base, printed, func() {
		if err := shutdown(); err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

// launch is startServerLogging, whose shutdown cancels run's context (the
// signal), waits for run, and returns its error.
func launch(t *testing.T, cfg config, log *slog.Logger) (base string, printed []string, shutdown func() error) {
	t.Helper()
	cfg.addr = "127.0.0.1:0"
	if cfg.shutdownTimeout == 0 {
		cfg.shutdownTimeout = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, cfg, pw, log)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		printed = append(printed, lines.Text())
		if f := strings.Fields(lines.Text()); base == "" && len(f) > 3 && f[1] == "listening" {
			base = f[3]
		}
		if base != "" && (cfg.fixtures != "" || len(printed) >= 4) {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" {
		cancel()
		t.Fatalf("server did not start: %v %v", printed, <-done)
	}
	return base, printed, sync.OnceValue(func() error {
		cancel()
		return <-done
	})
}

func newClient(t *testing.T, base, token string) *gen.ClientWithResponses {
	t.Helper()
	c, err := gen.NewClientWithResponses(base, gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDemoServer runs the printed curl's request: the seed's example
// connection comes back with the new label.
func TestDemoServer(t *testing.T) {
	// make run's defaults: the database is plannr.db in the working directory.
	t.Chdir(t.TempDir())
	defaults, err := parseFlags(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	base, printed, stop := startServer(t, defaults)
	defer stop()
	out := strings.Join(printed, "\n")
	curl := regexp.MustCompile(`curl --request (\S+) '([^']+)' (.*) --data '([^']*)'`).FindStringSubmatch(out)
	if !strings.Contains(out, "Demo user token: "+DefaultDemoToken) || curl == nil || !strings.HasPrefix(curl[2], base+"/") {
		t.Fatalf("printed:\n%s", out)
	}
	req, err := http.NewRequest(curl[1], curl[2], strings.NewReader(curl[4]))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range regexp.MustCompile(`--header "([^:]+): ([^"]*)"`).FindAllStringSubmatch(curl[3], -1) {
		req.Header.Set(h[1], h[2])
	}
	sent, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := gen.ParseUpdateOAuthConnectionResponse(sent)
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("the printed curl: %v %s", err, resp.Body)
	}
	if label, _ := resp.JSON200.Label.Get(); label != "My Fundment Account 2" || resp.JSON200.Provider.Name != "fundment" ||
		resp.JSON200.UUID.String() != "7b29add1-9028-4c1e-a87b-3c80a2e495fe" {
		t.Errorf("got %s", resp.Body)
	}
	stop()

	// A second make run tells the demo user again, and how to start over.
	_, printed, stop = startServer(t, defaults)
	defer stop()
	if out := strings.Join(printed, "\n"); !strings.Contains(out, "Demo user token: "+DefaultDemoToken) || !strings.Contains(out, "delete it") {
		t.Fatalf("second start printed:\n%s", out)
	}
}

// TestRestartKeepsChanges: restarting with the same database and fixtures keeps
// every acknowledged change, deletions included.
func TestRestartKeepsChanges(t *testing.T) {
	dir := t.TempDir()
	cfg := config{db: filepath.Join(dir, "plannr.db"), fixtures: filepath.Join("..", "..", "fixtures", "testdata", "example.json"), rateLimit: 500, rateWindow: time.Minute}
	seed, err := fixtures.Load(cfg.fixtures)
	if err != nil {
		t.Fatal(err)
	}
	token := "alice-token"
	first, second := seed.Accounts[0].Connections[0].UUID, seed.Accounts[0].Connections[1].UUID
	if token != seed.Accounts[0].Token {
		t.Fatal("the example fixtures' first user is not alice-token")
	}

	base, _, stop := startServer(t, cfg)
	c := newClient(t, base, token)
	ctx := context.Background()
	if r, err := c.UpdateOAuthConnectionWithResponse(ctx, first, gen.UpdateOAuthConnectionRequest{Label: nullable.NewNullableWithValue("changed")}); err != nil || r.StatusCode() != 200 {
		t.Fatalf("PUT: %v %v", err, r)
	}
	if r, err := c.DeleteOAuthConnectionWithResponse(ctx, second); err != nil || r.StatusCode() != 204 {
		t.Fatalf("DELETE: %v %v", err, r)
	}
	stop()

	base, _, stop = startServer(t, cfg)
	defer stop()
	list, err := newClient(t, base, token).ListOAuthConnectionsWithResponse(ctx)
	if err != nil || list.JSON200 == nil {
		t.Fatalf("GET: %v %v", err, list)
	}
	labels := map[uuid.UUID]string{}
	for _, c := range list.JSON200.Data {
		labels[c.UUID], _ = c.Label.Get()
	}
	if labels[first] != "changed" {
		t.Errorf("label after restart: %q", labels[first])
	}
	if _, ok := labels[second]; ok {
		t.Error("the deleted connection came back")
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"users":[{"token":"t","connections":[{"uuid":"nope","provider":"fundment","created_at":"2025-06-25T15:10:48+01:00"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	publicFixtures := filepath.Join(dir, "public.json")
	if err := os.WriteFile(publicFixtures, []byte(`{"users":[{"token":"`+DefaultDemoToken+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	tests := []struct {
		name    string
		cfg     config
		wantErr string
	}{
		{"invalid fixtures", config{addr: "127.0.0.1:0", db: ":memory:", fixtures: bad}, "users[0].connections[0].uuid"},
		{"missing fixtures", config{addr: "127.0.0.1:0", db: ":memory:", fixtures: filepath.Join(dir, "none.json")}, "none.json"},
		{"demo token off loopback", config{addr: "0.0.0.0:0", db: ":memory:", demoToken: DefaultDemoToken}, "non-loopback"},
		{"demo token off loopback from fixtures", config{addr: "0.0.0.0:0", db: ":memory:", demoToken: "secret", fixtures: publicFixtures}, "public"},
		{"bad address", config{addr: "127.0.0.1:port", db: ":memory:"}, "port"},
		{"address in use", config{addr: held.Addr().String(), db: ":memory:"}, "choose another address with -addr or PLANNR_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.cfg, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

// TestDemoUserRefusedOffLoopback: a database that once got the demo user on
// loopback is refused on another address.
func TestDemoUserRefusedOffLoopback(t *testing.T) {
	st := memory.New()
	if _, err := seed(context.Background(), st, config{demoToken: DefaultDemoToken}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := seed(context.Background(), st, config{demoToken: "secret"}, false); err == nil || !strings.Contains(err.Error(), "public") {
		t.Fatalf("err = %v", err)
	}
}
