// Package store keeps users, OAuth2 providers and OAuth2 connections. The HTTP
// layer depends on the Store interface only; Memory and SQLite implement it and
// pass one conformance suite (package storetest).
package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/google/uuid"
)

// ErrNotFound means no row matches, or the row belongs to another user: callers
// cannot and must not tell the two apart.
var ErrNotFound = errors.New("not found")

// TokenHash is the SHA-256 of a bearer token. Only hashes are stored, so a copy of
// the database does not hand out working tokens.
type TokenHash [sha256.Size]byte

// HashToken hashes a bearer token for storage and look-up.
func HashToken(token string) TokenHash { return sha256.Sum256([]byte(token)) }

// UserID identifies a user inside one store.
type UserID int64

// User is an authenticated principal.
type User struct {
	ID UserID
	// Location is the account's time zone: created_at and updated_at are written
	// in its UTC offset, as Plannr does.
	Location *time.Location
}

// Provider is an OAuth2 provider such as Fundment.
type Provider struct {
	Name             string
	Label            string
	LogoURL          string
	AuthorizationURL string
}

// Connection is an OAuth2 connection as the API shows it.
type Connection struct {
	UUID     uuid.UUID
	Provider Provider
	// Label is nil when the user has set none.
	Label     *string
	CreatedAt time.Time
	UpdatedAt time.Time
	// The expiries are nil when the token never expires.
	AccessTokenExpiresAt  *time.Time
	RefreshTokenExpiresAt *time.Time
}

// LabelUpdate is what a PUT does to a label: Keep leaves it as it is; otherwise
// Label replaces it, and a nil Label clears it.
type LabelUpdate struct {
	Keep  bool
	Label *string
}

// Seed is data to add: fixtures, the demo user, a test's setup.
type Seed struct {
	Providers []Provider
	Users     []SeedUser
}

// SeedUser is a user to add, with the connections it owns.
type SeedUser struct {
	TokenHash   TokenHash
	Location    *time.Location // nil means UTC
	Connections []SeedConnection
}

// SeedConnection is a connection to add; Provider names a provider of the store
// or of the same Seed.
type SeedConnection struct {
	UUID                  uuid.UUID
	Provider              string
	Label                 *string
	CreatedAt             time.Time
	UpdatedAt             time.Time
	AccessTokenExpiresAt  *time.Time
	RefreshTokenExpiresAt *time.Time
}

// Store is what the HTTP layer needs. Every method is safe for concurrent use;
// a method that changes data returns only once the change is durable.
type Store interface {
	// UserByToken returns the user whose token hashes to h, or ErrNotFound.
	UserByToken(ctx context.Context, h TokenHash) (User, error)
	// ListConnections returns the owner's connections, oldest first.
	ListConnections(ctx context.Context, owner UserID) ([]Connection, error)
	// UpdateLabel applies change to the owner's connection id and stamps UpdatedAt in the same write,
	// with the store's clock, by the rule of Stamp. ErrNotFound if the owner has no such connection.
	UpdateLabel(ctx context.Context, owner UserID, id uuid.UUID, change LabelUpdate) (Connection, error)
	// DeleteConnection deletes the owner's connection id for good: a later Seed
	// naming the same UUID does not bring it back. ErrNotFound if there is none.
	DeleteConnection(ctx context.Context, owner UserID, id uuid.UUID) error
	// Seed adds, in one transaction, every provider, user (by token hash) and
	// connection (by UUID) of s that the store does not have yet, and changes
	// nothing that it has: restarting with the same fixtures keeps every change.
	// A connection naming an unknown provider fails the whole Seed.
	Seed(ctx context.Context, s Seed) error
	// Empty reports whether the store has no users.
	Empty(ctx context.Context) (bool, error)
	// Ready reports whether the store can serve requests now: nil, or why not (readiness).
	Ready(ctx context.Context) error
	Close() error
}
