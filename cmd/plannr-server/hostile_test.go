package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
	"github.com/plannr-toolkit/plannr-oauth/internal/metricstest"
)

// Limits short enough for tests that wait for them to cut a client off.
var testLimits = limits{
	readHeader:     300 * time.Millisecond,
	read:           600 * time.Millisecond,
	write:          5 * time.Second,
	idle:           time.Second,
	maxHeaderBytes: defaultLimits.maxHeaderBytes,
}

// startHostile runs the real server (run, with newHTTPServer) over loopback with
// the example fixtures and testLimits.
func startHostile(t *testing.T, rateLimit, maxConns int) string {
	t.Helper()
	base, _, stop := startServer(t, config{db: ":memory:", fixtures: exampleFixtures, rateLimit: rateLimit, maxConns: maxConns, limits: testLimits})
	t.Cleanup(stop)
	return base
}

// get sends GET base+path with token, and returns the status and how long the
// answer took.
func get(t *testing.T, c *http.Client, base, path, token string) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// dial opens a raw connection to the server at base.
func dial(t *testing.T, base string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedAfter reads c until the server closes it, and returns how long after
// start that was and what the server sent.
func closedAfter(c net.Conn, start time.Time) (time.Duration, string) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	return time.Since(start), string(got)
}

// TestSlowClientsAreCutOff: a client that sends its headers a byte at a time
// (slowloris) is cut off by ReadHeaderTimeout, one that sends its body so is cut
// off by ReadTimeout, and neither keeps another user from being served meanwhile.
func TestSlowClientsAreCutOff(t *testing.T) {
	tests := []struct {
		name string
		// head is sent at once, then drip a byte every 20ms, never finished.
		head, drip string
		limit      time.Duration
		// wantAnswer is the start of what the server may send before closing;
		// "" means it closes without a word.
		wantAnswer string
	}{
		{"slow headers", "GET " + connections + " HTTP/1.1\r\nHost: plannr\r\n", "X-Slow: " + strings.Repeat("a", 200),
			testLimits.readHeader, ""},
		// The body is read, and found cut, by the API's validation, which answers
		// 400 in JSON before the connection closes.
		{"slow body", "PUT " + connections + "/" + aliceConn + " HTTP/1.1\r\nHost: plannr\r\nAuthorization: Bearer " + aliceToken +
			"\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n", `{"label":"` + strings.Repeat("a", 200),
			testLimits.read, "HTTP/1.1 400 Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := startHostile(t, 0, DefaultMaxConns)
			const slow = 20
			type result struct {
				after  time.Duration
				answer string
			}
			results := make(chan result, slow)
			for range slow {
				start := time.Now() // before the server can have accepted c
				c := dial(t, base)
				go func() {
					_, _ = io.WriteString(c, tt.head)
					for i := 0; i < len(tt.drip); i++ {
						time.Sleep(20 * time.Millisecond)
						if _, err := io.WriteString(c, tt.drip[i:i+1]); err != nil {
							return // cut off
						}
					}
				}()
				go func() {
					after, answer := closedAfter(c, start)
					results <- result{after, answer}
				}()
			}
			// Served while the slow clients still hold their connections.
			if status, took := get(t, http.DefaultClient, base, connections, bobToken); status != http.StatusOK || took >= tt.limit {
				t.Errorf("another user, meanwhile: status %d in %v", status, took)
			}
			for range slow {
				r := <-results
				// The drip would take 4s; the limit is well under a second.
				if r.after < tt.limit || r.after > tt.limit+2*time.Second {
					t.Errorf("cut off after %v, want just after %v", r.after, tt.limit)
				}
				if !strings.HasPrefix(r.answer, tt.wantAnswer) || (tt.wantAnswer != "" && !strings.Contains(r.answer, "application/json")) {
					t.Errorf("answer before closing: %q, want %q in JSON", r.answer, tt.wantAnswer)
				}
			}
		})
	}
}

