// Package deadlines gives the connections of a listener read and write
// deadlines that one goroutine enforces to within a precision, in place of
// the runtime timer that net.Conn arms on every SetReadDeadline and
// SetWriteDeadline.
//
// net/http moves a kept-alive connection's deadlines eight times a request
// when the http.Server has timeouts: four into the future (the header's, the
// body's, the answer's, the idle wait's), three cleared, one in the past. On
// a net.Conn each move re-arms or stops a runtime timer under a lock: 178 ns
// a move into the future against 76 ns here (BenchmarkSetReadDeadline).
//
// Here a deadline in the future is only written down, and so is a clearing;
// a sweep every precision expires the deadlines that have passed by setting
// the connection's own deadline in the past, so that a Read or Write blocked
// on one returns the timeout error (os.ErrDeadlineExceeded) the deadline
// itself would have given, at most one precision late. A deadline already in
// the past (net/http's way of waking a Read it waits on), and the clearing
// that follows it, go to the connection at once: two moves of the eight.
package deadlines

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Listen returns ln with its connections' deadlines enforced by a sweep
// every precision. The sweep runs until ln is closed and every connection
// it accepted is closed too.
func Listen(ln net.Listener, precision time.Duration) net.Listener {
	l := &listener{Listener: ln, conns: map[*conn]struct{}{}}
	l.now.Store(time.Now().UnixNano())
	go l.sweep(precision)
	return l
}

type listener struct {
	net.Listener
	// now is the time of the last sweep, in Unix nanoseconds: a deadline
	// before it has passed for certain, and goes to the connection at once.
	now atomic.Int64

	mu     sync.Mutex // guards conns and closed
	conns  map[*conn]struct{}
	closed bool
}

func (l *listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: nc, l: l}
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	return c, nil
}

func (l *listener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.Listener.Close()
}

func (l *listener) sweep(precision time.Duration) {
	tick := time.NewTicker(precision)
	defer tick.Stop()
	for now := range tick.C {
		l.now.Store(now.UnixNano())
		l.mu.Lock()
		if l.closed && len(l.conns) == 0 {
			l.mu.Unlock()
			return
		}
		for c := range l.conns {
			c.expire(now)
		}
		l.mu.Unlock()
	}
}

// conn is a connection whose deadlines in the future the sweep enforces.
type conn struct {
	net.Conn
	l *listener

	mu          sync.Mutex // guards read and write
	read, write deadline
	closed      atomic.Bool
}

// deadline is one direction's deadline.
type deadline struct {
	at time.Time // the deadline the sweep enforces; zero for none
	// set tells that the connection itself holds a deadline (one in the
	// past), which the next change must clear.
	set bool
}

// aLongTimeAgo is the deadline the sweep gives a connection to expire it.
var aLongTimeAgo = time.Unix(1, 0)

func (c *conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.move(&c.read, t, c.Conn.SetReadDeadline); err != nil {
		return err
	}
	return c.move(&c.write, t, c.Conn.SetWriteDeadline)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.move(&c.read, t, c.Conn.SetReadDeadline)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.move(&c.write, t, c.Conn.SetWriteDeadline)
}

// move makes t d's deadline: a past one at once, through set; any other is
// written down for the sweep, and clears one the connection holds.
func (c *conn) move(d *deadline, t time.Time, set func(time.Time) error) error {
	if !t.IsZero() && !t.After(time.Unix(0, c.l.now.Load())) {
		d.at, d.set = time.Time{}, true
		return set(t)
	}
	d.at = t
	if d.set {
		d.set = false
		return set(time.Time{})
	}
	return nil
}

// expire expires the deadlines of c that are not after now.
func (c *conn) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read.passed(now) {
		_ = c.Conn.SetReadDeadline(aLongTimeAgo) // fails only on a closed connection
	}
	if c.write.passed(now) {
		_ = c.Conn.SetWriteDeadline(aLongTimeAgo)
	}
}

// passed reports whether d has a deadline not after now, which the
// connection is then to hold.
func (d *deadline) passed(now time.Time) bool {
	if d.at.IsZero() || d.at.After(now) {
		return false
	}
	d.at, d.set = time.Time{}, true
	return true
}

func (c *conn) Close() error {
	if !c.closed.Swap(true) {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	}
	return c.Conn.Close()
}
