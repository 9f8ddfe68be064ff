package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/conformance"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/buildinfo"
)

const (
	fixtures = "../../conformance/testdata/fixtures.json"
	alice    = "conformance-alice"
	bob      = "conformance-bob"
)

// asMain, set in the environment, makes the test binary the command.
const asMain = "PLANNR_CONFORMANCE_AS_MAIN"

// serverBin is cmd/plannr-server, built once by TestMain.
var serverBin string

// listPath is the spec's path of the list.
var listPath = apispec.Operations()[slices.IndexFunc(apispec.Operations(), func(op apispec.Operation) bool { return op.Method == http.MethodGet })].Path

func TestMain(m *testing.M) {
	if os.Getenv(asMain) != "" {
		main() // the command itself, for TestSecondInterrupt and TestSignalExitStatus
		return
	}
	dir, err := os.MkdirTemp("", "plannr-conformance-test")
	if err != nil {
		panic(err)
	}
	serverBin = filepath.Join(dir, "plannr-server")
	code := 1
	if out, err := exec.Command("go", "build", "-o", serverBin, "../plannr-server").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ../plannr-server: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// plannrServer runs cmd/plannr-server on SQLite with the kit's fixtures, and
// returns its URL.
func plannrServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(serverBin, "-db", filepath.Join(dir, "plannr.db"), "-fixtures", fixtures, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	listening := regexp.MustCompile(`listening on (http://\S+)`)
	for lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return m[1]
		}
	}
	t.Fatalf("plannr-server did not start: %v", lines.Err())
	return ""
}

