// Package baseurl checks the address at which a program is told Plannr's API
// is, so that the client (client.New) and the commands refuse the same ones,
// before any request.
package baseurl

import (
	"fmt"
	"net/url"
	"strings"
)

// Parse returns s, an absolute http(s) URL with a host, and perhaps a path
// where the API is mounted. A query or a fragment is refused: every request
// resolves the operation's path against the base URL, which drops both, so
// that e.g. ?tenant=... would be ignored without a word. The error quotes s
// with its password, if any, as xxxxx.
func Parse(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		return nil, fmt.Errorf("base URL %q is not an absolute http(s) URL", Redacted(s))
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("base URL %q has a query, which no request would carry", Redacted(s))
	case u.Fragment != "" || u.RawFragment != "":
		return nil, fmt.Errorf("base URL %q has a fragment, which no request would carry", Redacted(s))
	}
	return u, nil
}

// Redacted is s as url.URL.Redacted writes it, the password xxxxx, also when
// s does not parse: then its userinfo is what comes before the last @ ahead
// of any query or fragment, as a password may hold a slash that ends the
// authority for url.Parse.
func Redacted(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	at := strings.LastIndex(rest[:strings.IndexAny(rest+"?", "?#")], "@")
	if at < 0 {
		return s
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return s
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
