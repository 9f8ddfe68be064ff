// Package promreg registers Prometheus collectors so that two users of one
// registry share them: two servers, or two handlers over one store, in the same
// process.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg and returns it, or, if a collector of the same
// descriptors is registered already, that one, so that both users count into
// it. Any other failure (a name taken by a collector of other labels, say) is
// returned.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var taken prometheus.AlreadyRegisteredError
	if errors.As(err, &taken) {
		if existing, ok := taken.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
