package cli

import (
	"net/http"
	"sync"

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
	status   int    // 0: no answer
	location string // a redirect's Location, resolved; "" if none
}

func (a *answers) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(req)
	var got answer
	if err == nil {
		got.status = resp.StatusCode
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
