package store

import (
	"fmt"
	"time"

	"github.com/plannr-toolkit/plannr-oauth/fixtures"

	// Embedded zone data, so that Europe/London loads on a machine without tzdata.
	_ "time/tzdata"
)

// checkSeed refuses, before a store changes anything, a Seed that would fail
// halfway: a connection naming a provider that is neither in s nor known to the
// store, or a user whose location the SQLite store could not load back by name.
func checkSeed(s Seed, known func(provider string) (bool, error)) error {
	seeded := make(map[string]bool, len(s.Providers))
	for _, p := range s.Providers {
		seeded[p.Name] = true
	}
	for _, u := range s.Users {
		if err := checkZone(u.Location); err != nil {
			return err
		}
		for _, c := range u.Connections {
			if seeded[c.Provider] {
				continue
			}
			ok, err := known(c.Provider)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("store: seed: connection %s: unknown provider %q", c.UUID, c.Provider)
			}
		}
	}
	return nil
}

// checkZone accepts a location that time.LoadLocation returns again from its name:
// a FixedZone or time.Local would not survive a restart of the SQLite store.
func checkZone(loc *time.Location) error {
	name := zoneName(loc)
	if name == "" || name == "Local" {
		return fmt.Errorf("store: seed: time zone %q is not an IANA zone name", name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("store: seed: time zone %q: %w", name, err)
	}
	return nil
}

// zoneName is the IANA name of loc, which a nil loc spells UTC.
func zoneName(loc *time.Location) string {
	if loc == nil {
		return "UTC"
	}
	return loc.String()
}

// SeedOf is the Seed of fixtures data: the same providers, users (by token
// hash) and connections.
func SeedOf(d *fixtures.Data) Seed {
	s := Seed{Providers: make([]Provider, len(d.Providers)), Users: make([]SeedUser, len(d.Users))}
	for i, p := range d.Providers {
		s.Providers[i] = Provider(p)
	}
	for i, u := range d.Users {
		su := SeedUser{TokenHash: HashToken(u.Token), Location: u.Location, Connections: make([]SeedConnection, len(u.Connections))}
		for j, c := range u.Connections {
			su.Connections[j] = SeedConnection(c)
		}
		s.Users[i] = su
	}
	return s
}
