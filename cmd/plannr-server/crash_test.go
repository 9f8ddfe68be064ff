package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The example fixtures: alice-token owns aliceConn, first in her list.
const (
	exampleFixtures = "../../fixtures/testdata/example.json"
	aliceToken      = "alice-token"
	bobToken        = "bob-token"
	aliceConn       = "7b29add1-9028-4c1e-a87b-3c80a2e495fe"
	connections     = "/api/v1/oauth/connections"
)

// binDir holds the server binary that the tests of real processes build.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "plannr-server-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
)

// serverBinary builds this command once per test run: killing a process is the
// only honest way to test what a crash leaves on disk.
func serverBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "plannr-server")
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// process is a running server binary.
type process struct {
	cmd    *exec.Cmd
	base   string
	stderr bytes.Buffer // read it only after wait
	waited chan error
}

// startProcess runs the server binary with args on a free loopback port and
// returns once it listens.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{}
	p.start(t, &p.stderr, args)
	return p
}

// start is startProcess with the log going to stderr rather than p.stderr.
func (p *process) start(t *testing.T, stderr io.Writer, args []string) {
	t.Helper()
	p.waited = make(chan error, 1)
	p.cmd = exec.Command(serverBinary(t), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever way the test ends, it leaves no server behind (killing one that
	// has exited is a harmless error).
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	go func() { p.waited <- p.cmd.Wait(); pw.Close() }()
	listening := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(pr)
		for lines.Scan() {
			if f := strings.Fields(lines.Text()); len(f) > 3 && f[1] == "listening" {
				listening <- f[3]
			}
		}
	}()
	select {
	case p.base = <-listening:
	case err := <-p.waited:
		t.Fatalf("the server exited before listening: %v\n%s", err, &p.stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("the server did not listen within 10s")
	}
}

// wait returns how the process ended, failing the test if it takes over 10s.
func (p *process) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.waited:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit within 10s")
		return nil
	}
}

// writeLabel is a label a test writes: the counter says which write it is.
func writeLabel(n int) string { return fmt.Sprintf("write-%06d", n) }

// labelNumber is the counter of a label writeLabel made, 0 for any other label.
func labelNumber(label string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(label, "write-"))
	if err != nil {
		return 0
	}
	return n
}

// putLabel changes aliceConn's label and reports whether the server
// acknowledged it with a 200.
func putLabel(c *http.Client, base, label string) (bool, error) {
	req, err := http.NewRequest(http.MethodPut, base+connections+"/"+aliceConn, strings.NewReader(`{"label":"`+label+`"}`))
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK && err == nil, err
}

// aliceLabel is aliceConn's label as the server lists it.
func aliceLabel(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	return connectionLabel(t, c, base, aliceToken, aliceConn)
}

