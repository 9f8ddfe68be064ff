package plannroauth

import (
	"crypto/sha256"
	"strings"
)

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
