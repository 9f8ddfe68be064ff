// Package jsontext checks what encoding/json would quietly change in JSON
// text: bytes that are not UTF-8 and escapes of lone surrogates, both read as
// U+FFFD. The server refuses such a body, and fixtures such a file, so that
// what is stored is what was written.
package jsontext

import (
	"unicode/utf16"
	"unicode/utf8"
)

// ValidUnicode reports whether well-formed JSON is valid UTF-8 and has no
// \u escape of a lone surrogate: encoding/json replaces both with U+FFFD
// without a word, so the client's text would not be what is stored.
func ValidUnicode(data []byte) bool {
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
