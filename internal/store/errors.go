package store

import "errors"

// ErrUnavailable means the store cannot be reached now (its database is down,
// restarting or unreachable): the request may succeed later, and the server
// answers 503 rather than 500. Errors wrap it, so test with errors.Is.
var ErrUnavailable = errors.New("store unavailable")