// counter is a proxy in front of a server that notes when each request came.
type counter struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *counter) proxy(t *testing.T, base string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.times = append(c.times, time.Now())
		c.mu.Unlock()
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// most is the largest number of requests that came within any span of d.
func (c *counter) most(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	most := 0
	for i := range c.times {
		n := 0
		for _, at := range c.times[i:] {
			if at.Sub(c.times[i]) < d {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// state is both users' connections, read from the server directly.
func state(t *testing.T, base string) map[string][]map[string]any {
	t.Helper()
	st := map[string][]map[string]any{}
	for _, token := range []string{alice, bob} {
		req, _ := http.NewRequest(http.MethodGet, base+listPath, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Data []map[string]any }
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("listing %s: %d %v", token, resp.StatusCode, err)
		}
		st[token] = list.Data
	}
	return st
}

// TestReadOnly runs the whole kit with -readonly against plannr-server on
// SQLite: it must leave the data exactly as it found it, updated_at
// included, and keep to its budget.
func TestReadOnly(t *testing.T) {
	base := plannrServer(t)
	before := state(t, base)
	var count counter
	const budget = 3000 // a minute: one request each 20 ms, for a quick test
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-base-url", count.proxy(t, base), "-token", alice, "-other-token", bob,
		"-readonly", "-budget", fmt.Sprint(budget), "-json"}, &stdout, &stderr)
	var rep conformance.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d, report %v\n%s\n%s", code, err, stdout.Bytes(), stderr.Bytes())
	}
	if code != 0 || !rep.Passed() {
		t.Errorf("exit %d, want 0; the report:\n%s", code, stdout.Bytes())
	}

	got, _ := json.Marshal(state(t, base))
	want, _ := json.Marshal(before)
	if !bytes.Equal(got, want) {
		t.Errorf("the data changed:\nbefore %s\nafter  %s", want, got)
	}

	ran := map[string]conformance.Outcome{}
	for _, res := range rep.Results {
		ran[res.Check] = res.Outcome
	}
	for _, c := range conformance.Checks() {
		if c.Writes && !c.OptIn && ran[c.Name] != conformance.Skip {
			t.Errorf("%s: %s, want skip under -readonly", c.Name, ran[c.Name])
		}
	}
	if _, ok := ran["ratelimit_drive"]; ok {
		t.Error("ratelimit_drive ran without -run")
	}
	if len(count.times) != rep.Requests {
		t.Errorf("the server saw %d requests, the report says %d", len(count.times), rep.Requests)
	}
	// No second, and so no minute, holds more than its share of the budget.
	if most, limit := count.most(time.Second), budget/60+1; most > limit {
		t.Errorf("%d requests within a second, want at most %d", most, limit)
	}
	t.Logf("%d requests in %v", rep.Requests, rep.Duration)
}

// TestDefaultBudget checks that -readonly alone paces to DefaultBudget.
func TestDefaultBudget(t *testing.T) {
	var count counter
	base := count.proxy(t, plannrServer(t))
	var stdout bytes.Buffer
	if code := run(t.Context(), []string{"-base-url", base, "-token", alice, "-other-token", bob, "-readonly", "-run", "^list_connections$"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("exit %d\n%s", code, stdout.Bytes())
	}
	interval := time.Minute / conformance.DefaultBudget
	if most := count.most(interval * 9 / 10); most != 1 {
		t.Errorf("%d requests within %v, want 1", most, interval*9/10)
	}
}

// credulous answers every request as a success: ignored_auth must fail it.
func credulous(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":[]}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestExitStatus(t *testing.T) {
	good := plannrServer(t)
	junit := filepath.Join(t.TempDir(), "report.xml")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // a line it must hold
		stderr string
	}{
		{"help", []string{"-h"}, 0, "", "Checks, in the order they run:"},
		{"list", []string{"-list"}, 0, "ratelimit_drive", ""},
		{"version", []string{"-version"}, 0, "plannr-conformance " + buildinfo.Read().String(), ""},
		{"no flags", nil, 2, "", "BaseURL, Token and OtherToken are required"},
		{"a bad flag", []string{"-nope"}, 2, "", "flag provided but not defined: -nope"},
		{"an argument", []string{"-base-url", good, "x"}, 2, "", `unexpected arguments ["x"]`},
		{"an argument to -list", []string{"-list", "x"}, 2, "", `unexpected arguments ["x"]`},
		{"-run matching no check", []string{"-base-url", good, "-token", alice, "-other-token", bob, "-run", "^label_nul$"}, 2, "", `-run "^label_nul$" matches no check: -list lists them`},
		{"-run not a regular expression", []string{"-base-url", good, "-token", alice, "-other-token", bob, "-run", "label_(null"}, 2, "", "error parsing regexp"},
		{"a negative -timeout", []string{"-base-url", good, "-token", alice, "-other-token", bob, "-timeout", "-1s"}, 2, "", "-timeout -1s is negative"},
		{"a base URL with a query", []string{"-base-url", good + "?tenant=1", "-token", alice, "-other-token", bob}, 2, "", "-base-url: base URL \"" + good + "?tenant=1\" has a query"},
		{"an unknown token", []string{"-base-url", good, "-token", "nobody", "-other-token", bob}, 2, "", "listing the connections of <token>: expected 200 with the list of connections; got 401"},
		{"passed", []string{"-base-url", good, "-token", alice, "-other-token", bob, "-run", "^label_null_clears$", "-junit", junit}, 0, "PASS label_null_clears", ""},
		{"failed", []string{"-base-url", credulous(t), "-token", alice, "-other-token", bob, "-run", "^ignored_auth$"}, 1, "FAIL ignored_auth", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.code, stdout.Bytes(), stderr.Bytes())
			}
		})
	}
	var suite struct {
		Tests int `xml:"tests,attr"`
		Cases []struct {
			Name string `xml:"name,attr"`
		} `xml:"testcase"`
	}
	b, err := os.ReadFile(junit)
	if err == nil {
		err = xml.Unmarshal(b, &suite)
	}
	if err != nil || suite.Tests != 1 || len(suite.Cases) != 1 || suite.Cases[0].Name != "label_null_clears" {
		t.Errorf("JUnit report: %+v, %v\n%s", suite, err, b)
	}
}

