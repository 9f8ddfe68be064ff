package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
	"github.com/plannr-toolkit/plannr-oauth/internal/apispec"
)

// Listener returns ln whose connections answer net/http's own errors, written
// before any handler runs, as the API's JSON. net/http answers a request it
// cannot parse (400, and 505 for an HTTP version it does not serve), a header
// block over the http.Server's MaxHeaderBytes (431) and a transfer coding it
// does not know (501) by itself, in text/plain, and an Expect header other
// than 100-continue (417) with no body at all, where no handler and so no
// Server can reach; through Listener they carry the status net/http chose, the
// body {"message": ...} with the spec's message for it (x-messages), and
// Content-Type: application/json, Cache-Control: no-store and
// X-Content-Type-Options: nosniff, as the Server's other errors do, and the
// connection is still closed. A handler's 417 is left alone, unless it is
// net/http's byte for byte: Connection: close its only header, no body.
//
// These answers are not observed: no X-Request-Id, log line or metric tells
// of them, as no Server is named. Server.Listener (and Pages.Listener) is this
// listener observed by the server that the http.Server serves; use it.
//
// Serve the http.Server on it (srv.Serve(server.Listener(ln))), after any other
// wrapper, for plain HTTP: under TLS, net/http encrypts what it writes below
// the listener's connections, where Listener cannot read it. Every other
// write costs a comparison of its first bytes.
func Listener(ln net.Listener) net.Listener { return jsonErrorsListener{ln, nil} }

// Listener returns ln whose connections answer net/http's own errors as the
// API's JSON, as the package's Listener does, and tell of each as s tells of
// its other answers: an X-Request-Id of s's (never the client's, as the
// request was not read), a log line to s's logger (WithLogger), and a count
// in s's metrics (WithMetrics). The line is s's request line, msg=request,
// with route=unmatched, status, request_id and net/http's reason as error
// ("400 Bad Request: missing required Host header", say); it has no method
// and no duration, which no handler could know, and is at ERROR for a 5xx
// (501, 505) as s's other lines are. The count is
// plannr_http_requests_total{route="unmatched", method="", status}: method
// is empty, as no method was read; the duration histogram and the in-flight
// gauge do not see these answers.
//
// Serve the http.Server whose handler is s (or wraps s, a tracer say) on it:
// srv.Serve(s.Listener(ln)), after any other wrapper, for plain HTTP (see
// the package's Listener). Answers that are not net/http's own errors cost
// what they cost through the package's Listener, a comparison of their
// first bytes.
func (s *Server) Listener(ln net.Listener) net.Listener { return jsonErrorsListener{ln, s.obs} }

// Listener returns ln whose connections answer net/http's own errors as the
// API's JSON, told of in p's log and metrics as Server.Listener tells of
// them in a Server's: serve p's http.Server on it.
func (p *Pages) Listener(ln net.Listener) net.Listener { return jsonErrorsListener{ln, p.obs} }

type jsonErrorsListener struct {
	net.Listener
	obs *observer // nil for none
}

func (l jsonErrorsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorsConn{c, l.obs}, nil
}

// jsonErrorsConn rewrites net/http's own errors on their way to the client.
type jsonErrorsConn struct {
	net.Conn
	obs *observer // nil for none
}

func (c *jsonErrorsConn) Write(p []byte) (int, error) {
	answer := jsonAnswer(p)
	if answer == nil {
		return c.Conn.Write(p)
	}
	if c.obs != nil {
		answer = c.obs.netHTTPAnswered(p, answer)
	}
	if _, err := c.Conn.Write(answer); err != nil {
		return 0, err
	}
	return len(p), nil
}

// listenerLogPC is the pc of netHTTPAnswered's log line (see logPC).
var listenerLogPC callerPC

// netHTTPAnswered tells of answer, the JSON that stands for net/http's own
// error p: it names it with a new X-Request-Id, which it returns answer
// with, logs it and counts it.
func (o *observer) netHTTPAnswered(p, answer []byte) []byte {
	id := o.ids.next()
	end := bytes.Index(answer, []byte("\r\n\r\n")) // of the headers, which jsonAnswer wrote
	withID := make([]byte, 0, len(answer)+len("\r\nX-Request-Id: ")+len(id))
	withID = append(append(append(withID, answer[:end]...), "\r\nX-Request-Id: "...), id...)
	withID = append(withID, answer[end:]...)

	const proto = len("HTTP/1.1 ")
	status, _ := strconv.Atoi(string(answer[proto : proto+3])) // jsonAnswer checked the digits
	o.metrics.answeredUnread(status)
	level := levelOf(status)
	ctx := context.Background()
	if h := o.log.Handler(); h.Enabled(ctx, level) {
		line := slog.NewRecord(time.Now(), level, "request", listenerLogPC.get())
		line.AddAttrs(
			slog.String("route", unmatched),
			slog.Int("status", status),
			slog.String("request_id", id),
			slog.String("error", netHTTPReason(p)),
		)
		_ = h.Handle(ctx, line)
	}
	return withID
}

