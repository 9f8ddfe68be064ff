package main

import (
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

// hangingProxy relays TCP connections to a server until hang is called. From
// then on it relays nothing, on the connections it holds and on those it
// accepts after, and closes none: a database that hangs rather than refuses,
// as behind a network that drops its packets.
type hangingProxy struct {
	ln    net.Listener
	hung  atomic.Bool
	mu    sync.Mutex
	conns []net.Conn
}

// startHangingProxy relays to target (host:port) from a loopback port of its
// own, until t ends.
func startHangingProxy(t *testing.T, target string) *hangingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &hangingProxy{ln: ln}
	t.Cleanup(p.close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.hold(c)
			if p.hung.Load() {
				continue // accepted, and never answered
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.hold(up)
			go p.relay(c, up)
			go p.relay(up, c)
		}
	}()
	return p
}

func (p *hangingProxy) addr() string { return p.ln.Addr().String() }

// hang stops the relaying.
func (p *hangingProxy) hang() { p.hung.Store(true) }

func (p *hangingProxy) hold(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
}

// relay copies src to dst until either closes, swallowing what src sends
// once the proxy hangs.
func (p *hangingProxy) relay(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if p.hung.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *hangingProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestPostgreSQLThatHangs: when the database stops answering without
// refusing, on the pool's connections and on new ones, /readyz and the API
// answer 503 within -request-timeout, rather than never.
func TestPostgreSQLThatHangs(t *testing.T) {
	const timeout = time.Second
	db, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startHangingProxy(t, db.Host)
	db.Host = proxy.addr()
	base, _, stop := startServer(t, config{db: db.String(), fixtures: exampleFixtures, requestTimeout: timeout})
	defer stop()
	// Before the server stops, the database goes away: the pool's Close waits
	// up to 15 s for a database that hangs to see each connection off.
	defer proxy.close()
	// A client that waits far longer than -request-timeout, so that a request
	// without a bound shows as one.
	hc := &http.Client{Timeout: 30 * time.Second}
	requests := []struct{ path, token string }{{"/readyz", ""}, {connections, aliceToken}}
	for _, r := range requests {
		if code, _, err := do(hc, http.MethodGet, base+r.path, r.token, ""); err != nil || code != http.StatusOK {
			t.Fatalf("GET %s before the database hangs: %d %v", r.path, code, err)
		}
	}
	proxy.hang()
	for _, r := range requests {
		start := time.Now()
		code, _, err := do(hc, http.MethodGet, base+r.path, r.token, "")
		took := time.Since(start)
		// Generous beyond the timeout for a loaded machine, far short of the client's 30 s.
		if err != nil || code != http.StatusServiceUnavailable || took > timeout+5*time.Second {
			t.Errorf("GET %s with the database hanging: %d %v after %v, want 503 within -request-timeout (%v)", r.path, code, err, took.Round(time.Millisecond), timeout)
		}
	}
}
