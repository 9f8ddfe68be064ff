package httpapi

import (
	"encoding/hex"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// The 200 answers are written here rather than by the generated Visit methods.
// Those encode with a new json.Encoder into a new bytes.Buffer, and through
// nullable.Nullable's MarshalJSON (a json.Marshal each) and time.Time's: about
// twenty allocations a connection. The body is still the generated type; it is
// appended, as encoding/json would encode it byte for byte (encode_test.go
// holds it to that), to a pooled buffer.

// connectionResponse is the 200 of an update.
type connectionResponse gen.OAuthConnection

func (c connectionResponse) VisitUpdateOAuthConnectionResponse(w http.ResponseWriter) error {
	return writeJSON(w, func(b []byte) ([]byte, error) {
		return appendConnection(b, (*gen.OAuthConnection)(&c))
	})
}

// connectionListResponse is the 200 of a list.
type connectionListResponse gen.OAuthConnectionList

func (l connectionListResponse) VisitListOAuthConnectionsResponse(w http.ResponseWriter) error {
	return writeJSON(w, func(b []byte) ([]byte, error) {
		return appendConnectionList(b, (*gen.OAuthConnectionList)(&l))
	})
}

var buffers = sync.Pool{New: func() any { return new([]byte) }}

// jsonType is the Content-Type of every 200, shared as observe shares its
// headers' values.
var jsonType = []string{"application/json"}

// maxPooled is the largest buffer kept for the next response: a rare huge list
// must not pin its memory for good.
const maxPooled = 64 << 10

// writeJSON answers 200 with what encode appends, and a newline, as the
// generated Visit methods do. If encode fails nothing is written, so that the
// caller can still answer 500.
func writeJSON(w http.ResponseWriter, encode func([]byte) ([]byte, error)) error {
	p := buffers.Get().(*[]byte)
	b, err := encode((*p)[:0])
	if err == nil {
		w.Header()["Content-Type"] = jsonType
		w.WriteHeader(http.StatusOK)
		_, err = w.Write(append(b, '\n'))
	}
	if cap(b) <= maxPooled {
		*p = b
		buffers.Put(p)
	}
	return err
}

func appendConnectionList(b []byte, l *gen.OAuthConnectionList) ([]byte, error) {
	b = append(b, `{"data":`...)
	if l.Data == nil {
		return append(b, "null}"...), nil
	}
	b = append(b, '[')
	for i := range l.Data {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendConnection(b, &l.Data[i]); err != nil {
			return nil, err
		}
	}
	return append(b, "]}"...), nil
}

// appendConnection follows the generated struct: its fields in their order, and
// nullable.Nullable's rules (omitempty drops an unset one; without omitempty an
// unset one is the zero value, as its MarshalJSON writes it).
func appendConnection(b []byte, c *gen.OAuthConnection) ([]byte, error) {
	var err error
	b = append(b, `{"access_token_expires_at":`...)
	if b, err = appendNullableTime(b, c.AccessTokenExpiresAt); err != nil {
		return nil, err
	}
	b = append(b, `,"created_at":`...)
	if b, err = appendTime(b, c.CreatedAt); err != nil {
		return nil, err
	}
	if c.Label.IsSpecified() {
		b = append(b, `,"label":`...)
		if c.Label.IsNull() {
			b = append(b, "null"...)
		} else {
			b = appendString(b, c.Label[true])
		}
	}
	b = append(b, `,"provider":{"authorization_url":`...)
	b = appendString(b, c.Provider.AuthorizationURL)
	b = append(b, `,"label":`...)
	b = appendString(b, c.Provider.Label)
	b = append(b, `,"logo_url":`...)
	b = appendString(b, c.Provider.LogoURL)
	b = append(b, `,"name":`...)
	b = appendString(b, c.Provider.Name)
	b = append(b, '}')
	if c.RefreshAuthorizationURL != nil {
		b = append(b, `,"refresh_authorization_url":`...)
		b = appendString(b, *c.RefreshAuthorizationURL)
	}
	b = append(b, `,"refresh_token_expires_at":`...)
	if b, err = appendNullableTime(b, c.RefreshTokenExpiresAt); err != nil {
		return nil, err
	}
	b = append(b, `,"updated_at":`...)
	if b, err = appendTime(b, c.UpdatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"uuid":`...)
	b = appendUUID(b, c.UUID)
	return append(b, '}'), nil
}

func appendNullableTime(b []byte, t nullable.Nullable[time.Time]) ([]byte, error) {
	if t.IsNull() {
		return append(b, "null"...), nil
	}
	return appendTime(b, t[true])
}

// appendTime writes what time.Time's MarshalJSON does (AppendText's RFC 3339,
// quoted), and fails where it does: years outside [0,9999].
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

// appendUUID writes what uuid.UUID's MarshalText does, quoted.
func appendUUID(b []byte, u uuid.UUID) []byte {
	b = append(b, '"')
	for i, part := range [][]byte{u[:4], u[4:6], u[6:8], u[8:10], u[10:]} {
		if i > 0 {
			b = append(b, '-')
		}
		b = hex.AppendEncode(b, part)
	}
	return append(b, '"')
}

// appendString quotes s as encoding/json does by default: <, > and & escaped
// for HTML, invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
