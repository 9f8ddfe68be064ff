package store

import (
	"cmp"
	"database/sql"
	"fmt"
	"time"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

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