// netHTTPReason is what net/http said of its error p: the body of a plain
// one, its words and never the client's (net/http echoes nothing of the
// request, so as not to reflect a script), and for its 417, which has none,
// the cause.
func netHTTPReason(p []byte) string {
	if i := bytes.Index(p, []byte(plainErrorHeaders)); i >= 0 {
		return string(p[i+len(plainErrorHeaders):])
	}
	return "417 Expectation Failed: an Expect header other than 100-continue"
}

// CloseWrite is the connection's own, which net/http calls after a 431 so that
// the client reads the answer before the connection is closed.
func (c *jsonErrorsConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom is the connection's own (sendfile for a TCP connection): net/http
// uses it for bodies only, never for its errors.
func (c *jsonErrorsConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

const (
	// plainErrorHeaders follow the status line of every error net/http writes
	// itself (conn.serve in net/http's server.go), in one write to the
	// connection. Headers net/http writes for a handler are sorted, Connection
	// before Content-Type, and start with Date or another header, so a
	// handler's answer never has these right after its status line.
	plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	// maxPlainErrorBody bounds net/http's error bodies, a line such as
	// "400 Bad Request: missing required Host header".
	maxPlainErrorBody = 256
)

// jsonAnswers are the JSON headers and body that follow the status line of
// each of net/http's own errors, by status.
var jsonAnswers = func() map[int][]byte {
	msgs := apispec.MessagesOf()
	answers := map[int][]byte{}
	for status, message := range map[int]string{
		http.StatusBadRequest:                  msgs.BadRequest,
		http.StatusRequestHeaderFieldsTooLarge: msgs.HeadersTooLarge,
		http.StatusNotImplemented:              msgs.NotImplemented,
		http.StatusHTTPVersionNotSupported:     msgs.VersionNotSupported,
		http.StatusExpectationFailed:           msgs.ExpectationFailed,
		http.StatusInternalServerError:         msgs.ServerError,
	} {
		answers[status] = jsonAnswerTail(status, message)
	}
	return answers
}()

func jsonAnswerTail(status int, message string) []byte {
	body := apierror.New(status, message).Body()
	return append([]byte("\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n\r\n"), body...)
}

// jsonAnswer returns the JSON answer for p if p is one of net/http's own
// errors, and nil otherwise: its status line kept, its headers and body the
// API's. A status that net/http does not use today is answered with the
// spec's message for its class (classMessage).
func jsonAnswer(p []byte) []byte {
	if answer := expectationFailedAnswer(p); answer != nil {
		return answer
	}
	const proto = "HTTP/1.1 "
	if len(p) < len(proto)+3 || string(p[:len(proto)]) != proto {
		return nil
	}
	end := bytes.IndexByte(p, '\r')
	if end < 0 || !bytes.HasPrefix(p[end:], []byte(plainErrorHeaders)) {
		return nil
	}
	body := p[end+len(plainErrorHeaders):]
	if len(body) > maxPlainErrorBody || bytes.ContainsAny(body, "\r\n") {
		return nil
	}
	status, err := strconv.Atoi(string(p[len(proto) : len(proto)+3]))
	if err != nil || status < 400 || status > 599 {
		return nil
	}
	tail, ok := jsonAnswers[status]
	if !ok {
		tail = jsonAnswerTail(status, classMessage(status))
	}
	return append(p[:end:end], tail...)
}

const (
	// expectationFailed follows the protocol, "HTTP/1.1" or the request's
	// "HTTP/1.0", in net/http's own 417 (response.sendExpectationFailed in
	// its server.go): the status line, the one header it sets, and the name
	// of the Date that net/http adds, in http.TimeFormat. Then comes the end
	// of the headers, after a Content-Length: 0 but for a HEAD, in the same
	// write. It goes through the writer of handlers' answers: a handler's 417
	// is told apart by a header or a body of its own (the Server's always
	// has X-Request-Id); one with neither is the same bytes.
	expectationFailed = " 417 Expectation Failed\r\nConnection: close\r\nDate: "
	emptyBodyEnd      = "\r\nContent-Length: 0\r\n\r\n"
	headEnd           = "\r\n\r\n"
)

// expectationFailedAnswer returns the JSON answer for p if p is net/http's
// own 417, byte for byte, and nil otherwise: its status line and Date kept,
// and for a HEAD the headers of the JSON body without it.
func expectationFailedAnswer(p []byte) []byte {
	const version = len("HTTP/1.1")
	start := version + len(expectationFailed)
	if len(p) != start+len(http.TimeFormat)+len(emptyBodyEnd) && len(p) != start+len(http.TimeFormat)+len(headEnd) ||
		string(p[:version]) != "HTTP/1.1" && string(p[:version]) != "HTTP/1.0" || string(p[version:start]) != expectationFailed {
		return nil
	}
	date, end := p[start:start+len(http.TimeFormat)], string(p[start+len(http.TimeFormat):])
	if _, err := time.Parse(http.TimeFormat, string(date)); err != nil || end != emptyBodyEnd && end != headEnd {
		return nil
	}
	tail := jsonAnswers[http.StatusExpectationFailed]
	if end == headEnd {
		tail = tail[:bytes.Index(tail, []byte(headEnd))+len(headEnd)]
	}
	statusLine := version + len(" 417 Expectation Failed")
	answer := append(p[:statusLine:statusLine], "\r\nDate: "...)
	return append(append(answer, date...), tail...)
}
