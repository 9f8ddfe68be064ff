package main

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logFlushInterval is how long a log line may wait in logWriter's buffer.
const logFlushInterval = 100 * time.Millisecond

// logBufferSize is how much of the log logWriter holds before it writes it
// out without waiting for its timer.
const logBufferSize = 64 << 10

// logWriter takes the log's write(2) off the request path: lines are
// buffered, and written out every interval, when the buffer fills, and on
// Close. A line is late by at most the interval; one written before Close is
// never lost but to a failed write, and main closes it on every way out but
// SIGKILL.
//
// A write that fails (a full disk, a terminal gone) loses the lines it
// carried, and those alone: the next write begins with a line that tells how
// much was lost and why, and the log goes on. (bufio.Writer keeps its first
// error and refuses every write after it, so that one failure would silence
// the log for good, the shutdown's lines included.)
type logWriter struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer, interval time.Duration) *logWriter {
	l := &logWriter{w: w, buf: make([]byte, 0, logBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
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

// Write buffers p; it never fails, as a failed write of the buffer is
// reported in the log itself.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf)+len(p) > logBufferSize {
		_ = l.flush()
	}
	l.buf = append(l.buf, p...) // a line longer than the buffer makes it grow
	return len(p), nil
}

// Flush writes out what is buffered, and returns the error of that write.
func (l *logWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flush()
}

func (l *logWriter) flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	n, err := l.w.Write(l.buf)
	if err == nil {
		l.buf = l.buf[:0]
		return nil
	}
	lost, midLine := len(l.buf)-n, n > 0 && l.buf[n-1] != '\n'
	var note bytes.Buffer
	if midLine {
		note.WriteByte('\n') // the note on a line of its own after what got out
	}
	slog.New(slog.NewTextHandler(&note, nil)).Error("log lines lost: writing them to the log failed", "bytes", lost, "error", err)
	l.buf = append(l.buf[:0], note.Bytes()...)
	return err
}

// Close stops the timer and writes out what is buffered. Lines written after
// Close are still buffered; Flush writes them.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	return l.Flush()
}