// echoing answers every request with what it was sent as its Authorization:
// in the message of a 401, as PHP's json_encode writes a slash (\/), and in
// headers, as is and percent-encoded. The tokens' lists are empty.
func echoing(t *testing.T, tokens ...string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("X-Echo", auth)
		w.Header().Set("Location", "/?auth="+url.QueryEscape(auth))
		w.Header().Set("Content-Type", "application/json")
		for _, tok := range tokens {
			if auth == "Bearer "+tok && r.Method == http.MethodGet {
				_, _ = io.WriteString(w, `{"data":[]}`)
				return
			}
		}
		w.WriteHeader(http.StatusUnauthorized)
		msg, _ := json.Marshal(map[string]string{"message": "Unauthenticated: " + auth})
		_, _ = w.Write(bytes.ReplaceAll(msg, []byte("/"), []byte(`\/`)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestNoTokenInOutput runs the command against a server that echoes the
// tokens: no output shows one in any spelling, neither the reports (text,
// JSON, JUnit) nor stderr, whether the run fails or cannot start.
func TestNoTokenInOutput(t *testing.T) {
	const tok, other = "alice/tok+1==", "bob/tok+2="
	junit := filepath.Join(t.TempDir(), "report.xml")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"text", []string{"-base-url", echoing(t, tok, other), "-junit", junit}, 1},
		{"json", []string{"-base-url", echoing(t, tok, other), "-json", "-readonly", "-budget", "-1"}, 1},
		{"a run that cannot start", []string{"-base-url", echoing(t)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append(tc.args, "-token", tok, "-other-token", other), &stdout, &stderr)
			report, _ := os.ReadFile(junit)
			out := stdout.String() + stderr.String() + string(report)
			// The echoes are there, shown by the tokens' roles.
			if code != tc.code || !strings.Contains(out, "<token>") {
				t.Errorf("exit %d, want %d, and <token> shown\n%s", code, tc.code, out)
			}
			for _, tk := range []string{tok, other} {
				for _, spelling := range []string{tk, strings.ReplaceAll(tk, "/", `\/`), url.QueryEscape(tk), base64.StdEncoding.EncodeToString([]byte(tk + ":"))} {
					if strings.Contains(out, spelling) {
						t.Errorf("the output shows %q:\n%s", spelling, out)
					}
				}
			}
		})
	}
}

// fullWriter fails every write, as stdout on /dev/full or a full disk does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// TestOutputUnwritten: -list and -version fail when stdout could not be
// written, and say so on stderr, as coreutils do. (-h writes to stderr.)
func TestOutputUnwritten(t *testing.T) {
	for _, args := range [][]string{{"-list"}, {"-version"}} {
		var stderr bytes.Buffer
		code := run(t.Context(), args, fullWriter{}, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "plannr-conformance: could not write the output: no space left on device") {
			t.Errorf("%q: exit status %d, stderr %q; want 1 and why", args, code, stderr.String())
		}
	}
}

// TestTokensFromEnvironment gives the tokens in the environment, as the
// usage advises to keep them out of ps: they are used, a flag given still
// wins, and no output shows them, not even the usage that -h or a bad flag
// prints.
func TestTokensFromEnvironment(t *testing.T) {
	t.Setenv("PLANNR_BASE_URL", plannrServer(t))
	t.Setenv("PLANNR_TOKEN", alice)
	t.Setenv("PLANNR_OTHER_TOKEN", bob)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"help", []string{"-h"}, 0, "the first user's bearer token (env PLANNR_TOKEN)"},
		{"a bad flag", []string{"-bogus"}, 2, "flag provided but not defined: -bogus"},
		{"a bad value", []string{"-budget", "x"}, 2, `invalid value "x" for flag -budget`},
		{"a run", []string{"-run", "^list_connections$"}, 0, "PASS list_connections"},
		{"a flag over the environment", []string{"-token", "nobody", "-run", "^list_connections$"}, 2, "listing the connections of <token>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d, and %q shown\n%s", code, tc.code, tc.want, out)
			}
			for _, tok := range []string{alice, bob} {
				if strings.Contains(out, tok) {
					t.Errorf("the output shows %q:\n%s", tok, out)
				}
			}
		})
	}
}

