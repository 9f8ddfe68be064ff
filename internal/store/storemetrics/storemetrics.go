// Package storemetrics measures a store for Prometheus: how long each
// operation takes and how often it fails. (The PostgreSQL store's pool has a
// collector of its own: postgres.Store.Collector.)
//
//	plannr_store_operation_duration_seconds{operation}  histogram
//	    time of each call of a store method; its _count counts the calls
//	plannr_store_operation_errors_total{operation}      counter
//	    calls that failed: any error but plannroauth.ErrNotFound, which is an
//	    answer (an unknown token, another user's connection), and a caller
//	    that went away (plannroauth.ErrCanceled), which is not the store's
//
// operation names the method: user_by_token, list_connections,
// update_label (UpdateConnection, which the API only ever uses to relabel),
// delete_connection, seed, empty, ready, close.
package storemetrics

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/histogram"
	"github.com/plannr-toolkit/plannr-oauth/internal/promreg"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
)

// Store is a store.Store that measures every call of the store it wraps.
type Store struct {
	next store.Store
	ops  operations
}

var _ store.Store = (*Store)(nil)

// operations holds the observers of each method, looked up once rather than
// by label on every call.
type operations struct {
	userByToken, listConnections, updateLabel, deleteConnection, seed, empty, ready, close operation
}

type operation struct {
	duration *histogram.Series
	errors   prometheus.Counter
}

// durationBuckets span an in-memory call (microseconds) to a slow database
// write (seconds).
var durationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// Instrument returns st measured into reg. Stores instrumented into the same
// reg count into the same metrics.
func Instrument(st store.Store, reg prometheus.Registerer) (*Store, error) {
	duration, err1 := promreg.Register(reg, histogram.New("plannr_store_operation_duration_seconds",
		"Time of each call of a store operation.", durationBuckets, "operation"))
	failures, err2 := promreg.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plannr_store_operation_errors_total",
		Help: "Calls of a store operation that failed (not found is an answer, not a failure).",
	}, []string{"operation"}))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	op := func(name string) operation {
		return operation{duration: duration.With(name), errors: failures.WithLabelValues(name)}
	}
	return &Store{next: st, ops: operations{
		userByToken:      op("user_by_token"),
		listConnections:  op("list_connections"),
		updateLabel:      op("update_label"),
		deleteConnection: op("delete_connection"),
		seed:             op("seed"),
		empty:            op("empty"),
		ready:            op("ready"),
		close:            op("close"),
	}}, nil
}

// done measures a call that began at start and returned *err.
func (o operation) done(start time.Time, err *error) {
	o.duration.Observe(time.Since(start))
	if *err != nil && !errors.Is(*err, plannroauth.ErrNotFound) && !errors.Is(*err, plannroauth.ErrCanceled) {
		o.errors.Inc()
	}
}

// UserByToken implements store.Store.
func (s *Store) UserByToken(ctx context.Context, h plannroauth.TokenHash) (_ plannroauth.User, err error) {
	defer s.ops.userByToken.done(time.Now(), &err)
	return s.next.UserByToken(ctx, h)
}

// ListConnections implements store.Store.
func (s *Store) ListConnections(ctx context.Context, owner plannroauth.UserID) (_ []plannroauth.Connection, err error) {
	defer s.ops.listConnections.done(time.Now(), &err)
	return s.next.ListConnections(ctx, owner)
}

// UpdateConnection implements store.Store.
func (s *Store) UpdateConnection(ctx context.Context, owner plannroauth.UserID, id uuid.UUID, update func(*plannroauth.Connection)) (_ plannroauth.Connection, err error) {
	defer s.ops.updateLabel.done(time.Now(), &err)
	return s.next.UpdateConnection(ctx, owner, id, update)
}

// DeleteConnection implements store.Store.
func (s *Store) DeleteConnection(ctx context.Context, owner plannroauth.UserID, id uuid.UUID) (err error) {
	defer s.ops.deleteConnection.done(time.Now(), &err)
	return s.next.DeleteConnection(ctx, owner, id)
}

// Seed implements store.Store.
func (s *Store) Seed(ctx context.Context, seed plannroauth.Data) (err error) {
	defer s.ops.seed.done(time.Now(), &err)
	return s.next.Seed(ctx, seed)
}

// Empty implements store.Store.
func (s *Store) Empty(ctx context.Context) (_ bool, err error) {
	defer s.ops.empty.done(time.Now(), &err)
	return s.next.Empty(ctx)
}

// Ready implements store.Store.
func (s *Store) Ready(ctx context.Context) (err error) {
	defer s.ops.ready.done(time.Now(), &err)
	return s.next.Ready(ctx)
}

// Close implements store.Store.
func (s *Store) Close() (err error) {
	defer s.ops.close.done(time.Now(), &err)
	return s.next.Close()
}
