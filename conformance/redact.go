package conformance

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// redactor shows the two tokens by their roles, <token> and <other-token>,
// wherever a report would carry them: what the kit sent, and whatever a
// server sends back, which may echo a token written another way. It knows
// the ways an answer writes text: as is, JSON-escaped (\u002f, or \/ as
// PHP's json_encode writes a slash), percent-encoded, and in base64 written
// any of those ways: the token's, Basic credentials', and the whole
// Authorization value's the kit sent it in, which a server may log or echo
// encoded, and the token's anywhere inside a longer encoded value.
// Redacting twice is redacting once: the placeholders are left as they are,
// even for a token such as "token". A text shorter than minAnywhere is a
// letter or two of words, numbers and UUIDs, so it is redacted only where
// it stands alone (standalone), which is where a token is written.
type redactor struct {
	needles []needle // the longest first
}

// needle is a text to find, unescaped, and what shows in its place.
type needle struct{ text, name string }

var placeholders = []string{"<token>", "<other-token>"}

func newRedactor(token, other string) *redactor {
	r := &redactor{}
	for _, p := range []needle{{token, placeholders[0]}, {other, placeholders[1]}} {
		if p.text == "" {
			continue
		}
		r.needles = append(r.needles, p)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			for _, text := range []string{p.text, p.text + ":", bearer(p.text), basic(p.text)} {
				r.needles = append(r.needles, needle{enc.EncodeToString([]byte(text)), p.name})
			}
			// Inside a longer value encoded whole (two Authorization
			// headers joined, a log line), at any offset.
			for _, core := range base64Cores(enc, []byte(p.text)) {
				r.needles = append(r.needles, needle{core, p.name})
			}
		}
	}
	// The longer first, so that a token inside the other, or a base64
	// without its padding, is not half shown.
	slices.SortStableFunc(r.needles, func(a, b needle) int { return len(b.text) - len(a.text) })
	return r
}

// minAnywhere is the shortest text redacted wherever it is, inside a word
// or a longer base64 value too: a shorter one would hide text that is no
// token's. A base64 core (base64Cores) is inside a longer value, so a
// shorter one is not redacted at all.
const minAnywhere = 6

// standalone reports whether s[start:end] has no token character next to
// it: such is a token in an Authorization value, a JSON string, a query
// value or a sentence, and not a letter of a word or a UUID. Token
// characters are RFC 6750's (b64token) and any letter or digit; '=' is not
// one, so that a query value's or a padded token's edge counts as one.
func standalone(s string, start, end int) bool {
	before, _ := utf8.DecodeLastRuneInString(s[:start])
	after, _ := utf8.DecodeRuneInString(s[end:])
	return !tokenChar(before) && !tokenChar(after)
}

func tokenChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-._~+/", r)
}

// base64Cores are the characters that only text's bytes make when text is
// encoded inside a longer value, at each of the three offsets it may have
// in a 3-byte group: the characters that also hold bits of the bytes before
// or after it are left out.
func base64Cores(enc *base64.Encoding, text []byte) []string {
	var cores []string
	for k := range 3 {
		s := enc.WithPadding(base64.NoPadding).EncodeToString(append(make([]byte, k), text...))
		// Character i holds bits 6i to 6i+6; text's are 8k to 8(k+len).
		start, end := (8*k+5)/6, 8*(k+len(text))/6
		if end-start >= minAnywhere {
			cores = append(cores, s[start:end])
		}
	}
	return cores
}

// bearer and basic are the Authorization values the kit sends a token in.
func bearer(token string) string { return "Bearer " + token }

func basic(token string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(token+":"))
}

// unescape decodes the escapes of s that it knows (\uXXXX, \/, %XX), and
// returns for each byte of the result where in s it came from, and len(s)
// last, so that a match in the result is a span of s. Most text has no
// escape, and comes back as it is.
func unescape(s string) (string, []int) {
	if !strings.ContainsAny(s, `\%`) {
		return s, nil // nil: every byte where it was
	}
	var out []byte
	var from []int
	emit := func(b []byte, at int) {
		out = append(out, b...)
		for range b {
			from = append(from, at)
		}
	}
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], `\/`):
			emit([]byte{'/'}, i)
			i += 2
			continue
		case strings.HasPrefix(s[i:], `\u`) && i+6 <= len(s):
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil && !utf16.IsSurrogate(rune(n)) {
				emit(utf8.AppendRune(nil, rune(n)), i)
				i += 6
				continue
			}
		case s[i] == '%' && i+3 <= len(s):
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				emit([]byte{byte(n)}, i)
				i += 3
				continue
			}
		}
		emit([]byte{s[i]}, i)
		i++
	}
	return string(out), append(from, len(s))
}

func (r *redactor) string(s string) string {
	plain, from := unescape(s)
	pos := func(i int) int {
		if from == nil {
			return i
		}
		return from[i]
	}
	// Spans of s to replace, and the placeholders already there, which
	// nothing may overlap.
	type span struct {
		start, end int
		name       string
	}
	var spans []span
	overlaps := func(start, end int) bool {
		return slices.ContainsFunc(spans, func(p span) bool { return start < p.end && p.start < end })
	}
	for _, n := range append([]needle{{placeholders[0], ""}, {placeholders[1], ""}}, r.needles...) {
		for at := 0; ; {
			i := strings.Index(plain[at:], n.text)
			if i < 0 {
				break
			}
			short := len(n.text) < minAnywhere
			start, end := pos(at+i), pos(at+i+len(n.text))
			if !overlaps(start, end) && (!short || standalone(plain, at+i, at+i+len(n.text))) {
				spans = append(spans, span{start, end, n.name})
			}
			at += i + 1
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	last := 0
	for _, p := range spans {
		b.WriteString(s[last:p.start])
		if p.name == "" {
			p.name = s[p.start:p.end] // a placeholder, kept
		}
		b.WriteString(p.name)
		last = p.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// header returns h with its names and values redacted.
func (r *redactor) header(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for name, values := range h {
		for _, v := range values {
			out[r.string(name)] = append(out[r.string(name)], r.string(v))
		}
	}
	return out
}

// excerpt is the start of b for a report, redacted before it is cut, so that
// a cut never leaves half a token; quoted if it is not UTF-8.
func (r *redactor) excerpt(b []byte) string {
	const limit = 500
	s := r.string(string(b))
	if len(s) <= limit {
		if !utf8.ValidString(s) {
			return fmt.Sprintf("%q", s)
		}
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	head := s[:cut]
	if !utf8.ValidString(head) {
		head = fmt.Sprintf("%q", head)
	}
	return fmt.Sprintf("%s... (%d bytes)", head, len(b))
}
