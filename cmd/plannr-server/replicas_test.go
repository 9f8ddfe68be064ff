package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

// The multi-replica tests run three server processes on one PostgreSQL, each
// user's requests spread over all three, as a load balancer would.
const replicaCount = 3

// requestTimeout bounds every request of these tests: a replica whose database
// is gone must answer before it, never hang.
const requestTimeout = 5 * time.Second

// loadClient is a user of the multi-replica tests, who owns one connection.
type loadClient struct {
	token, conn string
	// The counters of the last write sent and the last one acknowledged.
	sent, acked atomic.Int64
}

// loadClients writes a fixtures file of n users with a connection each.
func loadClients(t *testing.T, n int) ([]*loadClient, string) {
	t.Helper()
	type conn struct {
		UUID      string `json:"uuid"`
		Provider  string `json:"provider"`
		Label     string `json:"label"`
		CreatedAt string `json:"created_at"`
	}
	type user struct {
		Token       string `json:"token"`
		Connections []conn `json:"connections"`
	}
	var users []user
	clients := make([]*loadClient, n)
	for i := range clients {
		clients[i] = &loadClient{token: fmt.Sprintf("client-%d-token", i), conn: fmt.Sprintf("00000000-0000-4000-8000-%012d", i)}
		users = append(users, user{Token: clients[i].token, Connections: []conn{{
			UUID: clients[i].conn, Provider: "fundment", Label: "seeded", CreatedAt: "2025-01-02T03:04:05+00:00",
		}}})
	}
	b, err := json.Marshal(map[string]any{"users": users})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return clients, path
}

// cluster is three replicas on one database; bases[i] is replica i's URL,
// which changes when it is restarted.
type cluster struct {
	args  []string
	mu    sync.Mutex
	procs []*process
}