// connectionLabel is the label of the connection uuid as base lists it to the
// user of token.
func connectionLabel(t *testing.T, c *http.Client, base, token, uuid string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+connections, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			UUID  string `json:"uuid"`
			Label string `json:"label"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s%s: status %d, %v", base, connections, resp.StatusCode, err)
	}
	for _, c := range list.Data {
		if c.UUID == uuid {
			return c.Label
		}
	}
	t.Fatalf("%s is not in the list of %s", uuid, base)
	return ""
}

// TestCrashKeepsAcknowledgedWrites kills the server with SIGKILL at random
// moments while it takes a stream of label changes, and restarts it on the same
// file each time: the label must be the last acknowledged write or the one after
// it (written, but killed before the answer), and the file must pass SQLite's
// integrity check. synchronous=FULL in WAL mode is what this relies on.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server 40 times")
	}
	const cycles = 40
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	db := filepath.Join(t.TempDir(), "plannr.db")
	client := &http.Client{Timeout: 10 * time.Second}

	acked, sent := 0, 0 // the counters of the last acknowledged and sent writes
	// total counts acknowledged writes; inFlight the kills during a write, and
	// kept those of their writes that were found committed.
	total, inFlight, kept := 0, 0, 0
	for cycle := 0; ; cycle++ {
		p := startProcess(t, "-db", db, "-fixtures", exampleFixtures, "-rate-limit", "0")
		got := labelNumber(aliceLabel(t, client, p.base))
		if got < acked || got > sent {
			t.Fatalf("cycle %d: after restart the label is write %d; acknowledged %d, sent %d", cycle, got, acked, sent)
		}
		if got > acked {
			kept++
		}
		// What the restarted server shows is durable, acknowledged or not.
		acked = got
		if cycle == cycles {
			// This restart was only to check the last kill.
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := p.wait(t); err != nil {
				t.Fatalf("exit after SIGTERM: %v", err)
			}
			break
		}

		var lastAcked, lastSent atomic.Int64
		lastAcked.Store(int64(acked))
		lastSent.Store(int64(sent))
		stop := make(chan struct{})
		writing := make(chan struct{})
		go func() {
			defer close(writing)
			for n := sent + 1; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				lastSent.Store(int64(n))
				ok, err := putLabel(client, p.base, writeLabel(n))
				if err != nil {
					return // killed
				}
				if !ok {
					t.Errorf("write %d was refused", n)
					return
				}
				lastAcked.Store(int64(n))
			}
		}()
		time.Sleep(time.Duration(20+rng.IntN(281)) * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = p.wait(t) // "signal: killed"
		close(stop)
		<-writing
		client.CloseIdleConnections()
		total += int(lastAcked.Load()) - acked
		acked, sent = int(lastAcked.Load()), int(lastSent.Load())
		if sent > acked {
			inFlight++
		}
		checkIntegrity(t, db)
	}
	t.Logf("%d kill/restart cycles, %d acknowledged writes, none lost; %d kills during a write, %d of those writes committed",
		cycles, total, inFlight, kept)
}

// checkIntegrity runs SQLite's integrity check on a copy of the database that a
// killed server left, so that the next server still has to recover the
// original's write-ahead log itself.
func checkIntegrity(t *testing.T, db string) {
	t.Helper()
	dir := t.TempDir()
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(db + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "copy.db"+suffix), b, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	conn, err := sql.Open("sqlite", filepath.Join(dir, "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var result string
	if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&result); err != nil || result != "ok" {
		t.Fatalf("integrity check: %q, %v", result, err)
	}
}

// TestGracefulShutdown sends SIGTERM while a request's body is still arriving:
// the request completes, the listener is closed at once, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	p := startProcess(t, "-db", filepath.Join(t.TempDir(), "plannr.db"), "-fixtures", exampleFixtures)
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"label":"finished during shutdown"}`
	half := len(body) / 2
	fmt.Fprintf(conn, "PUT %s/%s HTTP/1.1\r\nHost: plannr\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		connections, aliceConn, aliceToken, len(body), body[:half])
	// The server is now reading the body; give it time to have started.
	time.Sleep(100 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	refused := false
	for deadline := time.Now().Add(5 * time.Second); !refused && time.Now().Before(deadline); {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.base, "http://"), time.Second)
		if err != nil {
			refused = true
		} else {
			c.Close()
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !refused {
		t.Error("new connections are still accepted 5s after SIGTERM")
	}

	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(got, []byte(`"finished during shutdown"`)) {
		t.Errorf("in-flight request: %d %s", resp.StatusCode, got)
	}
	if err := p.wait(t); err != nil {
		t.Errorf("exit: %v\n%s", err, &p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", &p.stderr)
	}
}

// TestLogLinesSurviveSIGTERM: the log is buffered (logWriter), yet every
// request answered before SIGTERM has its line in the output.
func TestLogLinesSurviveSIGTERM(t *testing.T) {
	p := startProcess(t, "-db", ":memory:", "-fixtures", exampleFixtures, "-rate-limit", "0")
	c := &http.Client{}
	const n = 200
	for i := range n {
		req, err := http.NewRequest(http.MethodGet, p.base+connections, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		req.Header.Set("X-Request-Id", fmt.Sprintf("sigterm-%04d", i))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("exit: %v", err)
	}
	logs := p.stderr.String()
	for i := range n {
		if !strings.Contains(logs, fmt.Sprintf("request_id=sigterm-%04d\n", i)) {
			t.Errorf("no log line of request %d", i)
		}
	}
	if !strings.Contains(logs, "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", logs)
	}
}

// TestLogReaderGoneLeavesTheServerRunning: when the process reading the log
// goes away (stderr a pipe whose reader exits, as with | head -n 1), the
// log's lines are lost, not the server: it goes on answering, and exits 0 on
// SIGTERM. (Go kills a process whose write to stderr fails with EPIPE,
// unless it handles SIGPIPE.)
func TestLogReaderGoneLeavesTheServerRunning(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{}
	p.start(t, w, []string{"-db", ":memory:", "-fixtures", exampleFixtures, "-rate-limit", "0"})
	w.Close() // the server's copy is the only writer
	r.Close() // and now no one reads
	c := &http.Client{}
	for range 5 { // each after a flush of the log, which fails
		time.Sleep(2 * logFlushInterval)
		if status, _ := get(t, c, p.base, connections, aliceToken); status != http.StatusOK {
			t.Fatalf("GET: %d", status)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(t); err != nil {
		t.Errorf("exit: %v", err)
	}
}
