package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// logFlushInterval is how long a log line may wait in logWriter's buffer.
const logFlushInterval = 100 * time.Millisecond

// logBufferSize is how much of the log logWriter gathers before it has it
// written out without waiting for the interval; logBufferMax is how much it
// holds at most before a line waits for the log to go out.
const (
	logBufferSize = 64 << 10
	logBufferMax  = 16 * logBufferSize
)

// logWriter takes the log's write(2) off the request path: lines are
// gathered in a buffer, and written out every interval, when the buffer
// fills, and on Close. A line is late by at most the interval; one written
// before Close is never lost but to a failed write, and main closes it on
// every way out but SIGKILL.
//
// A write that fails (a full disk, a terminal gone) loses the lines it
// carried, and those alone: the next write begins with a line that tells how
// much was lost and why, and the log goes on. (bufio.Writer keeps its first
// error and refuses every write after it, so that one failure would silence
// the log for good, the shutdown's lines included.)
//
// No request waits for the disk: the flushing goroutine writes, outside the
// lock that Write takes (the buffer is swapped for a spare one under it),
// and a full buffer only wakes it. Only a log that outruns the disk by
// logBufferMax makes the line that passes it write the log out itself.
type logWriter struct {
	out io.Writer

	mu  sync.Mutex // guards buf
	buf []byte

	// writing lets one flush write at a time, so that lines go out in the
	// order they came; it guards spare, the buffer that is not buf, and the
	// loss the next write begins by telling.
	writing sync.Mutex
	spare   []byte
	// lost counts the bytes of lines that failed writes did not get out
	// since the last note of them, lostErr is the last failure, and midLine
	// says that the output ends in a cut-off line. They are not bytes in
	// buf: a note that fails in turn is told again, added to, and never
	// counted as lost itself.
	lost    int
	lostErr error
	midLine bool

	full chan struct{} // wakes the flushing goroutine: buf has logBufferSize
	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer, interval time.Duration) *logWriter {
	l := &logWriter{out: w, buf: make([]byte, 0, logBufferSize), spare: make([]byte, 0, logBufferSize),
		full: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-l.full:
			case <-l.stop:
				return
			}
			_ = l.Flush()
		}
	}()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	n := len(l.buf)
	l.mu.Unlock()
	switch {
	case n >= logBufferMax:
		_ = l.Flush() // a failure is told in the log itself
	case n >= logBufferSize:
		select {
		case l.full <- struct{}{}:
		default: // woken already
		}
	}
	return len(p), nil
}

// Flush writes out what is buffered, and returns the error of that write.
func (l *logWriter) Flush() error {
	l.writing.Lock()
	defer l.writing.Unlock()
	l.mu.Lock()
	out := l.buf
	l.buf, l.spare = l.spare[:0], out
	l.mu.Unlock()
	if len(out) == 0 && l.lost == 0 {
		return nil
	}
	p := out
	if l.lost > 0 {
		p = append(l.lostNote(), out...)
	}
	n, err := l.out.Write(p)
	if n > 0 {
		l.midLine = p[n-1] != '\n'
	}
	noteLen := len(p) - len(out)
	if n >= noteLen {
		l.lost = 0 // told
	}
	if err != nil {
		l.lost += len(out) - max(n-noteLen, 0)
		l.lostErr = err
	}
	return err
}

// lostNote is the log line that tells of the bytes lost, on a line of its own.
func (l *logWriter) lostNote() []byte {
	var note bytes.Buffer
	if l.midLine {
		note.WriteByte('\n')
	}
	slog.New(slog.NewTextHandler(&note, nil)).Error("log lines lost: writing them to the log failed", "bytes", l.lost, "error", l.lostErr)
	return note.Bytes()
}

// Close stops the timer and writes out what is buffered. Lines written after
// Close are still buffered; Flush writes them.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	return l.Flush()
}

