package client

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// callSettings are the per-call options that the transport and the retrying
// doer read; they travel in the request's context.
type callSettings struct {
	attemptTimeout time.Duration // 0: the client's
	policy         *RetryPolicy  // nil: the client's
}

type callSettingsKey struct{}

func settingsOf(ctx context.Context) callSettings {
	s, _ := ctx.Value(callSettingsKey{}).(callSettings)
	return s
}

// withSettings changes the settings in req's context. A RequestEditorFn
// cannot return a new request, so *req takes the copy WithContext makes.
func withSettings(req *http.Request, change func(*callSettings)) {
	s := settingsOf(req.Context())
	change(&s)
	*req = *req.WithContext(context.WithValue(req.Context(), callSettingsKey{}, s))
}

// AttemptTimeout bounds each attempt of one call (connecting, sending,
// reading the answer) by d instead of the client's timeout. d must be
// positive. The whole call, retries included, is bounded by its context.
func AttemptTimeout(d time.Duration) gen.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if d <= 0 {
			return errors.New("client: AttemptTimeout must be positive")
		}
		withSettings(req, func(s *callSettings) { s.attemptTimeout = d })
		return nil
	}
}

// CallRetryPolicy retries one call by p instead of the client's policy; see
// RetryPolicy for which zero fields take the defaults.
func CallRetryPolicy(p RetryPolicy) gen.RequestEditorFn {
	p = p.withDefaults()
	return func(_ context.Context, req *http.Request) error {
		withSettings(req, func(s *callSettings) { s.policy = &p })
		return nil
	}
}

// CallHeader sets the header key to value on one call, replacing what New
// set (e.g. its User-Agent). Authorization is refused: the token belongs
// to the client, whose rate-limit budget is that token's.
func CallHeader(key, value string) gen.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if http.CanonicalHeaderKey(key) == "Authorization" {
			return errors.New("client: CallHeader cannot set Authorization; make a client for the other token")
		}
		req.Header.Set(key, value)
		return nil
	}
}