// TestSecondInterrupt interrupts the command once a check has changed a
// label, against a server that then answers nothing: the first SIGINT
// leaves the check to put the label back, which hangs; the second ends the
// command at once.
func TestSecondInterrupt(t *testing.T) {
	u, err := url.Parse(plannrServer(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	arrived := make(chan string, 100) // each request held, once a PUT went
	var changed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if changed.Load() {
			arrived <- r.Method
			<-r.Context().Done()
			return
		}
		proxy.ServeHTTP(w, r)
		changed.Store(r.Method == http.MethodPut)
	}))
	defer srv.Close()
	cmd := exec.Command(os.Args[0], "-base-url", srv.URL, "-token", alice, "-other-token", bob, "-run", "^label_set$", "-timeout", "1m")
	cmd.Env = append(os.Environ(), asMain+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()
	// The check's request after its PUT, held; then, once interrupted, the
	// restore's, held too.
	for _, what := range []string{"the check's request", "the restore's request"} {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never came", what)
		}
		if what == "the check's request" {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The restore is held for good, so only a signal can end the command.
	// The command lets go of the signals in a goroutine of its own once the
	// first has cancelled the run, so a signal sent a moment too soon is
	// caught: send them until one ends it, for 5 s. A command that kept
	// catching them would wait out the restore's 30 s.
	deadline := time.After(5 * time.Second)
	for {
		// ErrProcessDone: a signal sent just before ended it.
		if err := cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Logf("ended: %v", err)
			return
		case <-time.After(250 * time.Millisecond):
		case <-deadline:
			t.Fatal("still running 5 s after the first SIGINT was let go")
		}
	}
}

// TestSignalExitStatus: the command ends as a shell reports a command that
// the signal killed, 128 plus its number, so that a script or a supervisor
// tells SIGTERM from Ctrl-C. Both were 130.
func TestSignalExitStatus(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		want int
	}{
		{syscall.SIGINT, 130},
		{syscall.SIGTERM, 143},
	} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			// Each request held: once one has come, the command is running,
			// its signals caught.
			arrived := make(chan struct{}, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case arrived <- struct{}{}:
				default:
				}
				<-r.Context().Done()
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-base-url", srv.URL, "-token", alice, "-other-token", bob)
			cmd.Env = append(os.Environ(), asMain+"=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-arrived:
			case <-ctx.Done():
				t.Fatal("no request came")
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tt.want || !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("exit: %v, want status %d; stderr:\n%s", err, tt.want, &stderr)
			}
		})
	}
}

// TestJUnitUnwritable: a -junit FILE that cannot be created fails the run
// before it starts, not after every check has run for nothing.
func TestJUnitUnwritable(t *testing.T) {
	var count counter
	base := count.proxy(t, credulous(t))
	junit := filepath.Join(t.TempDir(), "missing", "report.xml")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-base-url", base, "-token", alice, "-other-token", bob, "-junit", junit}, &stdout, &stderr)
	if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "-junit: open "+junit) || len(count.times) != 0 {
		t.Errorf("exit %d after %d requests, want 2 after none; stdout:\n%s\nstderr:\n%s", code, len(count.times), stdout.Bytes(), stderr.Bytes())
	}
}

// TestInterrupt stops a run in the middle of a check, as Ctrl-C does: the
// exit status is 130, and the report, in each form, holds the checks that
// finished before, none failed for being cut off.
func TestInterrupt(t *testing.T) {
	good := plannrServer(t)
	u, err := url.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	// The run's tenth request, past the setup's lists, is interrupted,
	// unanswered.
	const cutAt = 10
	var requests atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(u)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == cutAt {
			interrupt()
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	junit := filepath.Join(t.TempDir(), "report.xml")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-base-url", front.URL, "-token", alice, "-other-token", bob, "-json", "-junit", junit}, &stdout, &stderr)
	var rep conformance.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || code != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("exit %d, want 130; report %v\n%s\nstderr:\n%s", code, err, stdout.Bytes(), stderr.Bytes())
	}
	var sent int
	for i, res := range rep.Results {
		if res.Outcome == conformance.Fail || res.Check != conformance.Checks()[i].Name {
			t.Errorf("result %d: %s %s, want a check that ran to its end, in order", i, res.Outcome, res.Check)
		}
		sent += res.Requests
	}
	if len(rep.Results) == 0 || sent >= cutAt-2 {
		t.Errorf("%d checks reported, of %d requests; want those before the cut-off one", len(rep.Results), sent)
	}
	b, err := os.ReadFile(junit)
	if err != nil || bytes.Count(b, []byte("<testcase ")) != len(rep.Results) {
		t.Errorf("JUnit report, %v, does not hold the %d checks:\n%s", err, len(rep.Results), b)
	}
}
