package conformance

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// redactor shows the two tokens by their roles, <token> and <other-token>,
// wherever a report would carry them: what the kit sent, and whatever a
// server sends back, which may echo a token written another way. It knows
// the ways an answer writes text: as is, JSON-escaped (\u002f, or \/ as
// PHP's json_encode writes a slash), percent-encoded, and as Basic
// credentials or plain base64. Redacting twice is redacting once: the
// placeholders are left as they are, even for a token such as "token".
type redactor struct {
	all   *regexp.Regexp
	each  []*regexp.Regexp // anchored, to tell which token matched
	names []string
}

func newRedactor(token, other string) *redactor {
	r := &redactor{}
	pairs := [][2]string{{token, "<token>"}, {other, "<other-token>"}}
	// The longer first, so that a token inside the other is not half shown.
	if len(other) > len(token) {
		pairs[0], pairs[1] = pairs[1], pairs[0]
	}
	alts := []string{regexp.QuoteMeta("<token>"), regexp.QuoteMeta("<other-token>")}
	for _, p := range pairs {
		if p[0] == "" {
			continue
		}
		alts = append(alts, spellings(p[0]))
		r.each = append(r.each, regexp.MustCompile("^(?:"+spellings(p[0])+")$"))
		r.names = append(r.names, p[1])
	}
	r.all = regexp.MustCompile(strings.Join(alts, "|"))
	return r
}

// spellings is a pattern of token as any of those encodings writes it: the
// token or its base64, each character as is, JSON-escaped or
// percent-encoded.
func spellings(token string) string {
	var alts []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		alts = append(alts, escapings(enc.EncodeToString([]byte(token+":"))), escapings(enc.EncodeToString([]byte(token))))
	}
	return strings.Join(append(alts, escapings(token)), "|")
}

// escapings is a pattern of s with each character as is, JSON-escaped
// (\u002f, or \/ for a slash) or percent-encoded.
func escapings(s string) string {
	var chars strings.Builder
	for _, r := range s {
		forms := []string{regexp.QuoteMeta(string(r))}
		if r <= 0xFFFF {
			forms = append(forms, `\\u`+anyCaseHex(fmt.Sprintf("%04x", r)))
		}
		if r == '/' {
			forms = append(forms, `\\/`)
		}
		var pct strings.Builder
		for _, b := range []byte(string(r)) {
			pct.WriteString("%" + anyCaseHex(fmt.Sprintf("%02x", b)))
		}
		forms = append(forms, pct.String())
		chars.WriteString("(?:" + strings.Join(forms, "|") + ")")
	}
	return chars.String()
}

// anyCaseHex matches the hex digits of h in either case.
func anyCaseHex(h string) string {
	var b strings.Builder
	for _, c := range h {
		if c >= 'a' && c <= 'f' {
			fmt.Fprintf(&b, "[%c%c]", c, c-'a'+'A')
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func (r *redactor) string(s string) string {
	return r.all.ReplaceAllStringFunc(s, func(m string) string {
		for i, re := range r.each {
			if re.MatchString(m) {
				return r.names[i]
			}
		}
		return m // a placeholder
	})
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
