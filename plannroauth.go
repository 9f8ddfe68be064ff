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
// how timestamps are written (Timestamp, Expiry) and which ones can be
// (Connection.CheckTimes), what a connection the API could hold must be
// (Connection.Check: its label as CheckLabel says, UTF-8, trimmed and within
// the schema, and its times), what a provider must hold (Provider.Check), what a
// bearer token may be (ValidToken), what names an account's zone (LoadZone).
//
// go generate ./... in this directory turns api/openapi.yaml into ./gen.
package plannroauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
)

// Provider is an OAuth2 provider, such as Fundment.
type Provider struct {
	Name             string
	Label            string
	LogoURL          string
	AuthorizationURL string
}

// Check refuses a provider the API could not show as the spec has it, or
// that not every store would keep: a field missing, a field with a NUL or
// not UTF-8 (CheckUTF8), which PostgreSQL refuses in text while SQLite and
// memory keep it, or a URL that is not absolute. The error names the field.
func (p Provider) Check() error {
	for _, f := range []struct {
		name, value string
		url         bool
	}{
		{"name", p.Name, false},
		{"label", p.Label, false},
		{"logo_url", p.LogoURL, true},
		{"authorization_url", p.AuthorizationURL, true},
	} {
		if err := CheckUTF8(f.value); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		switch {
		case strings.TrimSpace(f.value) == "":
			return fmt.Errorf("%s: missing", f.name)
		case strings.ContainsRune(f.value, 0):
			return fmt.Errorf("%s: %q has a NUL (U+0000), which PostgreSQL cannot store", f.name, f.value)
		case f.url:
			if u, err := url.Parse(f.value); err != nil || !u.IsAbs() || u.Host == "" {
				return fmt.Errorf("%s: %q is not an absolute URL", f.name, f.value)
			}
		}
	}
	return nil
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
// otherwise Label replaces it, and a nil Label clears it. The connection keeps
// Label itself, not a copy, so what Label points to must not be written
// afterwards.
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
		c.Label = change.Label // not a copy: its allocation is the caller's, made before the store's write
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
	// Location is the account's time zone, one LoadZone loads (a store keeps
	// its name); nil means UTC.
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
	// ErrCanceled: the work was cancelled before it ended: the caller went
	// away, or a context of the implementation's own (an errgroup's) was
	// cancelled. It is context.Canceled itself, so that a store's or a
	// limiter's context error is this kind as it comes. The server answers
	// it 503 (server.WriteError), and counts it as the client's going only
	// when the request's own context ended.
	ErrCanceled = context.Canceled
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

// CheckTimes refuses a connection, of an account in loc (nil: UTC), with a
// timestamp whose year RFC 3339 cannot write (it has four digits for it) in
// an offset the time is written in: for created_at and updated_at their own,
// loc's (an update stamps updated_at there) and UTC (stores sort by it); for
// the expiries UTC. Stamping a time of year 9999 or 0 into an offset can carry
// it past, and a connection with one would answer 500 on every request. The
// error names the field.
func (c *Connection) CheckTimes(loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	for _, f := range []struct {
		name  string
		t     *time.Time
		zoned bool // written in an offset of its own, not only in UTC
	}{
		{"created_at", &c.CreatedAt, true},
		{"updated_at", &c.UpdatedAt, true},
		{"access_token_expires_at", c.AccessTokenExpiresAt, false},
		{"refresh_token_expires_at", c.RefreshTokenExpiresAt, false},
	} {
		if f.t == nil {
			continue
		}
		views := []time.Time{f.t.UTC()}
		if f.zoned {
			views = append(views, *f.t, f.t.In(loc))
		}
		for _, t := range views {
			if !Writable(t) {
				return fmt.Errorf("%s: %s is outside the years RFC 3339 can write, 0000 to 9999", f.name, t.Format(time.RFC3339Nano))
			}
		}
	}
	return nil
}

// Writable reports whether RFC 3339 can write t's year, as t's offset has it
// (four digits, 0000 to 9999): ask it of t in the offset t is written in.
func Writable(t time.Time) bool {
	y := t.Year()
	return 0 <= y && y <= 9999
}

// The layouts of the API's timestamps. Go's RFC 3339 would write a zero offset
// as Z and drop a fraction's trailing zeros; Plannr, a Laravel application,
// writes what Carbon's ISO 8601 with PHP's P offset gives.
const (
	timestampLayout = "2006-01-02T15:04:05-07:00"
	expiryLayout    = "2006-01-02T15:04:05.000000Z"
)

// rfc3339 is the syntax of RFC 3339's date-time (section 5.6), the spec's
// format, less the lower-case t and z that time.Parse refuses.
var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

// ParseTime reads s as an RFC 3339 date-time, the spec's format, and nothing
// else. time.Parse alone takes more (go.dev/issue/54580): a comma before the
// fraction, an hour of one digit, an offset of 24 hours or of 60 minutes.
// ParseTime holds s to RFC 3339's grammar, and time.Parse holds it to the
// ranges of months, days and seconds.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil && !rfc3339.MatchString(s) {
		err = fmt.Errorf("%q is not in RFC 3339's syntax", s)
	}
	return t, err
}

