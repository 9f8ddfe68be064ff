// Package baseurl checks the address at which a program is told Plannr's API
// is, so that the client (client.New) and the commands refuse the same ones,
// before any request.
package baseurl

import (
	"fmt"
	"net/url"
)

// Parse returns s, an absolute http(s) URL with a host, and perhaps a path
// where the API is mounted. A query or a fragment is refused: every request
// resolves the operation's path against the base URL, which drops both, so
// that e.g. ?tenant=... would be ignored without a word.
func Parse(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		return nil, fmt.Errorf("base URL %q is not an absolute http(s) URL", s)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("base URL %q has a query, which no request would carry", s)
	case u.Fragment != "" || u.RawFragment != "":
		return nil, fmt.Errorf("base URL %q has a fragment, which no request would carry", s)
	}
	return u, nil
}
