package cli

import (
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-cleanhttp"

	"github.com/plannr-toolkit/plannr-oauth/client"
)

// newHTTPClient is what client.New uses when given none, its own pool and
// client.DefaultTimeout, but following no redirect, and recording in rec
// what each attempt got. A redirect is the answer: followed, it would take
// the request elsewhere, where the client drops the token, for a 401 that
// blames it.
func newHTTPClient(rec *answers) *http.Client {
	hc := cleanhttp.DefaultPooledClient()
	hc.Timeout = client.DefaultTimeout
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	rec.base, hc.Transport = hc.Transport, rec
	return hc
}

// answers is the transport under the client's retries, which records what
// each attempt of the command's one call got. The client returns only the
// last answer, and as its own judgement of it: a redirect becomes an
// *client.APIError, without its Location.
type answers struct {
	base http.RoundTripper
	mu   sync.Mutex
	got  []answer
}

// answer is what one attempt got.
type answer struct {
	sent     bool   // the request was written whole
	status   int    // 0: no answer
	location string // a redirect's Location, resolved; "" if none
	// contentType is the answer's Content-Type: a 404 not in JSON is no
	// connection's, but a web server's without the API.
	contentType string
}

func (a *answers) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent atomic.Bool // written from net/http's writing goroutine
	trace := &httptrace.ClientTrace{WroteRequest: func(w httptrace.WroteRequestInfo) { sent.Store(w.Err == nil) }}
	resp, err := a.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	got := answer{sent: sent.Load()}
	if err == nil {
		got.status, got.contentType = resp.StatusCode, resp.Header.Get("Content-Type")
		if loc, err := resp.Location(); err == nil {
			got.location = loc.String()
		}
	}
	a.mu.Lock()
	a.got = append(a.got, got)
	a.mu.Unlock()
	return resp, err
}

// last is the last attempt's answer.
func (a *answers) last() answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.got) == 0 {
		return answer{}
	}
	return a.got[len(a.got)-1]
}

// earlierMayHaveActed reports whether an attempt before the last may have
// been carried out: sent whole, then answered with a 5xx or not at all. A
// 429, or another 4xx, is a refusal before anything was done.
func (a *answers) earlierMayHaveActed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, got := range a.got[:max(len(a.got)-1, 0)] {
		if got.sent && (got.status == 0 || got.status >= 500) {
			return true
		}
	}
	return false
}