// AppendTimestamp appends t as the API writes created_at and updated_at: in
// t's own offset, whole seconds, the offset as ±HH:MM even when it is zero
// (2025-12-02T15:46:57+00:00). It writes what t.AppendFormat writes with
// the layout, digit by digit (see appendDateTime).
func AppendTimestamp(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, timestampLayout)
	}
	hour, minute, sec := t.Clock()
	b = appendDateTime(b, year, month, day, hour, minute, sec)
	// As the layout's -07:00: the offset in whole minutes, truncated.
	_, offset := t.Zone()
	zone, sign := offset/60, byte('+')
	if zone < 0 {
		zone, sign = -zone, '-'
	}
	b = append(b, sign)
	b = append2(b, zone/60)
	b = append(b, ':')
	return append2(b, zone%60)
}

// AppendExpiry appends t as the API writes an expiry: in UTC, with six
// digits of fraction (2025-06-25T18:10:48.890170Z). It writes what
// t.UTC().AppendFormat writes with the layout, digit by digit.
func AppendExpiry(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, expiryLayout)
	}
	hour, minute, sec := t.Clock()
	b = appendDateTime(b, year, month, day, hour, minute, sec)
	b = append(b, '.')
	micro := t.Nanosecond() / 1000 // truncated, as the layout's .000000
	b = append2(b, micro/10000)
	b = append2(b, micro/100%100)
	b = append2(b, micro%100)
	return append(b, 'Z')
}

// appendDateTime writes 2006-01-02T15:04:05. The layouts cost AppendFormat
// a parse of the layout on each call, a third of the time of a 200's body;
// TestAppendTimestampAsTheLayout holds the two to the same bytes.
func appendDateTime(b []byte, year int, month time.Month, day, hour, minute, sec int) []byte {
	b = append2(b, year/100)
	b = append2(b, year%100)
	b = append(b, '-')
	b = append2(b, int(month))
	b = append(b, '-')
	b = append2(b, day)
	b = append(b, 'T')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, minute)
	b = append(b, ':')
	return append2(b, sec)
}

// append2 writes n, from 0 to 99, in two digits.
func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

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
func (t Expiry) MarshalJSON() ([]byte, error) { return marshal(t.Time.UTC(), AppendExpiry) }

// UnmarshalJSON reads any RFC 3339 time.
func (t *Expiry) UnmarshalJSON(b []byte) error { return t.Time.UnmarshalJSON(b) }

// String is t as the API writes it.
func (t Expiry) String() string { return string(AppendExpiry(nil, t.Time)) }

// marshal quotes t as format appends it, refusing what time.Time's own
// MarshalJSON refuses: a year that RFC 3339 cannot write.
func marshal(t time.Time, format func([]byte, time.Time) []byte) ([]byte, error) {
	if !Writable(t) {
		return nil, errors.New("timestamp: year outside of range [0,9999]")
	}
	return append(format([]byte{'"'}, t), '"'), nil
}

// ErrInvalidToken is the error of a token that ValidToken refuses. It words
// the grammar, never the token, which a message may carry to a log.
var ErrInvalidToken = errors.New("not a bearer token that a client can send (RFC 6750: letters, digits, -._~+/ and trailing =)")

// ValidToken reports whether s can be sent as a bearer token: the b64token of
// RFC 6750 section 2.1, 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
// *"=". A token outside it can never authenticate, so fixtures and test
// servers refuse one when they load it.
func ValidToken(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// TokenHash is the SHA-256 of a bearer token. Stores keep only hashes, so that
// a copy of a database hands out no working token.
type TokenHash [sha256.Size]byte

// HashToken hashes a bearer token for storage and look-up.
func HashToken(token string) TokenHash { return sha256.Sum256([]byte(token)) }

// Trim does to a string of a request body what Laravel's global TrimStrings
// and ConvertEmptyStringsToNull middleware do before validation: it trims
// Laravel's set at both ends (see IsTrimmed) and reports false, for null,
// when nothing is left. "  My label " is "My label"; "", " " and "\x00" are
// null.
func Trim(s string) (string, bool) {
	s = strings.TrimFunc(s, IsTrimmed)
	return s, s != ""
}

// IsTrimmed reports whether Trim trims r: white space as PCRE's \s in
// Unicode mode sees it (Go's unicode.IsSpace, and U+180E, which PCRE still
// counts), NUL, which PHP's trim adds, and the invisible byte-order mark,
// zero-width space and left-to-right mark that TrimStrings names.
func IsTrimmed(r rune) bool {
	switch r {
	case 0, '\u180E', '\uFEFF', '\u200B', '\u200E':
		return true
	}
	return unicode.IsSpace(r)
}
