package main

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that the flushing goroutine and the test may
// use at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogWriterFlushesOnItsTimer: a line waits in the buffer, and is out within
// a few intervals without Close.
func TestLogWriterFlushesOnItsTimer(t *testing.T) {
	var out lockedBuffer
	l := newLogWriter(&out, 10*time.Millisecond)
	defer l.Close()
	if _, err := l.Write([]byte("line\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "" {
		t.Fatalf("written through at once: %q", got)
	}
	for deadline := time.Now().Add(5 * time.Second); out.String() == "" && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := out.String(); got != "line\n" {
		t.Errorf("after the interval: %q", got)
	}
}

// blockingWriter blocks every Write until release is closed, after telling
// started (which has room for the writes of a test).
type blockingWriter struct {
	lockedBuffer
	started chan struct{}
	release chan struct{}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.started <- struct{}{}
	<-b.release
	return b.lockedBuffer.Write(p)
}

// TestLogWriterWritesOutsideTheLock: while the log is being written out, a
// request's line goes into the buffer without waiting, and comes out after the
// lines before it.
func TestLogWriterWritesOutsideTheLock(t *testing.T) {
	out := &blockingWriter{started: make(chan struct{}, 2), release: make(chan struct{})}
	l := newLogWriter(out, time.Hour)
	if _, err := l.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	flushed := make(chan error)
	go func() { flushed <- l.Flush() }()
	<-out.started // the flush is in out.Write, and stays there
	wrote := make(chan error)
	go func() {
		_, err := l.Write([]byte("second\n"))
		wrote <- err
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write waited for the flush's write to the output")
	}
	close(out.release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "first\nsecond\n" {
		t.Errorf("written %q", got)
	}
}
