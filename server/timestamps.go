package server

import "time"

// Stamp is the UpdatedAt of a change made at now to a connection of an
// account in loc, whose UpdatedAt was prev: now in the account's UTC offset, as
// Plannr writes it, in whole seconds, and never before prev, so that neither a
// clock stepping back nor a write that waited behind a later one makes
// updated_at go backwards. A zero prev imposes nothing. Every timestamp of an
// account's connections follows this rule, wherever it is written (an
// implementation calls it inside its write); loc must not be nil.
func Stamp(now time.Time, loc *time.Location, prev time.Time) time.Time {
	t := now.In(loc).Truncate(time.Second) // In and Truncate also drop the monotonic reading
	if t.Before(prev) {
		// prev's second, or the next one if prev has a fraction: whole seconds still.
		t = prev.In(loc).Truncate(time.Second)
		if t.Before(prev) {
			t = t.Add(time.Second)
		}
	}
	return t
}

// StampExpiry is how a token's expiry is shown: in UTC, to the microsecond at
// most, as Plannr's documented example (2025-06-25T18:10:48.890172Z).
func StampExpiry(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
