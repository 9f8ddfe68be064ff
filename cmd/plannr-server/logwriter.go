package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logFlushInterval is how long a log line may wait in logWriter's buffer.
const logFlushInterval = 100 * time.Millisecond

// logWriter takes the log's write(2) off the request path: lines are
// buffered, and written out every interval, when the buffer fills, and on
// Close. A line is late by at most the interval; one written before Close is
// never lost, and main closes it on every way out but SIGKILL.
type logWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer, interval time.Duration) *logWriter {
	l := &logWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
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
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Flush writes out what is buffered.
func (l *logWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Flush()
}

// Close stops the timer and writes out what is buffered. Lines written after
// Close are still buffered; Flush writes them.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	return l.Flush()
}
