package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

const (
	fixturesFile = "../../fixtures/testdata/example.json"
	aliceConn    = "/api/v1/oauth/connections/7b29add1-9028-4c1e-a87b-3c80a2e495fe"
	aliceOther   = "/api/v1/oauth/connections/2f1c0a4e-5d3b-4f6a-9c8e-7b1d2e3f4a5b"
	bobConn      = "/api/v1/oauth/connections/c0ffee00-1234-4abc-8def-0123456789ab"
)

// start builds the command of pkg and runs it with args (see launch).
func start(t *testing.T, pkg string, args ...string) string {
	t.Helper()
	return launch(t, exec.Command(build(t, pkg), args...))
}

// build builds the command of pkg into a temporary directory.
func build(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// launch starts cmd with a free loopback port and the example fixtures, in a
// process group of its own, as a shell runs a command, and returns its base
// URL, read from the line where it says so. The group is killed when t ends.
func launch(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	cmd.Args = append(cmd.Args, "-addr", "127.0.0.1:0", "-fixtures", fixturesFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w // memstub logs to stderr, plannr-server prints to stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); w.Close() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := regexp.MustCompile(`listening on (http://[0-9.:]+)`).FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case base := <-found:
		return base
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not say where it listens", cmd.Path)
		return ""
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// The parts of an answer that may differ between two correct servers: the
// request's ID and date, the clock's reading in updated_at, the second at which
// a window closes.
var (
	volatileHeaders = []string{"X-Request-Id", "Date", "X-Ratelimit-Reset"}
	updatedAt       = regexp.MustCompile(`"updated_at":"[^"]*"`)
)

func send(t *testing.T, base, method, path, token, contentType, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, h := range volatileHeaders {
		resp.Header.Del(h)
	}
	if resp.Header.Get("X-Ratelimit-Limit") != "" {
		resp.Header.Set("X-Ratelimit-Reset", "present") // its value may differ by a second
	}
	return answer{resp.StatusCode, resp.Header, updatedAt.ReplaceAllString(string(b), `"updated_at":"…"`)}
}

// TestAnswersLikePlannrServer sends the same requests, in the same order, to
// memstub and to plannr-server on the same fixtures, and wants the same
// status, headers and body from both: the kit gives memstub every answer
// that its three operations do not.
func TestAnswersLikePlannrServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers")
	}
	stub := start(t, ".")
	real := start(t, "../../cmd/plannr-server", "-db", ":memory:")
	const alice, bob, json = "alice-token", "bob-token", "application/json"
	tests := []struct{ name, method, path, token, contentType, body string }{
		{"the seed's PUT", "PUT", aliceConn, alice, json, `{"label":"My Fundment Account 2"}`},
		{"null label", "PUT", aliceConn, alice, json, `{"label":null}`},
		{"absent label", "PUT", aliceConn, alice, json, `{}`},
		{"label trimmed", "PUT", aliceConn, alice, json, `{"label":"  spaced  "}`},
		{"over maxLength", "PUT", aliceConn, alice, json, `{"label":"` + strings.Repeat("a", plannroauth.LabelMaxLength()+1) + `"}`},
		{"numeric label", "PUT", aliceConn, alice, json, `{"label":42}`},
		{"member name in capitals", "PUT", aliceConn, alice, json, `{"Label":"caps"}`},
		{"malformed UUID", "PUT", "/api/v1/oauth/connections/nope", alice, json, `{}`},
		{"unknown UUID", "PUT", "/api/v1/oauth/connections/00000000-0000-4000-8000-000000000000", alice, json, `{}`},
		{"another user's connection", "PUT", bobConn, alice, json, `{"label":"mine"}`},
		{"another user's connection, deleted", "DELETE", bobConn, alice, "", ""},
		{"no token", "PUT", aliceConn, "", json, `{}`},
		{"unknown token", "GET", "/api/v1/oauth/connections", "nobody", "", ""},
		{"PATCH", "PATCH", aliceConn, alice, json, `{}`},
		{"HEAD", "HEAD", "/api/v1/oauth/connections", alice, "", ""},
		{"OPTIONS", "OPTIONS", aliceConn, "", "", ""},
		{"text/plain", "PUT", aliceConn, alice, "text/plain", `label=x`},
		{"70 KiB", "PUT", aliceConn, alice, json, `{"label":"` + strings.Repeat("a", 70<<10) + `"}`},
		{"malformed JSON", "PUT", aliceConn, alice, json, `{"label":`},
		{"invalid UTF-8", "PUT", aliceConn, alice, json, "{\"label\":\"\xff\"}"},
		{"encoded slash", "PUT", "/api/v1/oauth/connections%2F7b29add1-9028-4c1e-a87b-3c80a2e495fe", alice, json, `{}`},
		{"unknown path", "GET", "/api/v2/nope", alice, "", ""},
		{"delete", "DELETE", aliceOther, alice, "", ""},
		{"delete again", "DELETE", aliceOther, alice, "", ""},
		{"update the deleted", "PUT", aliceOther, alice, json, `{}`},
		{"the list", "GET", "/api/v1/oauth/connections", alice, "", ""},
		{"bob's list, untouched", "GET", "/api/v1/oauth/connections", bob, "", ""},
	}
	for _, tt := range tests {
		want := send(t, real, tt.method, tt.path, tt.token, tt.contentType, tt.body)
		got := send(t, stub, tt.method, tt.path, tt.token, tt.contentType, tt.body)
		if got.status != want.status || got.body != want.body {
			t.Errorf("%s: memstub answered %d %.300s\nplannr-server %d %.300s", tt.name, got.status, got.body, want.status, want.body)
		}
		for k := range want.header {
			if got.header.Get(k) != want.header.Get(k) {
				t.Errorf("%s: header %s: memstub %q, plannr-server %q", tt.name, k, got.header.Get(k), want.header.Get(k))
			}
		}
		for k := range got.header {
			if want.header.Get(k) == "" {
				t.Errorf("%s: memstub sent header %s, plannr-server did not", tt.name, k)
			}
		}
	}
}

// TestStopsCleanly: Ctrl-C, which a terminal sends to the whole process
// group, and SIGTERM, which a process manager sends, stop memstub gracefully,
// with exit status 0. (Under go run, go itself then exits 1, whatever its
// program's status: golang/go#40467.)
func TestStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs memstub")
	}
	bin := build(t, ".")
	for _, tt := range []struct {
		name   string
		signal func(pid int) error
	}{
		{"Ctrl-C", func(pid int) error { return syscall.Kill(-pid, syscall.SIGINT) }},
		{"SIGTERM", func(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			base := launch(t, cmd)
			if got := send(t, base, "GET", "/api/v1/oauth/connections", "alice-token", "", ""); got.status != http.StatusOK {
				t.Fatalf("GET: %d %s", got.status, got.body)
			}
			if err := tt.signal(cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("exit: %v, want status 0", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("still running 30 s after the signal")
			}
		})
	}
}
