package validation

import (
	"mime"
	"net/http"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/apierror"
)

var unsupportedMediaType = apierror.New(http.StatusUnsupportedMediaType, msgs.UnsupportedMediaType)

// utf8Charset reports whether a JSON Content-Type names no charset or UTF-8:
// JSON is UTF-8 (RFC 8259 section 8.1), and a body declared in another
// charset would be stored as mojibake.
func utf8Charset(contentType string) bool {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8")
}

// validUnicode reports whether well-formed JSON is valid UTF-8 and has no
// \u escape of a lone surrogate: encoding/json replaces both with U+FFFD
// without a word, so the client's text would not be what is stored.
func validUnicode(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			i++ // the escaped character; JSON is known to be well formed
			if data[i] != 'u' {
				continue
			}
			r := hex4(data[i+1:])
			i += 4
			if !utf16.IsSurrogate(r) {
				continue
			}
			// A high surrogate must be followed by an escaped low one.
			if r >= 0xDC00 || i+6 >= len(data) || data[i+1] != '\\' || data[i+2] != 'u' {
				return false
			}
			if utf16.DecodeRune(r, hex4(data[i+3:])) == utf8.RuneError {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 decodes the four hex digits at the start of b, which json.Valid has
// checked.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= 'a':
			c = c - 'a' + 10
		case c >= 'A':
			c = c - 'A' + 10
		default:
			c -= '0'
		}
		r = r<<4 | rune(c)
	}
	return r
}

// normalizeStrings does to a decoded body what Laravel's global TrimStrings
// and ConvertEmptyStringsToNull middleware do before validation, to every
// string in it: plannroauth.Trim.
func normalizeStrings(v any) any {
	switch v := v.(type) {
	case string:
		if t, ok := plannroauth.Trim(v); ok {
			return t
		}
		return nil
	case map[string]any:
		for k, e := range v {
			v[k] = normalizeStrings(e)
		}
	case []any:
		for i, e := range v {
			v[i] = normalizeStrings(e)
		}
	}
	return v
}
