package store

import "github.com/plannr-toolkit/plannr-oauth/server"

// ErrUnavailable means the store cannot be reached now (its database is down,
// restarting or unreachable), and the request may succeed later. It is the
// server kit's ErrUnavailable, so that the server answers 503 wherever a store
// error surfaces (authentication, an operation, the rate limiter, /readyz).
// Errors wrap it: test with errors.Is.
var ErrUnavailable = server.ErrUnavailable
