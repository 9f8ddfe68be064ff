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
	"cmp"
	"context"
	"crypto/subtle"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	// Embedded zone data, so that Europe/London loads on a machine without tzdata.
	_ "time/tzdata"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
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
// the store, or an account whose zone is not an IANA zone's
// (plannroauth.LoadZone), which a store keeps by name and loads back.
// It also refuses a connection whose timestamps the API could not write
// (plannroauth.Connection.CheckTimes), which every request for its user
// would answer 500, and a label or a provider that not every store would
// keep alike (not UTF-8, a NUL; plannroauth.Provider.Check). A label is
// not held to all of plannroauth.CheckLabel: a store keeps what it is given.
func CheckSeed(s plannroauth.Data, known func(provider string) (bool, error)) error {
	seeded := make(map[string]bool, len(s.Providers))
	for _, p := range s.Providers {
		if err := p.Check(); err != nil {
			return fmt.Errorf("store: seed: provider %q: %w", p.Name, err)
		}
		seeded[p.Name] = true
	}
	for _, a := range s.Accounts {
		if _, err := plannroauth.LoadZone(ZoneName(a.Location)); err != nil {
			return fmt.Errorf("store: seed: time zone: %w", err)
		}
		for _, c := range a.Connections {
			if err := c.CheckTimes(a.Location); err != nil {
				return fmt.Errorf("store: seed: connection %s: %w", c.UUID, err)
			}
			if c.Label != nil {
				if err := checkLabel(*c.Label); err != nil {
					return fmt.Errorf("store: seed: connection %s: label: %w", c.UUID, err)
				}
			}
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

// checkLabel refuses a label that not every store would keep: one that is
// not UTF-8 (plannroauth.CheckUTF8), or one with a NUL, which PostgreSQL
// refuses in text while SQLite and memory keep it.
func checkLabel(label string) error {
	if err := plannroauth.CheckUTF8(label); err != nil {
		return err
	}
	if strings.ContainsRune(label, 0) {
		return fmt.Errorf("%q has a NUL (U+0000), which PostgreSQL cannot store", label)
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

// UserRow is a users row as UserByToken reads it, found by a token's hash.
type UserRow struct {
	ID   plannroauth.UserID
	Hash []byte
	Zone string
}

// User is the row's user if its hash is h, compared in constant time so that
// the answer's time tells nothing of how near a guess came; ErrNotFound if not.
func (r UserRow) User(h plannroauth.TokenHash, zones *Zones) (plannroauth.User, error) {
	if subtle.ConstantTimeCompare(r.Hash, h[:]) != 1 {
		return plannroauth.User{}, plannroauth.ErrNotFound
	}
	loc, err := zones.Load(r.Zone)
	if err != nil {
		return plannroauth.User{}, err
	}
	return plannroauth.User{ID: r.ID, Location: loc}, nil
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
	// Not LoadZone: a store seeded before LoadZone refused a name may hold
	// it, and its user is still served.
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

// What the SQL stores (sqlite, postgres) share: one schema, kept as text.
// created_at and updated_at keep the UTC offset they were written in, which
// time.Parse gives back as a fixed zone that formats the same; expiries and
// created_utc are UTC. CreatedUTCLayout has a fixed width so that its text
// sorts in time order, which RFC3339Nano, trimming zeros, does not.
const (
	TimeLayout       = time.RFC3339Nano
	CreatedUTCLayout = "2006-01-02T15:04:05.000000000Z"
)

// ConnectionColumns are what ScanConnection scans, of connections c joined to
// providers p.
const ConnectionColumns = `c.uuid, p.name, p.label, p.logo_url, p.authorization_url,
	c.label, c.created_at, c.updated_at, c.access_token_expires_at, c.refresh_token_expires_at`

// SelectConnections selects ConnectionColumns.
const SelectConnections = `SELECT ` + ConnectionColumns + ` FROM connections c JOIN providers p ON p.name = c.provider`

// pointees backs the pointer fields of one scanned Connection, so that one
// allocation serves all three.
type pointees struct {
	label   string
	access  time.Time
	refresh time.Time
}

// ScanConnection scans a row of ConnectionColumns, followed by the columns of
// extra.
func ScanConnection(row interface{ Scan(...any) error }, extra ...any) (plannroauth.Connection, error) {
	var (
		c                                  plannroauth.Connection
		label, accessExpiry, refreshExpiry sql.NullString
		createdAt, updatedAt               string
	)
	dest := append([]any{&c.UUID, &c.Provider.Name, &c.Provider.Label, &c.Provider.LogoURL, &c.Provider.AuthorizationURL,
		&label, &createdAt, &updatedAt, &accessExpiry, &refreshExpiry}, extra...)
	if err := row.Scan(dest...); err != nil {
		return c, err
	}
	var err error
	parse := func(text string) time.Time {
		t, e := time.Parse(TimeLayout, text)
		err = cmp.Or(err, e)
		return t
	}
	c.CreatedAt, c.UpdatedAt = parse(createdAt), parse(updatedAt)
	if label.Valid || accessExpiry.Valid || refreshExpiry.Valid {
		p := new(pointees)
		if label.Valid {
			p.label = label.String
			c.Label = &p.label
		}
		if accessExpiry.Valid {
			p.access = parse(accessExpiry.String)
			c.AccessTokenExpiresAt = &p.access
		}
		if refreshExpiry.Valid {
			p.refresh = parse(refreshExpiry.String)
			c.RefreshTokenExpiresAt = &p.refresh
		}
	}
	if err != nil {
		return c, fmt.Errorf("connection %s: %w", c.UUID, err)
	}
	return c, nil
}

// LabelValue is a label as a SQL value: NULL for none.
func LabelValue(label *string) any {
	if label == nil {
		return nil
	}
	return *label
}

// ExpiryText is an expiry as a SQL value: NULL for never.
func ExpiryText(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(TimeLayout)
}
