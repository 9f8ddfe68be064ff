package main

import (
	"io"
	"sync"
	"time"
)

// logFlushInterval is how long a log line may wait in logWriter's buffer.
const logFlushInterval = 100 * time.Millisecond

// logBufferSize is how much of the log logWriter gathers before it writes it
// out without waiting for the interval.
const logBufferSize = 64 << 10

// logWriter takes the log's write(2) off the request path: lines are
// gathered in a buffer, and written out every interval, when the buffer fills,
// and on Close. A line is late by at most the interval; one written before
// Close is never lost, and main closes it on every way out but SIGKILL.
//
// The write(2) happens outside the lock that Write takes: the buffer is
// swapped for a spare one under the lock, and written out after. A request
// that logs while the log goes to disk waits for the swap, not for the disk,
// nor for the flushing thread to be scheduled again on a busy machine.
type logWriter struct {
	out io.Writer

	mu  sync.Mutex // guards buf
	buf []byte

	// writing lets one flush write at a time, so that lines go out in the
	// order they came; it guards spare, the buffer that is not buf.
	writing sync.Mutex
	spare   []byte

	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer, interval time.Duration) *logWriter {
	l := &logWriter{out: w, buf: make([]byte, 0, logBufferSize), spare: make([]byte, 0, logBufferSize),
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				_ = l.Flush()
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	if len(l.buf) > 0 && len(l.buf)+len(p) > logBufferSize {
		l.mu.Unlock()
		if err := l.Flush(); err != nil {
			return 0, err
		}
		l.mu.Lock()
	}
	l.buf = append(l.buf, p...)
	l.mu.Unlock()
	return len(p), nil
}

// Flush writes out what is buffered.
func (l *logWriter) Flush() error {
	l.writing.Lock()
	defer l.writing.Unlock()
	l.mu.Lock()
	out := l.buf
	l.buf, l.spare = l.spare[:0], out
	l.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	_, err := l.out.Write(out)
	return err
}

// Close stops the timer and writes out what is buffered. Lines written after
// Close are still buffered; Flush writes them.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	return l.Flush()
}
