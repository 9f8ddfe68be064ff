// Package memory is a store.Store that lives and dies with the process: for
// throwaway servers, test fakes (plannrtest) and benchmarks. It links no
// database driver.
package memory

import (
	"context"
	"crypto/subtle"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
)

// Store is the in-memory store. Its zero value is not usable; call New.
type Store struct {
	// byHash indexes the users by their token's hash. Its map is never
	// written once stored: Seed stores a new one, under mu. Authentication reads
	// it without a lock, so that no request waits on another's write to learn
	// who it is (a busy row's writers held every user's requests at the
	// door: 1.4% of PUTs took over 1 ms in the handler under wrk, against
	// 0.1% with this; BENCHMARKS.md, round four).
	byHash atomic.Pointer[map[plannroauth.TokenHash]*user]

	mu        sync.RWMutex // guards what follows
	providers map[string]plannroauth.Provider
	users     []*user // users[id-1]
	// conns holds deleted connections too, as tombstones, so that a later Seed
	// naming one does not bring it back.
	conns map[uuid.UUID]*conn
}

// user's id, hash and loc never change, and are read without a lock.
type user struct {
	id    plannroauth.UserID
	hash  plannroauth.TokenHash
	loc   *time.Location
	conns []*conn // live ones, oldest first
}

type conn struct {
	plannroauth.Connection
	owner   *user
	deleted bool
}

// New returns an empty in-memory store.
func New() *Store {
	m := &Store{
		providers: make(map[string]plannroauth.Provider),
		conns:     make(map[uuid.UUID]*conn),
	}
	m.byHash.Store(&map[plannroauth.TokenHash]*user{})
	return m
}

var _ store.Store = (*Store)(nil)

// UserByToken implements store.Store.
func (m *Store) UserByToken(_ context.Context, h plannroauth.TokenHash) (plannroauth.User, error) {
	u := (*m.byHash.Load())[h]
	if u == nil || subtle.ConstantTimeCompare(u.hash[:], h[:]) != 1 {
		return plannroauth.User{}, plannroauth.ErrNotFound
	}
	return plannroauth.User{ID: u.id, Location: u.loc}, nil
}

// ListConnections implements store.Store.
func (m *Store) ListConnections(_ context.Context, owner plannroauth.UserID) ([]plannroauth.Connection, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u := m.user(owner)
	if u == nil {
		return []plannroauth.Connection{}, nil
	}
	out := make([]plannroauth.Connection, len(u.conns))
	for i, c := range u.conns {
		out[i] = c.Clone()
	}
	return out, nil
}

// UpdateConnection implements store.Store. update runs under the store's
// lock, so writes are applied in the order they are made. The copy handed
// back is made after the lock is released, so that the writers of a busy row
// do not queue behind its allocation (and a collector's assist in it): what a
// connection's pointers point to is never written, only replaced
// (store.Apply), so the connection as the update left it stays whole.
func (m *Store) UpdateConnection(_ context.Context, owner plannroauth.UserID, id uuid.UUID, update func(*plannroauth.Connection)) (plannroauth.Connection, error) {
	m.mu.Lock()
	c := m.live(owner, id)
	if c == nil {
		m.mu.Unlock()
		return plannroauth.Connection{}, plannroauth.ErrNotFound
	}
	store.Apply(&c.Connection, update)
	updated := c.Connection
	m.mu.Unlock()
	return updated.Clone(), nil
}

// DeleteConnection implements store.Store.
func (m *Store) DeleteConnection(_ context.Context, owner plannroauth.UserID, id uuid.UUID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.live(owner, id)
	if c == nil {
		return plannroauth.ErrNotFound
	}
	c.deleted = true
	c.owner.conns = slices.DeleteFunc(c.owner.conns, func(o *conn) bool { return o == c })
	return nil
}

// Seed implements store.Store.
func (m *Store) Seed(_ context.Context, s plannroauth.Data) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := store.CheckSeed(s, func(name string) (bool, error) {
		_, ok := m.providers[name]
		return ok, nil
	})
	if err != nil {
		return err
	}
	// Nothing below can fail, which is what makes the Seed all-or-nothing.
	for _, p := range s.Providers {
		if _, ok := m.providers[p.Name]; !ok {
			m.providers[p.Name] = p
		}
	}
	byHash := maps.Clone(*m.byHash.Load())
	grown := make(map[*user]bool)
	for _, a := range s.Accounts {
		h := plannroauth.HashToken(a.Token)
		u := byHash[h]
		if u == nil {
			u = &user{id: plannroauth.UserID(len(m.users) + 1), hash: h, loc: a.Location}
			if u.loc == nil {
				u.loc = time.UTC
			}
			byHash[h] = u
			m.users = append(m.users, u)
		}
		for _, sc := range a.Connections {
			if _, ok := m.conns[sc.UUID]; ok {
				continue
			}
			c := &conn{Connection: seeded(sc, m.providers[sc.Provider.Name]), owner: u}
			m.conns[sc.UUID] = c
			u.conns = append(u.conns, c)
			grown[u] = true
		}
	}
	// Sorted once each, not kept sorted by each insertion: a file's
	// connections newest first made each one move all before it, and a
	// Seed of n connections O(n²).
	for u := range grown {
		u.sortConns()
	}
	m.byHash.Store(&byHash)
	return nil
}

// Empty implements store.Store.
func (m *Store) Empty(context.Context) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.users) == 0, nil
}

// Ready implements store.Store: memory is always ready.
func (m *Store) Ready(context.Context) error { return nil }

// Close implements store.Store; there is nothing to release.
func (m *Store) Close() error { return nil }

func (m *Store) user(id plannroauth.UserID) *user {
	if id < 1 || int64(id) > int64(len(m.users)) {
		return nil
	}
	return m.users[id-1]
}

// live returns owner's connection id, or nil if it is deleted, another user's
// or unknown: the caller answers ErrNotFound to all three alike.
func (m *Store) live(owner plannroauth.UserID, id uuid.UUID) *conn {
	c := m.conns[id]
	if c == nil || c.deleted || c.owner.id != owner {
		return nil
	}
	return c
}

// sortConns puts u.conns oldest first; connections created at the same
// instant keep the order they were added in.
func (u *user) sortConns() {
	slices.SortStableFunc(u.conns, func(a, b *conn) int { return a.CreatedAt.Compare(b.CreatedAt) })
}

// seeded is sc as the store keeps it: a copy that shares nothing with the
// caller's Seed, with the store's provider p, expiries in UTC, and no
// monotonic clock reading, as a SQL store would read it back.
func seeded(sc plannroauth.Connection, p plannroauth.Provider) plannroauth.Connection {
	c := sc.Clone()
	c.Provider = p
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.Round(0), c.UpdatedAt.Round(0)
	for _, t := range []*time.Time{c.AccessTokenExpiresAt, c.RefreshTokenExpiresAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return c
}