// newLogHandler is the log's handler: slog.NewTextHandler(w, nil), whose
// lines lineHandler writes for it where it can.
func newLogHandler(w io.Writer) slog.Handler {
	return &lineHandler{Handler: slog.NewTextHandler(w, nil), w: w}
}

// lineHandler writes a record as its slog.TextHandler would, byte for byte,
// when every string in it (message, keys, values) is plain and every value a
// string, an integer or a duration: the request's log line, which
// TextHandler's general machinery (a state from a pool, a closure per
// attribute, a quoting test per rune) took 2 µs of each request to write
// under load. Any other record is the TextHandler's, and so is every
// handler derived with WithAttrs or WithGroup. TestLineHandlerAsTextHandler
// holds the two to the same bytes.
type lineHandler struct {
	slog.Handler // the TextHandler
	w            io.Writer
}

var lineBuffers = sync.Pool{New: func() any { return new([]byte) }}

func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	p := lineBuffers.Get().(*[]byte)
	defer lineBuffers.Put(p)
	line, ok := appendLine((*p)[:0], r)
	*p = line
	if !ok {
		return h.Handler.Handle(ctx, r)
	}
	_, err := h.w.Write(line) // one line a Write: logWriter keeps lines whole
	return err
}

// appendLine appends r as TextHandler writes it, or reports false if r has
// what it would quote or format otherwise.
func appendLine(b []byte, r slog.Record) ([]byte, bool) {
	if !r.Time.IsZero() {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, r.Time.Round(0))
		b = append(b, ' ')
	}
	level := r.Level.String()
	if !plain(level) || !plain(r.Message) {
		return b, false
	}
	b = append(append(b, "level="...), level...)
	b = append(append(b, " msg="...), r.Message...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		if ok = plain(a.Key); !ok {
			return false
		}
		b = append(append(append(b, ' '), a.Key...), '=')
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			ok = plain(v.String())
			b = append(b, v.String()...)
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindDuration:
			b = append(b, v.Duration().String()...)
		default:
			ok = false
		}
		return ok
	})
	return append(b, '\n'), ok
}

// plain reports whether TextHandler writes s as it is: it is not empty, and
// has only characters of this set, none of which it quotes.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '/', c == '{', c == '}', c == ':', c == '+':
		default:
			return false
		}
	}
	return true
}

// appendRFC3339Millis appends t as slog does: RFC 3339 with exactly three
// digits of milliseconds. All but the milliseconds is formatted once a
// second (lastSecond), which takes a line's handler from 230 ns to 155
// (BenchmarkLineHandler).
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	s := lastSecond.Load()
	if s == nil || s.unix != t.Unix() || s.loc != t.Location() {
		if y := t.Year(); y < 0 || y > 9999 {
			return slogRFC3339Millis(b, t)
		}
		whole := slogRFC3339Millis(nil, t.Truncate(time.Second)) // 2006-01-02T15:04:05.000Z07:00
		s = &formattedSecond{unix: t.Unix(), loc: t.Location(), date: whole[:19], zone: whole[23:]}
		lastSecond.Store(s)
	}
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, s.date...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, s.zone...)
}

// formattedSecond is one second of one location, formatted: its date and time of
// day, and its zone's offset (one second has one offset: zones change on a
// second's boundary).
type formattedSecond struct {
	unix       int64
	loc        *time.Location
	date, zone []byte
}

// lastSecond is the second of the last line's time: the next line is most
// often in it.
var lastSecond atomic.Pointer[formattedSecond]

// slogRFC3339Millis is slog's own way, which formats the whole time each
// line. appendRFC3339Millis takes its second from it, and leaves it a year
// outside 0-9999, in which slog's digits are not RFC 3339's (it drops the
// fourth digit of the fraction by a position that assumes a four-digit
// year) and a log line keeps them as slog writes them.
func slogRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10) // keeps the fraction's trailing zeros
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...) // drops the fourth digit
}
