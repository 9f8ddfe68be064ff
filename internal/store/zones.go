package store

import (
	"fmt"
	"sync"
	"time"
)

// zones loads time zones by name, each once: time.LoadLocation parses zone data
// on every call. The zero value is ready to use.
type zones struct {
	mu sync.RWMutex
	m  map[string]*time.Location
}

// load returns the zone named name.
func (z *zones) load(name string) (*time.Location, error) {
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
