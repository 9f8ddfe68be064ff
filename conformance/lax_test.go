package conformance_test

import (
	"cmp"
	"maps"
	"net/http"
	"path"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/plannr-toolkit/plannr-oauth/conformance"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// lenientUUIDs takes any spelling of a UUID that Go's uuid.Parse takes: no
// dashes, braces, a URN, upper case. No check can catch it without sending a
// misspelling of a real connection's UUID, which would change or delete it
// (TestLaxUUIDsChangeNoOtherRow).
var lenientUUIDs = onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
	if id, err := pathUUID(r); err == nil {
		r.URL.Path, r.URL.RawPath = path.Dir(r.URL.Path)+"/"+id.String(), ""
	}
	return false
})

// resolves is a lax server: a PUT or DELETE whose path names no connection
// as written goes to the first connection, of either user, that same takes
// it for, as a server does that normalises a UUID before it looks it up.
func resolves(same func(written, id string) bool) wrapper {
	return func(next http.Handler, srv *plannrtest.Server) http.Handler {
		return onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
			dir, written := path.Split(r.URL.Path)
			if r.Method != http.MethodPut && r.Method != http.MethodDelete || path.Clean(dir) != listPath {
				return false
			}
			for _, tok := range []string{firstToken, otherToken} {
				for _, c := range srv.Connections(tok) {
					if same(written, c.UUID.String()) {
						r.URL.Path, r.URL.RawPath = dir+c.UUID.String(), ""
						return false
					}
				}
			}
			return false
		})(next, srv)
	}
}

// hexOf is s lower-cased, without what is no hex digit.
func hexOf(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("0123456789abcdef", r) {
			return r
		}
		return -1
	}, strings.ToLower(s))
}

// laxUUIDs are servers that take a misspelt UUID for a connection's.
var laxUUIDs = []struct {
	name string
	wrap wrapper
}{
	{"trimmed", resolves(func(w, id string) bool { return strings.Trim(w, " {}_.") == id })},
	{"lower-cased", resolves(func(w, id string) bool { return strings.ToLower(w) == id })},
	{"without hyphens", resolves(func(w, id string) bool { return strings.ReplaceAll(w, "-", "") == strings.ReplaceAll(id, "-", "") })},
	{"a prefix", resolves(func(w, id string) bool { return len(w) >= 8 && (strings.HasPrefix(w, id) || strings.HasPrefix(id, w)) })},
	{"as uuid.Parse takes it", lenientUUIDs},
	{"its hex digits inside", resolves(func(w, id string) bool {
		hw, hid := hexOf(w), hexOf(id)
		return len(hw) >= 8 && (strings.Contains(hw, hid) || strings.Contains(hid, hw))
	})},
}

// TestLaxUUIDsChangeNoOtherRow runs every check, in each mode, against
// servers that take a misspelt UUID for a connection's: the data after is
// as our server's after the same run, so no misspelling reached a real
// connection. The first user has three connections, so that one deleted by
// a misspelling is not the one use_after_free would have deleted anyway.
func TestLaxUUIDsChangeNoOtherRow(t *testing.T) {
	opts := []plannrtest.Option{
		plannrtest.WithoutDefaultUser(),
		plannrtest.WithUser(firstToken,
			plannrtest.Connection{UUID: uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe"), Label: ptr("My Fundment Account 1")},
			plannrtest.Connection{UUID: uuid.MustParse("0d7c6a0e-8d36-4b0a-9f5e-3f8f6a1b2c3d"), Label: ptr("second")},
			plannrtest.Connection{UUID: uuid.MustParse("5e1f0c2a-77b4-4d6e-8a90-1b2c3d4e5f60"), Label: ptr("third")}),
		plannrtest.WithUser(otherToken, plannrtest.Connection{UUID: otherConn}),
	}
	for _, readOnly := range []bool{false, true} {
		// after runs the kit on a fresh server behind wrap, and returns every
		// connection's label, null as "<null>".
		after := func(t *testing.T, wrap wrapper) map[uuid.UUID]string {
			srv := fake(t, wrap, opts...)
			target := srv.target
			target.ReadOnly = readOnly
			if _, err := conformance.Execute(t.Context(), target); err != nil {
				t.Fatal(err)
			}
			out := map[uuid.UUID]string{}
			for id, l := range srv.labels() {
				out[id] = *cmp.Or(l, ptr("<null>"))
			}
			return out
		}
		want := after(t, nil)
		for _, lax := range laxUUIDs {
			t.Run(lax.name+map[bool]string{true: ", -readonly"}[readOnly], func(t *testing.T) {
				t.Parallel()
				if got := after(t, lax.wrap); !maps.Equal(got, want) {
					t.Errorf("the labels after the run: %v, want %v, as our server's", got, want)
				}
			})
		}
	}
}