func startCluster(t *testing.T, args ...string) *cluster {
	c := &cluster{args: args, procs: make([]*process, replicaCount)}
	var wg sync.WaitGroup
	for i := range c.procs {
		wg.Go(func() { c.procs[i] = startProcess(t, args...) }) // together, as a deployment starts them
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return c
}

func (c *cluster) base(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[i%replicaCount].base
}

// kill sends SIGKILL to replica i and waits for it to die.
func (c *cluster) kill(t *testing.T, i int) {
	c.mu.Lock()
	p := c.procs[i]
	c.mu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.wait(t) // "signal: killed"
}

// restart starts replica i anew, on another port.
func (c *cluster) restart(t *testing.T, i int) {
	p := startProcess(t, c.args...)
	c.mu.Lock()
	c.procs[i] = p
	c.mu.Unlock()
}

// stop ends every replica with SIGTERM and returns their logs.
func (c *cluster) stop(t *testing.T) []string {
	logs := make([]string, replicaCount)
	for i, p := range c.procs {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := p.wait(t); err != nil {
			t.Errorf("replica %d: exit after SIGTERM: %v", i, err)
		}
		logs[i] = p.stderr.String()
	}
	return logs
}

// do sends a request, as token unless it is empty, and returns the answer's status and headers,
// or the error of a request that got none.
func do(c *http.Client, method, url, token, body string) (int, http.Header, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header, err
}

// TestReplicasShareTheRateLimit sends bursts of three times the limit for each
// user, spread over the replicas: in each window that fills up, exactly limit
// answers are not 429, because the replicas count in one table.
func TestReplicasShareTheRateLimit(t *testing.T) {
	const (
		limit  = 20
		window = 3 * time.Second // see windowsOf
		rounds = 2
	)
	db := storetest.PostgresURL(t)
	clients, fixtures := loadClients(t, 3)
	c := startCluster(t, "-db", db, "-fixtures", fixtures, "-rate-limit", strconv.Itoa(limit), "-rate-window", window.String())
	defer c.stop(t)
	hc := &http.Client{Timeout: requestTimeout}

	for round := range rounds {
		var (
			mu              sync.Mutex
			allowed, denied = map[userReset]int{}, map[userReset]int{}
			lastReset       int64
			wg              sync.WaitGroup
		)
		for u, cl := range clients {
			for w := range 3 * limit {
				wg.Go(func() {
					code, h, err := do(hc, http.MethodGet, c.base(w)+connections, cl.token, "")
					if err != nil {
						t.Error(err)
						return
					}
					reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
					if err != nil {
						t.Errorf("user %d: X-RateLimit-Reset: %v", u, err)
					}
					k := userReset{u, reset}
					mu.Lock()
					defer mu.Unlock()
					lastReset = max(lastReset, reset)
					switch code {
					case http.StatusOK:
						allowed[k]++
					case http.StatusTooManyRequests:
						denied[k]++
					default:
						t.Errorf("user %d: status %d", u, code)
					}
				})
			}
		}
		wg.Wait()
		allowed, denied = windowsOf(allowed, denied)
		full := map[int]bool{}
		for k, n := range denied {
			full[k.user] = true
			if allowed[k] != limit {
				t.Errorf("round %d, user %d, window closing at %d: %d allowed and %d refused across the replicas, want exactly %d allowed",
					round, k.user, k.reset, allowed[k], n, limit)
			}
		}
		for u := range clients {
			if !full[u] {
				t.Errorf("round %d: user %d's %d requests filled no window", round, u, 3*limit)
			}
		}
		for k, n := range allowed {
			if n > limit {
				t.Errorf("round %d, user %d: %d allowed in one window", round, k.user, n)
			}
		}
		// The next round opens new windows: at the second X-RateLimit-Reset
		// says, a window is over (rather than window after the round began,
		// which its first requests may have reached late).
		time.Sleep(time.Until(time.Unix(lastReset, 0)))
	}
}

// userReset counts a user's answers by the X-RateLimit-Reset they said.
type userReset struct {
	user  int
	reset int64
}

// windowsOf adds up the counts of answers allowed and denied by window
// rather than by X-RateLimit-Reset. The header is the window's end by the
// database's clock, counted from the replica's time of each answer, which
// comes a moment after the count: the answers of one window say its end or
// the second after. Windows of 3 s end 3 s apart at least, so that a window
// is the values within a second of its first.
func windowsOf(allowed, denied map[userReset]int) (map[userReset]int, map[userReset]int) {
	resets := map[int][]int64{}
	for k := range allowed {
		resets[k.user] = append(resets[k.user], k.reset)
	}
	for k := range denied {
		resets[k.user] = append(resets[k.user], k.reset)
	}
	window := map[userReset]userReset{} // each key, to its window's
	for u, rs := range resets {
		slices.Sort(rs)
		first := rs[0]
		for _, r := range rs {
			if r > first+1 {
				first = r
			}
			window[userReset{u, r}] = userReset{u, first}
		}
	}
	byWindow := func(counts map[userReset]int) map[userReset]int {
		out := map[userReset]int{}
		for k, n := range counts {
			out[window[k]] += n
		}
		return out
	}
	return byWindow(allowed), byWindow(denied)
}

// TestReplicasSurviveFailures runs a write load over three replicas while one
// replica is SIGKILLed and restarted, and then PostgreSQL itself is stopped and
// started again. No acknowledged write is lost, the others keep serving, the
// restarted replica does not migrate again, requests fail fast with a 503 while
// the database is down, /readyz follows it, and all recover by themselves.
func TestReplicasSurviveFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a replica and restarts PostgreSQL")
	}
	storetest.RequirePostgres(t) // gated like the other PostgreSQL tests,
	pg := startPostgres(t)       // but on a server of its own, which it restarts
	db := storetest.NewDatabase(t, pg.url)
	clients, fixtures := loadClients(t, 6)
	c := startCluster(t, "-db", db, "-fixtures", fixtures, "-rate-limit", "0")
	hc := &http.Client{Timeout: requestTimeout}

	// Each client writes its own connection, in turn through each replica.
	var (
		stop                    = make(chan struct{})
		wg                      sync.WaitGroup
		ok, unavailable, failed atomic.Int64 // answers 200, answers 503, requests without answer
		servedDuringKill        atomic.Int64
		killed                  atomic.Bool
	)
	for i, cl := range clients {
		wg.Go(func() {
			for n := 1; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				cl.sent.Store(int64(n))
				began := time.Now()
				code, _, err := do(hc, http.MethodPut, c.base(i+n)+connections+"/"+cl.conn, cl.token, `{"label":"`+writeLabel(n)+`"}`)
				switch {
				case err != nil:
					if took := time.Since(began); took >= requestTimeout {
						t.Errorf("client %d: a request hung for %v: %v", i, took, err)
					}
					failed.Add(1)
					time.Sleep(10 * time.Millisecond) // a dead replica refuses at once
				case code == http.StatusOK:
					cl.acked.Store(int64(n))
					ok.Add(1)
					if killed.Load() {
						servedDuringKill.Add(1)
					}
				case code == http.StatusServiceUnavailable:
					unavailable.Add(1)
					time.Sleep(10 * time.Millisecond)
				default:
					t.Errorf("client %d: write %d answered %d", i, n, code)
				}
			}
		})
	}
	stopLoad := func() {
		close(stop)
		wg.Wait()
	}
	defer func() {
		select {
		case <-stop:
		default:
			stopLoad()
		}
	}()
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	migrations := gooseVersions(t, conn)
	conn.Close(t.Context())

	// One replica is killed mid-load, and restarted.
	time.Sleep(700 * time.Millisecond)
	killed.Store(true)
	c.kill(t, 1)
	time.Sleep(700 * time.Millisecond)
	killed.Store(false)
	if servedDuringKill.Load() == 0 {
		t.Error("no write was acknowledged while a replica was dead")
	}
	c.restart(t, 1)

	// PostgreSQL is stopped mid-load, and started again.
	time.Sleep(700 * time.Millisecond)
	before503 := unavailable.Load()
	pg.ctl(t, "stop", "-m", "fast")
	notReady := waitReady(t, c, http.StatusServiceUnavailable)
	if notReady > 2*time.Second {
		t.Errorf("/readyz answered 503 on every replica %v after PostgreSQL stopped, want within 2s", notReady)
	}
	time.Sleep(time.Second)
	pg.ctl(t, "start")
	ready := waitReady(t, c, http.StatusOK)
	if ready > 5*time.Second {
		t.Errorf("/readyz answered 200 on every replica %v after PostgreSQL started, want within 5s", ready)
	}
	t.Logf("/readyz: 503 on every replica %v after PostgreSQL stopped, 200 again %v after it started",
		notReady.Round(time.Millisecond), ready.Round(time.Millisecond))
	if unavailable.Load() == before503 {
		t.Error("no request was answered 503 while PostgreSQL was down")
	}
	okAfter := ok.Load()
	time.Sleep(700 * time.Millisecond)
	stopLoad()
	if ok.Load() == okAfter {
		t.Error("no write was acknowledged after PostgreSQL came back")
	}

	// Every replica shows each client's last acknowledged write, or a later
	// one that was written but whose answer the failure cut off.
	for i, cl := range clients {
		acked, sent := int(cl.acked.Load()), int(cl.sent.Load())
		for r := range replicaCount {
			label := connectionLabel(t, hc, c.base(r), cl.token, cl.conn)
			if n := labelNumber(label); n < acked || n > sent {
				t.Errorf("client %d: replica %d shows %q; acknowledged write %d, sent %d", i, r, label, acked, sent)
			}
		}
	}
	conn, err = pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	if again := gooseVersions(t, conn); again != migrations {
		t.Errorf("goose_db_version after the restarts:\n%s\nbefore:\n%s", again, migrations)
	}
	logs := c.stop(t)
	if !strings.Contains(logs[1], "migrations_applied=[]") {
		t.Errorf("the restarted replica's log does not say it applied no migration:\n%s", logs[1])
	}
	t.Logf("%d writes acknowledged, %d answered 503, %d without answer (the dead replica, the database restart)",
		ok.Load(), unavailable.Load(), failed.Load())
}

