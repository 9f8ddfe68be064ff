package main

import (
	"net/http"
	"sync"

	"github.com/plannr-toolkit/plannr-oauth/server"
)

// inFlight holds the store open while requests are served: run closes the
// store through closeAfter, which waits for the requests running to return,
// so that none finds the store closed under it, not even one that
// -shutdown-timeout cut off. A handler that ignored its context would keep
// the store, and the process, waiting; the store's calls all take it.
type inFlight struct {
	// mu is read-locked by each request while it is served, and locked by
	// closeAfter, which so waits for them all.
	mu     sync.RWMutex
	closed bool
}

// serve wraps h: a request that comes after closeAfter (its connection
// accepted before the listener closed) is answered 503 without reaching h.
func (f *inFlight) serve(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.RLock()
		defer f.mu.RUnlock()
		if f.closed {
			server.WriteError(w, r, server.ErrUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// closeAfter runs close once the requests being served have returned.
func (f *inFlight) closeAfter(close func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return close()
}
