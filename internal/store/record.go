package store

import (
	"time"

	"github.com/google/uuid"
)

// record is a connection with its optional fields held by value. Both stores keep
// or scan connections in this form and hand out Connections built from it, so a
// caller never shares memory with a store, and one allocation serves all of a
// Connection's pointers.
type record struct {
	uuid      uuid.UUID
	provider  Provider
	label     string
	hasLabel  bool
	createdAt time.Time
	updatedAt time.Time
	// Expiries are kept in UTC, as Plannr shows them.
	accessExpiry     time.Time
	refreshExpiry    time.Time
	hasAccessExpiry  bool
	hasRefreshExpiry bool
}

// pointees backs the pointer fields of one Connection.
type pointees struct {
	label   string
	access  time.Time
	refresh time.Time
}

// connection returns a copy of r, allocating only if r has a pointer field to fill.
func (r *record) connection() Connection {
	var p *pointees
	if r.hasLabel || r.hasAccessExpiry || r.hasRefreshExpiry {
		p = new(pointees)
	}
	return r.connectionIn(p)
}

// connectionIn returns a copy of r whose pointers point into p, which may be nil
// only when r has no label and no expiry. A list fills a slice of pointees so that
// it costs one allocation whatever its length.
func (r *record) connectionIn(p *pointees) Connection {
	c := Connection{UUID: r.uuid, Provider: r.provider, CreatedAt: r.createdAt, UpdatedAt: r.updatedAt}
	if r.hasLabel {
		p.label = r.label
		c.Label = &p.label
	}
	if r.hasAccessExpiry {
		p.access = r.accessExpiry
		c.AccessTokenExpiresAt = &p.access
	}
	if r.hasRefreshExpiry {
		p.refresh = r.refreshExpiry
		c.RefreshTokenExpiresAt = &p.refresh
	}
	return c
}

// relabel applies change to r's label.
func (r *record) relabel(change LabelUpdate) {
	if change.Keep {
		return
	}
	r.hasLabel, r.label = change.Label != nil, ""
	if r.hasLabel {
		r.label = *change.Label
	}
}
