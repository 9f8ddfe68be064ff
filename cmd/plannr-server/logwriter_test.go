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
