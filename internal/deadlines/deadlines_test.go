package deadlines

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

const precision = 10 * time.Millisecond

// pair returns the server's end of a loopback connection accepted through
// Listen, and the client's end.
func pair(t testing.TB) (server, client net.Conn, ln net.Listener) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = Listen(inner, precision)
	t.Cleanup(func() { ln.Close() })
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, client, ln
}

// readErr reads one byte from c, and returns how long it took and the error.
func readErr(c net.Conn) (time.Duration, error) {
	start := time.Now()
	_, err := c.Read(make([]byte, 1))
	return time.Since(start), err
}

// TestDeadlines: a deadline cuts a Read or a Write off with the error a
// net.Conn's own gives, not before it and at most a precision (and the
// scheduler's slack) after; moving it, clearing it or setting it in the past
// behaves as a net.Conn's does.
func TestDeadlines(t *testing.T) {
	const d = 100 * time.Millisecond
	slack := precision + 200*time.Millisecond // a loaded CI machine
	tests := []struct {
		name string
		// arm sets the deadlines on the server's end c, then blocks in a Read
		// or a Write on it, and returns its error.
		arm func(t *testing.T, c, client net.Conn) error
		// after is when arm's call must return: not before, and within slack.
		after time.Duration
		// timeout tells whether it must fail with a timeout; otherwise it
		// must succeed.
		timeout bool
	}{
		{"read deadline", func(t *testing.T, c, _ net.Conn) error {
			_ = c.SetReadDeadline(time.Now().Add(d))
			_, err := readErr(c)
			return err
		}, d, true},
		{"SetDeadline sets the read deadline", func(t *testing.T, c, _ net.Conn) error {
			_ = c.SetDeadline(time.Now().Add(d))
			_, err := readErr(c)
			return err
		}, d, true},
		{"write deadline", func(t *testing.T, c, _ net.Conn) error {
			_ = c.SetWriteDeadline(time.Now().Add(d))
			chunk := make([]byte, 1<<20)
			for { // the client reads nothing: the socket's buffers fill
				if _, err := c.Write(chunk); err != nil {
					return err
				}
			}
		}, d, true},
		{"moved later before it passed", func(t *testing.T, c, _ net.Conn) error {
			_ = c.SetReadDeadline(time.Now().Add(d / 2))
			time.AfterFunc(d/4, func() { _ = c.SetReadDeadline(time.Now().Add(3 * d / 4)) })
			_, err := readErr(c)
			return err
		}, d, true},
		{"cleared before it passed", func(t *testing.T, c, client net.Conn) error {
			_ = c.SetReadDeadline(time.Now().Add(d / 2))
			time.AfterFunc(d/4, func() { _ = c.SetReadDeadline(time.Time{}) })
			time.AfterFunc(d, func() { _, _ = client.Write([]byte("x")) })
			_, err := readErr(c)
			return err
		}, d, false},
		{"in the past: at once, as net/http wakes a Read it waits on", func(t *testing.T, c, _ net.Conn) error {
			time.AfterFunc(d, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
			_, err := readErr(c)
			return err
		}, d, true},
		{"a new deadline after one passed holds again", func(t *testing.T, c, client net.Conn) error {
			_ = c.SetReadDeadline(time.Now().Add(d / 4))
			if _, err := readErr(c); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("first Read: %v, want a timeout", err)
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * d))
			time.AfterFunc(3*d/4, func() { _, _ = client.Write([]byte("x")) })
			_, err := readErr(c)
			return err
		}, d, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, client, _ := pair(t)
			start := time.Now()
			err := tt.arm(t, c, client)
			took := time.Since(start)
			var ne net.Error
			switch {
			case tt.timeout && !(errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()):
				t.Fatalf("error %v, want a timeout as a net.Conn's", err)
			case !tt.timeout && err != nil:
				t.Fatalf("error %v, want none", err)
			case took < tt.after-time.Millisecond || took > tt.after+slack:
				t.Errorf("returned after %v, want %v and at most %v later", took, tt.after, slack)
			}
		})
	}
}

// TestSweepEnds: the sweeping goroutine ends once the listener and every
// connection it gave are closed, and not while one is open.
func TestSweepEnds(t *testing.T) {
	before := runtime.NumGoroutine()
	c, _, ln := pair(t)
	ln.Close()
	time.Sleep(5 * precision)
	_ = c.SetReadDeadline(time.Now().Add(2 * precision))
	if took, err := readErr(c); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after the listener closed: %v after %v, want a timeout: no sweep", err, took)
	}
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(precision) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before: the sweep goes on", runtime.NumGoroutine(), before)
		}
	}
}

// BenchmarkSetReadDeadline is the cost of a move into the future, which
// net/http makes four times a request, on a net.Conn and through Listen.
func BenchmarkSetReadDeadline(b *testing.B) {
	for _, bb := range []struct {
		name string
		conn func(net.Conn) net.Conn
	}{
		{"net.Conn", func(c net.Conn) net.Conn { return c.(*conn).Conn }},
		{"Listen", func(c net.Conn) net.Conn { return c }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			c, _, _ := pair(b)
			c = bb.conn(c)
			go func() { _, _ = io.Copy(io.Discard, c) }() // a Read waits, as net/http's background read does
			for i := 0; b.Loop(); i++ {
				_ = c.SetReadDeadline(time.Now().Add(time.Duration(5+i%10) * time.Second))
			}
		})
	}
}
