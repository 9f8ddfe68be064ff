package plannroauth

import (
	"errors"
	"time"
)

// Stamp is the UpdatedAt of a change made at now to a connection of an
// account in loc, whose UpdatedAt was prev: now in the account's UTC offset, as
// Plannr writes it, in whole seconds, and never before prev, so that neither a
// clock stepping back nor a write that waited behind a later one makes
// updated_at go backwards. A zero prev imposes nothing. loc must not be nil.
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

// StampExpiry is how a token's expiry is kept: in UTC, to the microsecond, as
// Plannr's documented example (2025-06-25T18:10:48.890172Z).
func StampExpiry(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// The layouts of the API's timestamps. Go's RFC 3339 would write a zero offset
// as Z and drop a fraction's trailing zeros; Plannr, a Laravel application,
// writes what Carbon's ISO 8601 with PHP's P offset gives.
const (
	timestampLayout = "2006-01-02T15:04:05-07:00"
	expiryLayout    = "2006-01-02T15:04:05.000000Z"
)

// AppendTimestamp appends t as the API writes created_at and updated_at: in
// t's own offset, whole seconds, the offset as ±HH:MM even when it is zero
// (2025-12-02T15:46:57+00:00).
func AppendTimestamp(b []byte, t time.Time) []byte { return t.AppendFormat(b, timestampLayout) }

// AppendExpiry appends t as the API writes an expiry: in UTC, with six
// digits of fraction (2025-06-25T18:10:48.890170Z).
func AppendExpiry(b []byte, t time.Time) []byte { return t.UTC().AppendFormat(b, expiryLayout) }

// Timestamp is a created_at or updated_at on the wire: the generated models
// (gen.OAuthConnection) hold one, as the spec's x-go-type says, so that every
// implementation writes it as AppendTimestamp does. It reads any RFC 3339
// time. Its methods are time.Time's.
type Timestamp struct{ time.Time }

// MarshalJSON writes t as AppendTimestamp does.
func (t Timestamp) MarshalJSON() ([]byte, error) { return marshal(t.Time, AppendTimestamp) }

// UnmarshalJSON reads any RFC 3339 time.
func (t *Timestamp) UnmarshalJSON(b []byte) error { return t.Time.UnmarshalJSON(b) }

// String is t as the API writes it.
func (t Timestamp) String() string { return string(AppendTimestamp(nil, t.Time)) }

// Expiry is an access or refresh token's expiry on the wire, written as
// AppendExpiry does; see Timestamp.
type Expiry struct{ time.Time }

// MarshalJSON writes t as AppendExpiry does.
func (t Expiry) MarshalJSON() ([]byte, error) { return marshal(t.Time, AppendExpiry) }

// UnmarshalJSON reads any RFC 3339 time.
func (t *Expiry) UnmarshalJSON(b []byte) error { return t.Time.UnmarshalJSON(b) }

// String is t as the API writes it.
func (t Expiry) String() string { return string(AppendExpiry(nil, t.Time)) }

// marshal quotes t as format appends it, refusing what time.Time's own
// MarshalJSON refuses: a year that RFC 3339 cannot write.
func marshal(t time.Time, format func([]byte, time.Time) []byte) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, errors.New("timestamp: year outside of range [0,9999]")
	}
	return append(format([]byte{'"'}, t), '"'), nil
}
