package store

import (
	"context"
	"crypto/subtle"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Memory is a Store that lives and dies with the process: for throwaway servers,
// test fakes and benchmarks. Its zero value is not usable; call NewMemory.
type Memory struct {
	now       func() time.Time
	mu        sync.RWMutex
	providers map[string]Provider
	byHash    map[TokenHash]*memUser
	users     []*memUser // users[id-1]
	// conns holds deleted connections too, as tombstones, so that a later Seed
	// naming one does not bring it back.
	conns map[uuid.UUID]*memConn
}

type memUser struct {
	id    UserID
	hash  TokenHash
	loc   *time.Location
	conns []*memConn // live ones, oldest first
}

type memConn struct {
	record
	owner   *memUser
	deleted bool
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...Option) *Memory {
	return &Memory{
		now:       newOptions(opts).now,
		providers: make(map[string]Provider),
		byHash:    make(map[TokenHash]*memUser),
		conns:     make(map[uuid.UUID]*memConn),
	}
}

var _ Store = (*Memory)(nil)

// UserByToken implements Store.
func (m *Memory) UserByToken(_ context.Context, h TokenHash) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u := m.byHash[h]
	if u == nil || subtle.ConstantTimeCompare(u.hash[:], h[:]) != 1 {
		return User{}, ErrNotFound
	}
	return User{ID: u.id, Location: u.loc}, nil
}

// ListConnections implements Store.
func (m *Memory) ListConnections(_ context.Context, owner UserID) ([]Connection, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u := m.user(owner)
	if u == nil {
		return []Connection{}, nil
	}
	out := make([]Connection, len(u.conns))
	ps := make([]pointees, len(u.conns))
	for i, c := range u.conns {
		out[i] = c.connectionIn(&ps[i])
	}
	return out, nil
}

// UpdateLabel implements Store.
func (m *Memory) UpdateLabel(_ context.Context, owner UserID, id uuid.UUID, change LabelUpdate) (Connection, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.live(owner, id)
	if c == nil {
		return Connection{}, ErrNotFound
	}
	c.relabel(change)
	// The clock is read under the lock, so writes are stamped in the order they are made.
	c.updatedAt = Stamp(m.now(), c.owner.loc, c.updatedAt)
	return c.connection(), nil
}

// DeleteConnection implements Store.
func (m *Memory) DeleteConnection(_ context.Context, owner UserID, id uuid.UUID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.live(owner, id)
	if c == nil {
		return ErrNotFound
	}
	c.deleted = true
	c.owner.conns = slices.DeleteFunc(c.owner.conns, func(o *memConn) bool { return o == c })
	return nil
}

// Seed implements Store.
func (m *Memory) Seed(_ context.Context, s Seed) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := checkSeed(s, func(name string) (bool, error) {
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
	for _, su := range s.Users {
		u := m.byHash[su.TokenHash]
		if u == nil {
			u = &memUser{id: UserID(len(m.users) + 1), hash: su.TokenHash, loc: su.Location}
			if u.loc == nil {
				u.loc = time.UTC
			}
			m.byHash[u.hash] = u
			m.users = append(m.users, u)
		}
		for _, sc := range su.Connections {
			if _, ok := m.conns[sc.UUID]; ok {
				continue
			}
			c := &memConn{record: seedRecord(sc, m.providers[sc.Provider]), owner: u}
			m.conns[sc.UUID] = c
			u.insert(c)
		}
	}
	return nil
}

// Empty implements Store.
func (m *Memory) Empty(context.Context) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.users) == 0, nil
}

// Ready implements Store: memory is always ready.
func (m *Memory) Ready(context.Context) error { return nil }

// Close implements Store; there is nothing to release.
func (m *Memory) Close() error { return nil }

func (m *Memory) user(id UserID) *memUser {
	if id < 1 || int64(id) > int64(len(m.users)) {
		return nil
	}
	return m.users[id-1]
}

// live returns owner's connection id, or nil if it is deleted, another user's or
// unknown: the caller answers ErrNotFound to all three alike.
func (m *Memory) live(owner UserID, id uuid.UUID) *memConn {
	c := m.conns[id]
	if c == nil || c.deleted || c.owner.id != owner {
		return nil
	}
	return c
}

// insert keeps u.conns oldest first; a connection created at the same instant as
// others goes after them, so ties keep the order they were added in.
func (u *memUser) insert(c *memConn) {
	i, _ := slices.BinarySearchFunc(u.conns, c.createdAt, func(o *memConn, t time.Time) int {
		if o.createdAt.After(t) {
			return 1
		}
		return -1
	})
	u.conns = slices.Insert(u.conns, i, c)
}

// seedRecord copies what sc points to, so that the caller may reuse its Seed.
func seedRecord(sc SeedConnection, p Provider) record {
	r := record{
		uuid:      sc.UUID,
		provider:  p,
		createdAt: sc.CreatedAt.Round(0),
		updatedAt: sc.UpdatedAt.Round(0),
	}
	if sc.Label != nil {
		r.label, r.hasLabel = *sc.Label, true
	}
	if sc.AccessTokenExpiresAt != nil {
		r.accessExpiry, r.hasAccessExpiry = sc.AccessTokenExpiresAt.UTC(), true
	}
	if sc.RefreshTokenExpiresAt != nil {
		r.refreshExpiry, r.hasRefreshExpiry = sc.RefreshTokenExpiresAt.UTC(), true
	}
	return r
}
