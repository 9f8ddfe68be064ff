// Package plannroauth is the domain of Plannr CRM's OAuth2-connections API:
// the connection and the rules the API applies to it, apart from HTTP and
// from storage. Every other package of this module points here: the server
// kit maps its errors to statuses, the stores keep its Connection, and the
// generated models (package gen) write its timestamps.
//
// The rules the spec (api/openapi.yaml) states are read from it, never written
// again: LabelMaxLength is the label's maxLength, CheckLabel the label's
// schema. The rules it states in words are here, once: how a label is
// trimmed (Trim), how an update stamps updated_at (Stamp, Connection.Update),
// how timestamps are written (Timestamp, Expiry), what a bearer token may be
// (ValidToken).
//
// go generate ./... in this directory turns api/openapi.yaml into ./gen.
package plannroauth

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Provider is an OAuth2 provider, such as Fundment.
type Provider struct {
	Name             string
	Label            string
	LogoURL          string
	AuthorizationURL string
}

// Connection is an OAuth2 connection between an account and a provider, as
// the API shows it.
type Connection struct {
	UUID     uuid.UUID
	Provider Provider
	// Label is nil when the user has set none.
	Label *string
	// CreatedAt and UpdatedAt are in the account's UTC offset, in whole
	// seconds (see Stamp).
	CreatedAt, UpdatedAt time.Time
	// The expiries are nil when the token never expires; otherwise in UTC, to
	// the microsecond (see StampExpiry).
	AccessTokenExpiresAt, RefreshTokenExpiresAt *time.Time
}

// RefreshAuthorizationURL is the provider's authorization URL followed by
// /<uuid>: Plannr's example shows an id it does not explain, and this is the
// choice the spec writes down.
func (c *Connection) RefreshAuthorizationURL() string {
	return c.Provider.AuthorizationURL + "/" + c.UUID.String()
}

// Clone returns a copy of c that shares no memory with it, so that a store
// never hands out what it keeps. One allocation backs all its pointers.
func (c Connection) Clone() Connection {
	if c.Label == nil && c.AccessTokenExpiresAt == nil && c.RefreshTokenExpiresAt == nil {
		return c
	}
	p := new(struct {
		label           string
		access, refresh time.Time
	})
	if c.Label != nil {
		p.label = *c.Label
		c.Label = &p.label
	}
	if c.AccessTokenExpiresAt != nil {
		p.access = *c.AccessTokenExpiresAt
		c.AccessTokenExpiresAt = &p.access
	}
	if c.RefreshTokenExpiresAt != nil {
		p.refresh = *c.RefreshTokenExpiresAt
		c.RefreshTokenExpiresAt = &p.refresh
	}
	return c
}

// LabelChange is what an update does to a label: Keep leaves it as it is;
// otherwise Label replaces it, and a nil Label clears it.
type LabelChange struct {
	Keep  bool
	Label *string
}

// Update is the API's one rule of an update, which every store applies inside
// its write: the label changes as change says, and UpdatedAt moves to now in
// the account's zone loc, never back (Stamp), even when the label does not
// change. CreatedAt never moves.
func (c *Connection) Update(change LabelChange, now time.Time, loc *time.Location) {
	if !change.Keep {
		c.Label = nil
		if change.Label != nil {
			label := *change.Label
			c.Label = &label
		}
	}
	c.UpdatedAt = Stamp(now, loc, c.UpdatedAt)
}

// UserID identifies a user within one store.
type UserID int64

// User is who a bearer token authenticates.
type User struct {
	ID UserID
	// Location is the account's time zone: its connections' timestamps are
	// written in its UTC offset.
	Location *time.Location
}

// Data is users and their connections to add to a store: fixtures, the demo
// user, a test's data.
type Data struct {
	Providers []Provider
	// Accounts' connections name their provider by Provider.Name: one of
	// Providers, or one the store has.
	Accounts []Account
}

// Account is a user to add, by the bearer token it authenticates with, with
// the connections it owns.
type Account struct {
	Token string
	// Location is the account's time zone; nil means UTC.
	Location    *time.Location
	Connections []Connection
}

// The kinds of failure, which know nothing of HTTP: package server answers
// each with its status, in one place. Errors wrap them; test with errors.Is.
var (
	// ErrNotFound: no such connection, or it is another user's. The two must
	// not be told apart.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: a dependency (the database) cannot be reached now; the
	// request may succeed later.
	ErrUnavailable = errors.New("unavailable")
	// ErrCanceled: the caller went away before the answer. It is
	// context.Canceled itself, so that a store's or a limiter's context
	// error is this kind as it comes.
	ErrCanceled = context.Canceled
)
