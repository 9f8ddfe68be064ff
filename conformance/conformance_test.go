package conformance_test

import (
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/conformance"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

const otherToken = "conformance-other-token"

// fake is plannrtest's server with the users the kit needs: the default user
// with a second connection, and another user with one.
func fake(t *testing.T, opts ...plannrtest.Option) conformance.Target {
	t.Helper()
	opts = append([]plannrtest.Option{
		plannrtest.WithUser(plannrtest.DefaultToken, plannrtest.Connection{}),
		plannrtest.WithUser(otherToken, plannrtest.Connection{}),
	}, opts...)
	srv := plannrtest.NewServer(t, opts...)
	return conformance.Target{BaseURL: srv.URL, Token: srv.Token, OtherToken: otherToken}
}

func TestPlannrtest(t *testing.T) {
	conformance.Run(t, fake(t))
}