// TestOversizedHeadersGet431: net/http answers a header block over
// MaxHeaderBytes itself, before any handler; server.Listener makes that answer
// the API's JSON, with the spec's message, and the next request is served.
func TestOversizedHeadersGet431(t *testing.T) {
	base := startHostile(t, 0, DefaultMaxConns)
	req, err := http.NewRequest(http.MethodGet, base+connections, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	req.Header.Set("X-Big", strings.Repeat("a", 4*defaultLimits.maxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"message":"` + apispec.MessagesOf().HeadersTooLarge + `"}`
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || resp.Header.Get("Content-Type") != "application/json" ||
		strings.TrimSpace(string(body)) != want {
		t.Errorf("status %d %q %q, want 431 %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
	}
	if status, _ := get(t, http.DefaultClient, base, connections, aliceToken); status != http.StatusOK {
		t.Errorf("a normal request afterwards: %d", status)
	}
}

// TestNetHTTPErrorsAreJSON sends, over TCP, each request that net/http
// answers itself before any handler runs: the answer is the API's JSON with
// the spec's message, as the spec declares it, and the connection is closed.
// Each is told as the server's other answers are: an X-Request-Id, its line
// in the log (no method, route unmatched), and its count in /metrics (the
// empty method, route unmatched).
func TestNetHTTPErrorsAreJSON(t *testing.T) {
	var logs logtest.Buffer
	base, _, stop := startServerLogging(t, config{db: ":memory:", fixtures: exampleFixtures, maxConns: DefaultMaxConns, limits: testLimits},
		slog.New(slog.NewTextHandler(&logs, nil)))
	defer stop()
	msgs := apispec.MessagesOf()
	tests := []struct {
		name, request string
		status        int
		message       string
	}{
		{"64 KiB header", "GET " + connections + " HTTP/1.1\r\nHost: plannr\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n",
			http.StatusRequestHeaderFieldsTooLarge, msgs.HeadersTooLarge},
		{"malformed request line", "GET" + connections + "\r\n\r\n", http.StatusBadRequest, msgs.BadRequest},
		{"unsupported transfer coding", "PUT " + connections + "/" + aliceConn + " HTTP/1.1\r\nHost: plannr\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
			http.StatusNotImplemented, msgs.NotImplemented},
		{"HTTP/2.0 request line", "GET " + connections + " HTTP/2.0\r\nHost: plannr\r\n\r\n",
			http.StatusHTTPVersionNotSupported, msgs.VersionNotSupported},
		{"an Expect other than 100-continue", "DELETE " + connections + "/" + aliceConn + " HTTP/1.1\r\nHost: plannr\r\nExpect: teapot\r\n\r\n",
			http.StatusExpectationFailed, msgs.ExpectationFailed},
	}
	ids := map[string]string{} // X-Request-Id, by test
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, base)
			start := time.Now()
			go func() { _, _ = io.WriteString(c, tt.request) }() // answered, maybe, before it is all read
			after, answer := closedAfter(c, start)
			if after > 5*time.Second {
				t.Errorf("the connection was still open after %v", after)
			}
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(answer)), nil)
			if err != nil {
				t.Fatalf("%q: %v", answer, err)
			}
			body, _ := io.ReadAll(resp.Body)
			want := `{"message":"` + tt.message + `"}`
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" || strings.TrimSpace(string(body)) != want {
				t.Errorf("got %q, want %d %s", answer, tt.status, want)
			}
			if !resp.Close || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v, want Connection: close, no-store, nosniff", resp.Header)
			}
			ids[tt.name] = resp.Header.Get("X-Request-Id")
		})
	}
	want := metricstest.Samples{}
	for _, tt := range tests {
		want[`plannr_http_requests_total{method="",route="unmatched",status="`+strconv.Itoa(tt.status)+`"}`]++
	}
	if got := metricstest.Scrape(t, base+"/metrics", `plannr_http_requests_total`); !maps.Equal(got, want) {
		t.Errorf("counted:\n%s\nwant:\n%s", got, want)
	}
	stop() // every line is written
	for _, tt := range tests {
		level := "INFO"
		if tt.status >= 500 {
			level = "ERROR"
		}
		line := fmt.Sprintf(" level=%s msg=request route=unmatched status=%d request_id=%s error=", level, tt.status, ids[tt.name])
		if ids[tt.name] == "" || !strings.Contains(logs.String(), line) {
			t.Errorf("%s: X-Request-Id %q; want an id, and the line%s... in the log:\n%s", tt.name, ids[tt.name], line, logs.String())
		}
	}
}

// TestFloodFromOneUser: one user's flood is answered 429 past the rate limit,
// while another user is still served.
func TestFloodFromOneUser(t *testing.T) {
	const limit, flood = 50, 400
	base := startHostile(t, limit, DefaultMaxConns)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 8 {
		wg.Go(func() {
			for range flood / 8 {
				status, _ := get(t, http.DefaultClient, base, connections, aliceToken)
				mu.Lock()
				statuses[status]++
				mu.Unlock()
			}
		})
	}
	for range 10 {
		if status, _ := get(t, http.DefaultClient, base, connections, bobToken); status != http.StatusOK {
			t.Errorf("bob, during alice's flood: %d", status)
		}
	}
	wg.Wait()
	if statuses[http.StatusOK] != limit || statuses[http.StatusTooManyRequests] != flood-limit {
		t.Errorf("alice's flood was answered %v; want %d 200s and the rest 429", statuses, limit)
	}
}

// TestIdleConnections opens thousands of connections that send nothing, or
// nothing after a first request. The connection limit bounds how many the server
// holds at once (each is a file descriptor and a goroutine); the rest wait in
// the kernel's listen backlog, where they cost the server nothing, until the
// header or idle timeout closes those it holds. A normal client is served
// either way: at once under the limit, after a timeout over it.
func TestIdleConnections(t *testing.T) {
	tests := []struct {
		name       string
		maxConns   int
		idle       int
		keptAlive  bool          // make a request on each first, then stay idle
		wantHeld   int           // the most connections the server may hold
		wantServed time.Duration // by when a normal client must be answered
	}{
		{"silent, under the limit", 4096, 2000, false, 2000, 500 * time.Millisecond},
		{"silent, over the limit", DefaultMaxConns, 2000, false, DefaultMaxConns, testLimits.readHeader + time.Second},
		{"kept alive, at the limit", DefaultMaxConns, DefaultMaxConns, true, DefaultMaxConns, testLimits.idle + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Ours and the server's end of each connection, and some to spare.
			ensureFileLimit(t, uint64(2*tt.idle+256))
			base := startHostile(t, 0, tt.maxConns)
			before := openFiles(t)
			for range tt.idle {
				c := dial(t, base)
				if !tt.keptAlive {
					continue
				}
				// At once, before the header timeout closes the connection.
				fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: plannr\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			// The server's ends are what is open beyond ours.
			held := openFiles(t) - before - tt.idle
			t.Logf("%d connections open: the server holds %d", tt.idle, held)
			if held > tt.wantHeld+8 {
				t.Errorf("the server holds %d connections, want at most %d", held, tt.wantHeld)
			}
			c := &http.Client{Timeout: 10 * time.Second}
			status, took := get(t, c, base, connections, aliceToken)
			t.Logf("a normal request was answered %d after %v", status, took)
			if status != http.StatusOK || took > tt.wantServed {
				t.Errorf("normal request: %d after %v, want 200 within %v", status, took, tt.wantServed)
			}
			c.CloseIdleConnections()
		})
	}
}

// openFiles counts this process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(fds)
}

// ensureFileLimit raises the soft limit of open files to n if it is lower, and
// skips the test if the hard limit forbids it.
func ensureFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("needs %d open files; the hard limit is %d", n, lim.Max)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(errors.Join(errors.New("cannot raise the open-file limit"), err))
	}
}

// TestPrecision: the timeouts are enforced to within a tenth of the
// shortest, never finer than a millisecond, and not at all when there is none.
func TestPrecision(t *testing.T) {
	tests := []struct {
		name string
		l    limits
		want time.Duration
	}{
		{"defaults", defaultLimits, 500 * time.Millisecond},
		{"the tests'", testLimits, 30 * time.Millisecond},
		{"only idle", limits{idle: 2 * time.Second}, 200 * time.Millisecond},
		{"very short", limits{readHeader: 5 * time.Millisecond}, time.Millisecond},
		{"none", limits{maxHeaderBytes: 1 << 10}, 0},
	}
	for _, tt := range tests {
		if got := tt.l.precision(); got != tt.want {
			t.Errorf("%s: precision %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestOptionsStarReachesTheServer: net/http answers OPTIONS * itself unless
// told not to, a 200 with none of the server's headers, logged and counted
// nowhere. The server answers it as any path outside the spec.
func TestOptionsStarReachesTheServer(t *testing.T) {
	c := dial(t, startHostile(t, 0, DefaultMaxConns))
	if _, err := io.WriteString(c, "OPTIONS * HTTP/1.1\r\nHost: plannr\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("OPTIONS *: %d, Content-Type %q, X-Request-Id %q; want the server's JSON 404", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Request-Id"))
	}
}
