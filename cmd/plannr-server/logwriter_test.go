package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/logtest"
)

// TestLogWriterFlushesOnItsTimer: a line waits in the buffer, and is out within
// a few intervals without Close.
func TestLogWriterFlushesOnItsTimer(t *testing.T) {
	var out logtest.Buffer
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
	logtest.Buffer
	started chan struct{}
	release chan struct{}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.started <- struct{}{}
	<-b.release
	return b.Buffer.Write(p)
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

// TestLineHandlerAsTextHandler: lineHandler writes every record as
// slog.TextHandler does, the ones it writes itself and the ones it leaves to
// it, and so do the handlers derived from it.
func TestLineHandlerAsTextHandler(t *testing.T) {
	at := time.Date(2026, 12, 2, 18, 4, 5, 600_000_000, time.FixedZone("", 3600))
	request := []slog.Attr{
		slog.String("method", "PUT"),
		slog.String("route", "/api/v1/oauth/connections/{oauthConnection_uuid}"),
		slog.Int("status", 200),
		slog.Duration("duration", 123456*time.Nanosecond),
		slog.String("request_id", "9f1c2d3e4a5b-42"),
	}
	tests := []struct {
		name  string
		level slog.Level
		time  time.Time
		msg   string
		attrs []slog.Attr
	}{
		{"the request line", slog.LevelInfo, at, "request", request},
		{"a 5xx with its error", slog.LevelError, at, "request", append(request[:len(request):len(request)], slog.String("error", "disk unplugged"))},
		{"no time", slog.LevelInfo, time.Time{}, "request", request},
		{"a whole second, in UTC", slog.LevelInfo, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "request", request},
		// The formatted second is kept from line to line: these follow one another.
		{"the same second, another millisecond", slog.LevelInfo, at.Add(399 * time.Millisecond), "request", request},
		{"the same second, another zone", slog.LevelInfo, at.In(time.FixedZone("", -(5*3600 + 1800))), "request", request},
		{"the next second", slog.LevelInfo, at.Add(time.Second), "request", request},
		{"before 1970", slog.LevelInfo, time.Date(1969, 12, 31, 23, 59, 59, 7_000_000, time.UTC), "request", request},
		{"a fraction under a millisecond", slog.LevelInfo, time.Date(2026, 1, 2, 3, 4, 5, 999_999, time.UTC), "request", request},
		{"a year of five digits", slog.LevelInfo, time.Date(12026, 1, 2, 3, 4, 5, 50_000_000, time.UTC), "request", request},
		{"a year before year 0", slog.LevelInfo, time.Date(-1, 1, 2, 3, 4, 5, 50_000_000, time.UTC), "request", request},
		{"an odd level", slog.LevelInfo + 2, at, "request", request},
		{"a message to quote", slog.LevelInfo, at, "shutting down", []slog.Attr{slog.Duration("timeout", 10*time.Second)}},
		{"a value to quote", slog.LevelInfo, at, "request", []slog.Attr{slog.String("route", "a=b"), slog.String("x", `"q"`)}},
		{"an empty value", slog.LevelInfo, at, "request", []slog.Attr{slog.String("request_id", "")}},
		{"a key to quote", slog.LevelInfo, at, "request", []slog.Attr{slog.Int("a b", 1)}},
		{"an empty key", slog.LevelInfo, at, "request", []slog.Attr{slog.Int("", 1), slog.Any("", nil)}},
		{"negative numbers and durations", slog.LevelInfo, at, "request", []slog.Attr{slog.Int("n", -7), slog.Duration("d", -time.Minute)}},
		{"other kinds", slog.LevelWarn, at, "request", []slog.Attr{slog.Bool("b", true), slog.Float64("f", 1.5), slog.Any("e", errors.New("x")), slog.Group("g", "k", 1)}},
		{"a non-ASCII value", slog.LevelInfo, at, "request", []slog.Attr{slog.String("label", "café")}},
		{"no attributes", slog.LevelInfo, at, "ready", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want, got bytes.Buffer
			r := slog.NewRecord(tt.time, tt.level, tt.msg, 0)
			r.AddAttrs(tt.attrs...)
			if err := slog.NewTextHandler(&want, nil).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if err := newLogHandler(&got).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("wrote %q\nTextHandler %q", got.String(), want.String())
			}
		})
	}
	// A derived handler, the time left out: the two log at different moments.
	var want, got bytes.Buffer
	slog.New(slog.NewTextHandler(&want, nil)).With("replica", 1).WithGroup("g").Info("request", "status", 200)
	slog.New(newLogHandler(&got)).With("replica", 1).WithGroup("g").Info("request", "status", 200)
	_, wantRest, _ := strings.Cut(want.String(), " ")
	if _, gotRest, _ := strings.Cut(got.String(), " "); gotRest != wantRest {
		t.Errorf("derived handler wrote %q\nTextHandler's %q", got.String(), want.String())
	}
}

