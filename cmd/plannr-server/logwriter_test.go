package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
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

// errLogFull is the failure of flakyWriter's failing write, as a full disk
// or a terminal gone away fails a write to stderr.
var errLogFull = errors.New("no space left on device")

// flakyWriter fails its first write, after writing the first partial bytes of
// it, and then writes everything.
type flakyWriter struct {
	partial int
	failed  bool
	out     bytes.Buffer
}

func (f *flakyWriter) Write(p []byte) (int, error) {
	if !f.failed {
		f.failed = true
		n, _ := f.out.Write(p[:min(f.partial, len(p))])
		return n, errLogFull
	}
	return f.out.Write(p)
}

// TestLogWriterRecoversFromAFailedWrite: a write that fails loses the lines
// it carried and those alone. The lines after it, a shutdown's among them, go
// out after a line that tells what was lost.
func TestLogWriterRecoversFromAFailedWrite(t *testing.T) {
	const lost, after = "lost one\nlost two\n", "shutting down\n"
	for _, tt := range []struct {
		name    string
		partial int // bytes of the failed write that got out
	}{
		{"nothing written", 0},
		{"half a line written", 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &flakyWriter{partial: tt.partial}
			l := newLogWriter(w, time.Hour) // flushed by the test alone
			if _, err := io.WriteString(l, lost); err != nil {
				t.Fatal(err)
			}
			if err := l.Flush(); !errors.Is(err, errLogFull) {
				t.Fatalf("the failed write: %v", err)
			}
			_, _ = io.WriteString(l, after)
			if err := l.Close(); err != nil {
				t.Errorf("Close after the failed write: %v", err)
			}
			// What got out of the failed write, ended, then the note of the
			// rest of it, then the lines after it.
			want := regexp.QuoteMeta(lost[:tt.partial])
			if tt.partial > 0 {
				want += "\n"
			}
			want += fmt.Sprintf(`time=\S+ level=ERROR msg="log lines lost: writing them to the log failed" bytes=%d error="%s"\n`, len(lost)-tt.partial, errLogFull)
			want += regexp.QuoteMeta(after)
			if got := w.out.String(); !regexp.MustCompile("^" + want + "$").MatchString(got) {
				t.Errorf("the log: %q\nwant it to match %q", got, want)
			}
		})
	}
}