// gooseVersions is goose's record of the migrations applied, and when.
func gooseVersions(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	rows, _ := conn.Query(t.Context(), `SELECT version_id, tstamp FROM goose_db_version ORDER BY id`) // CollectRows reports its error
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var (
			v  int64
			at time.Time
		)
		err := r.Scan(&v, &at)
		return fmt.Sprint(v, " ", at.Format(time.RFC3339Nano)), err
	})
	if err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir("../../internal/store/postgres/migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1+len(files) {
		t.Errorf("goose_db_version has %d rows, want %d (goose's version 0, then one a migration)", len(lines), 1+len(files))
	}
	return strings.Join(lines, "\n")
}

// waitReady polls every replica's /readyz until all answer want, and returns
// how long that took; it gives up after 10s.
func waitReady(t *testing.T, c *cluster, want int) time.Duration {
	t.Helper()
	hc := &http.Client{Timeout: requestTimeout}
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		all := true
		for r := range replicaCount {
			if code, _, err := do(hc, http.MethodGet, c.base(r)+"/readyz", "", ""); err != nil || code != want {
				all = false
			}
		}
		if all {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the replicas' /readyz did not all answer %d within 10s", want)
	return 0
}

// postgresServer is a PostgreSQL server of one test, in a temporary directory.
type postgresServer struct {
	url string
	// pgctl runs pg_ctl on the server's data directory, as the user who owns it.
	pgctl []string
}

// startPostgres runs initdb and starts a server on a free loopback port, as
// .ci/postgres does, and removes it when t ends. As root, it runs them as the
// postgres user, since initdb refuses root.
func startPostgres(t *testing.T) *postgresServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb") // Debian's layout
	initdb := "initdb"
	if len(bins) > 0 {
		initdb = bins[len(bins)-1]
	}
	bin := filepath.Dir(initdb)
	dir, err := os.MkdirTemp("", "plannr-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var as []string
	if os.Geteuid() == 0 {
		as = []string{"runuser", "-u", "postgres", "--"}
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	command(t, append(as, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n", port, dir)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	pg := &postgresServer{
		url:   fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		pgctl: append(as, filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "server.log"), "-w"),
	}
	pg.ctl(t, "start")
	t.Cleanup(func() { pg.ctl(t, "stop", "-m", "immediate") })
	return pg
}

// ctl runs pg_ctl with args.
func (pg *postgresServer) ctl(t *testing.T, args ...string) {
	t.Helper()
	command(t, append(append([]string{}, pg.pgctl...), args...)...)
}

// command runs args and fails t if it fails or takes over a minute.
func command(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
