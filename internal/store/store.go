// Package store is the persistence of the API's data: the Store interface,
// which internal/httpapi serves, and what its backends share. Each backend is
// a package of its own (memory, sqlite, postgres), so that a program links
// only the driver it opens; package storetest is the suite every backend
// passes, and storemetrics measures any of them.
//
// A store knows nothing of HTTP: its errors are the domain's kinds
// (plannroauth.ErrNotFound, plannroauth.ErrUnavailable), and the rule of an
// update is the domain's (plannroauth.Connection.Update), which a store runs
// inside its write.
package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"

	// Embedded zone data, so that Europe/London loads on a machine without tzdata.
	_ "time/tzdata"
)

// Store is what the API's implementation needs. Every method is safe for
// concurrent use; a method that changes data returns only once the change is
// durable.
type Store interface {
	// UserByToken returns the user whose token hashes to h, or ErrNotFound.
	UserByToken(ctx context.Context, h plannroauth.TokenHash) (plannroauth.User, error)
	// ListConnections returns the owner's connections, oldest first.
	ListConnections(ctx context.Context, owner plannroauth.UserID) ([]plannroauth.Connection, error)
	// UpdateConnection runs update on the owner's connection id, with no other
	// write to it in between, and keeps what update left of its label and
	// UpdatedAt (see Apply); it returns the connection as kept. ErrNotFound if
	// the owner has no such connection.
	UpdateConnection(ctx context.Context, owner plannroauth.UserID, id uuid.UUID, update func(*plannroauth.Connection)) (plannroauth.Connection, error)
	// DeleteConnection deletes the owner's connection id for good: a later Seed
	// naming the same UUID does not bring it back. ErrNotFound if there is none.
	DeleteConnection(ctx context.Context, owner plannroauth.UserID, id uuid.UUID) error
	// Seed adds, in one transaction, every provider, account (by the hash of
	// its token) and connection (by UUID) of d that the store does not have
	// yet, and changes nothing that it has: restarting with the same fixtures
	// keeps every change. A connection names its provider by Provider.Name,
	// and the store keeps the provider's own details; one naming an unknown
	// provider fails the whole Seed (see CheckSeed).
	Seed(ctx context.Context, d plannroauth.Data) error
	// Empty reports whether the store has no users.
	Empty(ctx context.Context) (bool, error)
	// Ready reports whether the store can serve requests now: nil, or why not.
	Ready(ctx context.Context) error
	Close() error
}

// Apply runs update on c and keeps of what it did only what an update may
// change, the label and UpdatedAt, so that every store keeps the same fields
// whatever update does. update must not write through c's pointers, which a
// store may share with what it keeps; it replaces them.
func Apply(c *plannroauth.Connection, update func(*plannroauth.Connection)) {
	kept := *c
	update(c)
	kept.Label, kept.UpdatedAt = c.Label, c.UpdatedAt
	*c = kept
}

// CheckSeed refuses, before a store changes anything, data that would fail
// halfway: a connection naming a provider that is neither in s nor known to
// the store, or an account whose zone a store could not load back by name.
func CheckSeed(s plannroauth.Data, known func(provider string) (bool, error)) error {
	seeded := make(map[string]bool, len(s.Providers))
	for _, p := range s.Providers {
		seeded[p.Name] = true
	}
	for _, a := range s.Accounts {
		if err := checkZone(a.Location); err != nil {
			return err
		}
		for _, c := range a.Connections {
			if seeded[c.Provider.Name] {
				continue
			}
			ok, err := known(c.Provider.Name)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("store: seed: connection %s: unknown provider %q", c.UUID, c.Provider.Name)
			}
		}
	}
	return nil
}

// checkZone accepts a location that time.LoadLocation returns again from its
// name: a FixedZone or time.Local would not survive a restart of a store.
func checkZone(loc *time.Location) error {
	name := ZoneName(loc)
	if name == "" || name == "Local" {
		return fmt.Errorf("store: seed: time zone %q is not an IANA zone name", name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("store: seed: time zone %q: %w", name, err)
	}
	return nil
}

// ZoneName is the IANA name of loc, which a nil loc spells UTC.
func ZoneName(loc *time.Location) string {
	if loc == nil {
		return "UTC"
	}
	return loc.String()
}

// Zones loads time zones by name, each once: time.LoadLocation parses zone
// data on every call. The zero value is ready to use.
type Zones struct {
	mu sync.RWMutex
	m  map[string]*time.Location
}

// Load returns the zone named name.
func (z *Zones) Load(name string) (*time.Location, error) {
	z.mu.RLock()
	loc := z.m[name]
	z.mu.RUnlock()
	if loc != nil {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("store: time zone %q: %w", name, err)
	}
	z.mu.Lock()
	if z.m == nil {
		z.m = make(map[string]*time.Location)
	}
	z.m[name] = loc
	z.mu.Unlock()
	return loc, nil
}