func BenchmarkLineHandler(b *testing.B) {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.String("method", "PUT"), slog.String("route", "/api/v1/oauth/connections/{oauthConnection_uuid}"),
		slog.Int("status", 200), slog.Duration("duration", 123456*time.Nanosecond), slog.String("request_id", "9f1c2d3e4a5b-42"))
	for _, h := range []struct {
		name string
		h    slog.Handler
	}{{"text", slog.NewTextHandler(io.Discard, nil)}, {"line", newLogHandler(io.Discard)}} {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = h.h.Handle(context.Background(), r)
			}
		})
	}
}

// TestLogWriterFlushesWhenFull: a full buffer goes out without waiting for
// the interval, written by the flushing goroutine while the requests' lines
// go on into the buffer.
func TestLogWriterFlushesWhenFull(t *testing.T) {
	out := &blockingWriter{started: make(chan struct{}, 2), release: make(chan struct{})}
	l := newLogWriter(out, time.Hour)
	line := []byte(strings.Repeat("x", 99) + "\n")
	for range logBufferSize / len(line) {
		if _, err := l.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Write(line); err != nil { // the one that fills it
		t.Fatal(err)
	}
	select {
	case <-out.started:
	case <-time.After(10 * time.Second):
		t.Fatal("a full buffer was not written out")
	}
	if _, err := l.Write([]byte("after\n")); err != nil { // while the flush waits on the output
		t.Fatal(err)
	}
	close(out.release)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); len(got) != (logBufferSize/len(line)+1)*len(line)+len("after\n") || !strings.HasSuffix(got, "x\nafter\n") {
		t.Errorf("written %d bytes, ending %q", len(got), got[max(0, len(got)-20):])
	}
}

// errLogFull is the failure of flakyWriter's failing write, as a full disk
// or a terminal gone away fails a write to stderr.
var errLogFull = errors.New("no space left on device")

// flakyWriter writes at most accepts[i] bytes of its i-th write, and fails
// it if that is not all of it; it writes everything once accepts runs out. It counts the bytes
// of log lines it wrote: those of a write but its leading note (lostNoteRE).
type flakyWriter struct {
	accepts   []int
	out       bytes.Buffer
	lineBytes int
}

// lostNoteRE is the note of lost lines that begins a write, with the newline
// that ends a cut-off line before it.
var lostNoteRE = regexp.MustCompile(`^\n?time=\S+ level=ERROR msg="log lines lost[^\n]*\n`)

func (f *flakyWriter) Write(p []byte) (int, error) {
	n, err := len(p), error(nil)
	if len(f.accepts) > 0 {
		n = min(f.accepts[0], len(p))
		f.accepts = f.accepts[1:]
	}
	if n < len(p) {
		err = errLogFull
	}
	f.out.Write(p[:n])
	f.lineBytes += max(0, n-len(lostNoteRE.Find(p)))
	return n, err
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
			w := &flakyWriter{accepts: []int{tt.partial}}
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

// TestLogWriterCountsEveryLoss: failed writes back to back, or with a note of
// the loss cut off, or with a write that succeeds between them: the notes
// add up to the bytes of log lines lost, and each begins on a line of its
// own.
func TestLogWriterCountsEveryLoss(t *testing.T) {
	const all = 1 << 20 // a flush that succeeds
	for _, tt := range []struct {
		name    string
		accepts []int // bytes that each flush gets out before it fails
	}{
		{"one failure", []int{0}},
		{"a line cut off", []int{10}},
		{"two failures", []int{0, 0}},
		{"a line cut off, then two failures", []int{10, 0, 0}},
		{"the note cut off", []int{0, 5}},
		{"a line cut off, then the note", []int{10, 20}},
		{"failures with a success between", []int{10, all, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &flakyWriter{accepts: tt.accepts}
			l := newLogWriter(w, time.Hour) // flushed by the test alone
			written := 0
			for step := range len(tt.accepts) + 1 { // the last one succeeds
				for i := range 3 {
					n, _ := fmt.Fprintf(l, "level=INFO msg=request step=%d line=%d\n", step, i)
					written += n
				}
				_ = l.Flush()
			}
			if err := l.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			got := w.out.String()
			reported := 0
			for _, m := range regexp.MustCompile(`(^|\n|.)time=\S+ level=ERROR msg="log lines lost: writing them to the log failed" bytes=(\d+) error="([^"]*)"\n`).FindAllStringSubmatch(got, -1) {
				if m[1] != "" && m[1] != "\n" {
					t.Errorf("a note not on a line of its own: %q", m[0])
				}
				n, _ := strconv.Atoi(m[2])
				reported += n
				if m[3] != errLogFull.Error() {
					t.Errorf("the note's error: %q", m[3])
				}
			}
			if lost := written - w.lineBytes; reported != lost {
				t.Errorf("the notes report %d bytes lost; %d were\n%s", reported, lost, got)
			}
		})
	}
}
