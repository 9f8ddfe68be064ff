package store

import (
	"time"

	"github.com/plannr-toolkit/plannr-oauth/server"
)

// Option changes a default of NewMemory or OpenSQLite.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes now the store's clock, which stamps UpdatedAt (see Stamp);
// the default, and what a nil now means, is time.Now. A test passes a fixed
// clock to expect exact timestamps.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

func newOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Stamp and StampExpiry are the timestamp rules of the API, which package
// server holds for every implementation; the stores apply them in their writes.
var (
	Stamp       = server.Stamp
	StampExpiry = server.StampExpiry
)
