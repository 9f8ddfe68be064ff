// Command pacingload measures the client's pacing as a program sees it: from
// a module of its own, through one client.New with its defaults, against
// plannr-server run as a process of its own. It is issue 19's acceptance load,
// and exits 1 when a scenario misses its mark:
//
//   - direct: 8 goroutines × 10 calls against -rate-limit 20 -rate-window 2s.
//     No 429, and a wall time of at most 7.5 s. The floor is 6 s: the server's
//     window opens with the first request, so 20 go at once and 20 more every
//     2 s, the last 20 at 6 s.
//   - proxy: the same calls behind a proxy whose first answer is a bare 502
//     (no header at all, as a load balancer may send), against -rate-limit 6
//     -rate-window 1s. No 429.
//
// Run it from this directory:
//
//	go run . [-server path/to/plannr-server] [-runs n]
//
// Without -server it builds plannr-server from the module it replaces. The
// 429s are the server's own count, read from its /metrics: the client retries
// a 429, so the calls alone would not show one.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/client"
	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// token is plannr-server's demo user, whom an empty database gets.
const token = "plannr-demo-token"

// scenario is one load and its mark.
type scenario struct {
	name   string
	limit  int
	window time.Duration
	// proxied puts the proxy whose first answer is a bare 502 in front.
	proxied bool
	// maxWall is the longest the load may take; 0: not bounded.
	maxWall time.Duration
}

var scenarios = []scenario{
	{name: "direct", limit: 20, window: 2 * time.Second, maxWall: 7500 * time.Millisecond},
	{name: "proxy", limit: 6, window: time.Second, proxied: true},
}

// result is what one run of a scenario measured.
type result struct {
	wall, floor time.Duration
	// ok and tooMany are the server's 200s and 429s to the API; failed
	// counts the calls that returned an error.
	ok, tooMany, failed int
}

func main() {
	serverBin := flag.String("server", "", "plannr-server binary; empty builds it")
	goroutines := flag.Int("goroutines", 8, "goroutines calling at once")
	calls := flag.Int("calls", 10, "calls per goroutine, one after the other")
	runs := flag.Int("runs", 1, "runs of each scenario")
	flag.Parse()
	if err := run(*serverBin, *goroutines, *calls, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "pacingload:", err)
		os.Exit(1)
	}
}

func run(serverBin string, goroutines, calls, runs int) error {
	if serverBin == "" {
		dir, err := os.MkdirTemp("", "pacingload")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if serverBin, err = buildServer(dir); err != nil {
			return err
		}
	}
	var missed []string
	for _, sc := range scenarios {
		for i := range runs {
			r, err := sc.run(serverBin, goroutines, calls)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			fmt.Printf("%-6s run %d: %d×%d calls at %d per %v: wall %.2fs (floor %.2fs, %.2f× the floor), %d × 200, %d × 429, %d failed\n",
				sc.name, i+1, goroutines, calls, sc.limit, sc.window, r.wall.Seconds(), r.floor.Seconds(),
				float64(r.wall)/float64(r.floor), r.ok, r.tooMany, r.failed)
			// Each call ends in one 200 of the server's, whatever it was
			// refused on the way: fewer means the count missed the route.
			if r.tooMany > 0 || r.failed > 0 || r.ok != goroutines*calls || (sc.maxWall > 0 && r.wall > sc.maxWall) {
				missed = append(missed, fmt.Sprintf("%s run %d", sc.name, i+1))
			}
		}
	}
	if len(missed) > 0 {
		return fmt.Errorf("missed the mark (a 429, a failed call, a 200 short of the calls, or over the wall time): %s", strings.Join(missed, ", "))
	}
	return nil
}

// buildServer builds plannr-server from the module that go.mod replaces,
// into dir.
func buildServer(dir string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/plannr-toolkit/plannr-oauth").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module to build plannr-server from: %w", err)
	}
	bin := filepath.Join(dir, "plannr-server")
	build := exec.Command("go", "build", "-o", bin, "./cmd/plannr-server")
	build.Dir = strings.TrimSpace(string(out))
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building plannr-server: %w", err)
	}
	return bin, nil
}

func (sc scenario) run(serverBin string, goroutines, calls int) (result, error) {
	srv, err := startServer(serverBin, sc.limit, sc.window)
	if err != nil {
		return result{}, err
	}
	defer srv.stop()
	base := srv.url
	if sc.proxied {
		proxy, err := startProxy(srv.url)
		if err != nil {
			return result{}, err
		}
		defer proxy.Close()
		base = "http://" + proxy.Addr
	}

	c, err := client.New(token, client.WithBaseURL(base))
	if err != nil {
		return result{}, err
	}
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	ctx := context.Background()
	start := time.Now()
	for range goroutines {
		wg.Go(func() {
			for range calls {
				if _, err := client.Check(c.ListOAuthConnectionsWithResponse(ctx)); err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, "call failed:", err)
				}
			}
		})
	}
	wg.Wait()
	r := result{wall: time.Since(start), failed: int(failed.Load())}
	// The window opens with the first request: the last of n windows opens
	// n-1 windows after it.
	windows := (goroutines*calls + sc.limit - 1) / sc.limit
	r.floor = time.Duration(windows-1) * sc.window
	counts, err := srv.statuses()
	if err != nil {
		return result{}, err
	}
	r.ok, r.tooMany = counts["200"], counts["429"]
	return r, nil
}

// server is a running plannr-server.
type server struct {
	cmd *exec.Cmd
	url string
}

func startServer(bin string, limit int, window time.Duration) (*server, error) {
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", ":memory:",
		"-rate-limit", strconv.Itoa(limit), "-rate-window", window.String())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &server{cmd: cmd}
	// Its request log would only slow it down.
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// The first line says where it listens; the rest is read so that the
	// server never blocks on a full pipe.
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "plannr-server listening on "); ok {
			s.url, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if s.url == "" {
		s.stop()
		return nil, errors.New("plannr-server did not say where it listens")
	}
	return s, nil
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

// statuses reads the server's count of the list's answers by status from
// /metrics, in Prometheus's text format: lines such as
// plannr_http_requests_total{method="GET",route="/api/v1/oauth/connections",status="429"} 3
// The route is the generated client's, whose path has no parameter and so is
// its own template.
func (s *server) statuses() (map[string]int, error) {
	list, err := gen.NewListOAuthConnectionsRequest(s.url)
	if err != nil {
		return nil, err
	}
	route := fmt.Sprintf("route=%q", list.URL.Path)
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	counts := map[string]int{}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		line := lines.Text()
		labels, ok := strings.CutPrefix(line, "plannr_http_requests_total{")
		if !ok || !strings.Contains(labels, route) {
			continue
		}
		_, status, _ := strings.Cut(labels, `status="`)
		status, _, _ = strings.Cut(status, `"`)
		value := line[strings.LastIndexByte(line, ' ')+1:]
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		counts[status] += int(n)
	}
	return counts, lines.Err()
}

// startProxy serves a reverse proxy to target whose first answer is a 502
// with no header at all, not even Date, and no body: what a load balancer
// may answer while its upstream restarts.
func startProxy(target string) (*http.Server, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	forward := httputil.NewSingleHostReverseProxy(u)
	var answered atomic.Bool
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answered.CompareAndSwap(false, true) {
			// A nil Date keeps net/http from adding one.
			w.Header()["Date"] = nil
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		forward.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return nil, err
	}
	srv.Addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}
