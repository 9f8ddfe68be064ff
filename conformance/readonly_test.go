package conformance_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/conformance"
	"github.com/plannr-toolkit/plannr-oauth/plannrtest"
)

// ignoresAuth serves every request without a valid token as the first
// user's.
var ignoresAuth = onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Values("Authorization")
	if len(auth) != 1 || auth[0] != "Bearer "+firstToken && auth[0] != "Bearer "+otherToken {
		r.Header.Set("Authorization", "Bearer "+firstToken)
	}
	return false
})

// breaksTenancy serves a PUT or DELETE of a connection as its owner's,
// whoever sent it.
func breaksTenancy(next http.Handler, srv *plannrtest.Server) http.Handler {
	return onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		id, err := pathUUID(r)
		if err != nil {
			return false
		}
		for _, tok := range []string{firstToken, otherToken} {
			if slices.ContainsFunc(srv.Connections(tok), func(c plannrtest.Connection) bool { return c.UUID == id }) {
				r.Header.Set("Authorization", "Bearer "+tok)
			}
		}
		return false
	})(next, srv)
}

// createsOnPut takes a user's PUT to a UUID that no user has as a create,
// before it looks at the body, as a create-or-replace PUT would. made counts
// the connections it made; plannrtest takes a UUID once, so each is made
// once.
func createsOnPut(made *atomic.Int32) wrapper {
	return func(next http.Handler, srv *plannrtest.Server) http.Handler {
		var mu sync.Mutex
		had := map[uuid.UUID]bool{}
		return onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
			id, err := pathUUID(r)
			token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if err != nil || r.Method != http.MethodPut || token != firstToken && token != otherToken {
				return false
			}
			mu.Lock()
			defer mu.Unlock()
			for _, tok := range []string{firstToken, otherToken} {
				for _, c := range srv.Connections(tok) {
					had[c.UUID] = true
				}
			}
			if !had[id] {
				had[id] = true
				srv.AddUser(token, plannrtest.Connection{UUID: id})
				made.Add(1)
			}
			return false
		})(next, srv)
	}
}

// takesAnyBody makes whatever body a PUT sends a label the server stores.
var takesAnyBody = onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPut {
		return false
	}
	r.Header.Set("Content-Type", "application/json")
	editBody(r, func(m map[string]any) {
		if v, ok := m["label"]; ok && v != nil {
			l, _ := plannroauth.Trim(strings.ReplaceAll(fmt.Sprint(v), "\x00", ""))
			m["label"] = string([]rune(l)[:min(len([]rune(l)), plannroauth.LabelMaxLength())])
		}
	})
	return false
})

// chain puts the wrappers in front of next, the first outermost.
func chain(ws ...wrapper) wrapper {
	return func(next http.Handler, srv *plannrtest.Server) http.Handler {
		for _, w := range slices.Backward(ws) {
			next = w(next, srv)
		}
		return next
	}
}

// broken are servers that a careless kit would change data on.
var broken = []struct {
	name string
	wrap wrapper
}{
	{"ours", nil},
	{"lenient UUIDs", lenientUUIDs},
	{"an encoded slash decoded before routing", decodesSlash},
	{"a leaky list", leaky},
	{"a token echoed", echo},
	{"authentication ignored", ignoresAuth},
	{"tenancy broken", breaksTenancy},
	{"any body taken", takesAnyBody},
	{"the UUID looked up before the body", lookUpFirst},
	{"a PUT to an unknown UUID creates it", createsOnPut(new(atomic.Int32))},
	{"all of them", chain(ignoresAuth, createsOnPut(new(atomic.Int32)), breaksTenancy, lenientUUIDs, decodesSlash, takesAnyBody, leaky, echo)},
}

// TestReadOnlyChangesNothing runs every check -readonly runs, all together
// and each alone (a later check may undo by chance what an earlier one did),
// against servers that are broken in ways that would let a request change
// data: every user's data, read from the store, is the same after,
// updated_at included.
func TestReadOnlyChangesNothing(t *testing.T) {
	runs := []string{""}
	for _, c := range conformance.Checks() {
		if !c.Writes {
			runs = append(runs, "^"+c.Name+"$")
		}
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, run := range runs {
				srv := fake(t, b.wrap)
				target := srv.target
				target.ReadOnly, target.Run = true, run
				before := srv.state(t)
				rep, _ := outcomes(t, target)
				if after := srv.state(t); after != before {
					t.Errorf("-run %q: -readonly changed the data:\nbefore %s\nafter  %s", run, before, after)
				}
				for _, res := range rep.Results {
					if slices.Contains(writes(), res.Check) != (res.Outcome == conformance.Skip) {
						t.Errorf("%s: %s, want a skip for exactly the checks that write", res.Check, res.Outcome)
					}
				}
				noToken(t, rep)
			}
		})
	}
}

// ignoresDelete answers every DELETE 204, and deletes nothing.
var ignoresDelete = onRequest(func(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodDelete {
		return false
	}
	w.WriteHeader(http.StatusNoContent)
	return true
})

// TestReadOnlyDeletesWhatAPutMade runs checks -readonly against a server
// that takes a PUT to an unknown UUID as a create: the check whose request
// made the connection fails and says so, and the kit deletes it, or says to
// delete it by hand when its DELETE did not.
func TestReadOnlyDeletesWhatAPutMade(t *testing.T) {
	for _, tc := range []struct {
		name, run string
		also      wrapper // in front of the server, if not nil
		failed    string  // the check that made the connection
		left      bool    // whether the connection stays
	}{
		{name: "all", failed: "duplicate_authorization"}, // the first to PUT with a token: one of two
		{name: "unsupported_media_type", run: "^unsupported_media_type$", failed: "unsupported_media_type"},
		{name: "body_too_large", run: "^body_too_large$", failed: "body_too_large"},
		{name: "a DELETE that deletes nothing", run: "^body_too_large$", also: ignoresDelete, failed: "body_too_large", left: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var made atomic.Int32
			wrap := createsOnPut(&made)
			if tc.also != nil {
				wrap = chain(wrap, tc.also)
			}
			srv := fake(t, wrap)
			target := srv.target
			target.ReadOnly, target.Run = true, tc.run
			before := srv.state(t)
			rep, _ := outcomes(t, target)
			if after := srv.state(t); (after != before) != tc.left {
				t.Errorf("the data changed: %v, want %v:\nbefore %s\nafter  %s", after != before, tc.left, before, after)
			}
			if made.Load() == 0 {
				t.Fatal("the server made no connection: the test shows nothing")
			}
			for _, res := range rep.Results {
				for _, said := range []struct {
					text string
					want bool
				}{
					{"the kit deletes it", res.Check == tc.failed},
					{"delete it by hand", res.Check == tc.failed && tc.left},
				} {
					if got := slices.ContainsFunc(res.Failures, func(f conformance.Failure) bool { return strings.Contains(f.Expected, said.text) }); got != said.want {
						t.Errorf("%s: says %q: %v, want %v\n%s", res.Check, said.text, got, said.want, failures(rep))
					}
				}
			}
		})
	}
}

// outcomesKeeping is outcomes, and fails t unless every user's data, read
// from the store, is after the run as it was before.
func (s fakeServer) outcomesKeeping(t *testing.T, target conformance.Target) (*conformance.Report, map[conformance.Outcome][]string) {
	t.Helper()
	before := s.state(t)
	rep, got := outcomes(t, target)
	if after := s.state(t); after != before {
		t.Errorf("the data changed:\nbefore %s\nafter  %s", before, after)
	}
	return rep, got
}

// TestChangesOnlyItsOwn runs every check without -readonly against a server
// whose list shows other users' connections: nothing is proved the first
// user's, so the checks that change data skip, and nothing changes.
func TestChangesOnlyItsOwn(t *testing.T) {
	srv := fake(t, leaky)
	rep, got := srv.outcomesKeeping(t, srv.target)
	if !slices.Contains(got[conformance.Fail], "list_connections") {
		t.Errorf("list_connections: not failed, want it to fail the leak: %v", got)
	}
	if !slices.Equal(got[conformance.Skip], writes()) {
		t.Errorf("skipped %v, want %v", got[conformance.Skip], writes())
	}
	for _, res := range rep.Results {
		if res.Outcome == conformance.Skip && !strings.Contains(res.Reason, "proved the first user's own") {
			t.Errorf("%s skipped for %q", res.Check, res.Reason)
		}
	}
}

// TestNoToken runs every check against servers that echo the tokens, in
// every spelling, and show them in lists: no report shows one.
func TestNoToken(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		t.Run(fmt.Sprint("readonly=", readOnly), func(t *testing.T) {
			t.Parallel()
			target := fake(t, chain(leaky, echo)).target
			target.ReadOnly = readOnly
			rep, got := outcomes(t, target)
			if len(got[conformance.Fail]) == 0 {
				t.Fatal("no check failed: the reports have nothing to show")
			}
			noToken(t, rep)
		})
	}
}

// noToken fails t if any report of rep shows a token in any spelling.
func noToken(t *testing.T, rep *conformance.Report) {
	t.Helper()
	var out bytes.Buffer
	for _, write := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return rep.WriteText(b) },
		func(b *bytes.Buffer) error { return rep.WriteJSON(b) },
		func(b *bytes.Buffer) error { return rep.WriteJUnit(b) },
	} {
		if err := write(&out); err != nil {
			t.Fatal(err)
		}
	}
	if leak := tokenIn(out.String()); leak != "" {
		t.Errorf("a report shows %q:\n%s", leak, out.String())
	}
}

// tokenIn returns the first spelling of a token in s, "" if there is none.
func tokenIn(s string) string {
	for _, tok := range []string{firstToken, otherToken} {
		spellings := []string{
			tok,
			tok[:len(tok)/2], // half of one, cut by an excerpt
			strings.ReplaceAll(tok, "/", `\/`),
			strings.ReplaceAll(tok, "/", `\u002f`),
			url.QueryEscape(tok),
			url.PathEscape(tok),
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
			spellings = append(spellings, enc.EncodeToString([]byte(tok)), enc.EncodeToString([]byte(tok+":")), enc.EncodeToString([]byte("Bearer "+tok)))
		}
		for _, sp := range spellings {
			if strings.Contains(s, sp) {
				return sp
			}
		}
	}
	return ""
}

// TestUnrestorableLabels shows the first user labels that no PUT could put
// back (white space around, over maxLength), as a server may hold that got
// them other than through the API: the checks that change a label skip and
// say why, and nothing changes. The fake holds only labels the API could,
// so a wrapper shows its labels so.
func TestUnrestorableLabels(t *testing.T) {
	shown := map[string]string{"padded": "  padded  ", "long": strings.Repeat("x", plannroauth.LabelMaxLength()+1)}
	showUnrestorable := onAnswer(func(_ *http.Request, a *answer) {
		a.editConnections(func(conn map[string]any) {
			if l, ok := conn["label"].(string); ok && shown[l] != "" {
				conn["label"] = shown[l]
			}
		})
	})
	srv := fake(t, showUnrestorable, plannrtest.WithoutDefaultUser(),
		plannrtest.WithUser(firstToken, plannrtest.Connection{Label: ptr("padded")}, plannrtest.Connection{Label: ptr("long")}),
		plannrtest.WithUser(otherToken, plannrtest.Connection{UUID: otherConn}))
	target := srv.target
	target.Run = "^(label_.*|unknown_properties_ignored|timestamps|uuid_spellings)$"
	rep, got := srv.outcomesKeeping(t, target)
	if len(got[conformance.Skip]) != len(rep.Results) {
		t.Errorf("%v, want every check to skip", got)
	}
	for _, res := range rep.Results {
		if !strings.Contains(res.Reason, "put back exactly") {
			t.Errorf("%s skipped for %q", res.Check, res.Reason)
		}
	}
}

// TestRestoreFails has a server refuse the PUT that puts a label back: the
// check fails, and says so.
func TestRestoreFails(t *testing.T) {
	const original = "My Fundment Account 1" // users()'s
	target := fake(t, refuse(labelRule(func(l string) bool { return l == original }),
		http.StatusServiceUnavailable, msgs.Unavailable)).target
	target.Run = "^label_set$"
	rep, _ := outcomes(t, target)
	if rep.Passed() || !strings.Contains(failures(rep), "the label stays") {
		t.Errorf("a label not put back, and the check says nothing:\n%s", failures(rep))
	}
}

// labels is every user's connections' labels, read from the store: what a
// run must leave as it found it even where updated_at moves.
func (s fakeServer) labels() map[uuid.UUID]*string {
	out := map[uuid.UUID]*string{}
	for _, tok := range []string{firstToken, otherToken} {
		for _, c := range s.Connections(tok) {
			out[c.UUID] = c.Label
		}
	}
	return out
}

// TestInterruptedRestores cancels the run as soon as a check has changed a
// label: the check still puts it back, and the next check does not start.
// When the server refuses to put it back, the report, which holds no check
// cut off, still says so, and nothing of the interruption itself.
func TestInterruptedRestores(t *testing.T) {
	const original = "My Fundment Account 1" // users()'s
	for _, tc := range []struct {
		name    string
		refused bool
	}{{"put back", false}, {"refused", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var before map[uuid.UUID]*string
			wrap := onAnswer(func(r *http.Request, a *answer) {
				var conn struct {
					UUID  uuid.UUID
					Label *string
				}
				if r.Method == http.MethodPut && json.Unmarshal(a.body, &conn) == nil && !sameLabel(conn.Label, before[conn.UUID]) {
					cancel()
				}
			})
			if tc.refused {
				wrap = chain(wrap, refuse(labelRule(func(l string) bool { return l == original }), http.StatusServiceUnavailable, msgs.Unavailable))
			}
			srv := fake(t, wrap)
			before = srv.labels()
			target := srv.target
			target.Run = "^(label_set|label_null_clears)$"
			rep, err := conformance.Execute(ctx, target)
			if err != nil {
				t.Fatal(err)
			}
			if tc.refused {
				if rep.Passed() || !strings.Contains(failures(rep), "the label stays") {
					t.Errorf("a label not put back, and the interrupted run says nothing: %+v", rep.Results)
				}
				if strings.Contains(failures(rep), context.Canceled.Error()) {
					t.Errorf("a failure of the interruption itself, not of the restore:\n%s", failures(rep))
				}
				return
			}
			if after := srv.labels(); !maps.EqualFunc(after, before, sameLabel) {
				t.Errorf("the labels changed:\nbefore %s\nafter  %s", mustJSON(before), mustJSON(after))
			}
			// label_set, cut off, neither passed nor failed; label_null_clears
			// never started.
			if len(rep.Results) != 0 {
				t.Errorf("an interrupted run reports %+v; want nothing, its one check cut off", rep.Results)
			}
		})
	}
}

// sameLabel reports whether two labels, nil for null, are the same.
func sameLabel(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// writesOnList takes the methods of the list path that may change data (RFC
// 9110's unsafe ones) as a lax framework's resource route might: POST makes
// a connection, PUT, PATCH and DELETE delete every one of the user's.
func writesOnList(next http.Handler, srv *plannrtest.Server) http.Handler {
	return onRequest(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != listPath || slices.Contains([]string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace}, r.Method) {
			return false
		}
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.Method == http.MethodPost {
			srv.AddUser(token, plannrtest.Connection{})
		} else {
			for _, c := range srv.Connections(token) {
				deleteAs(next, r, c.UUID)
			}
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	})(next, srv)
}

// TestWrongMethodChangesNothing runs unsupported_method, without -readonly,
// against a server that writes on any method of the list path: the data is
// as it was, since the list path gets only methods that change nothing.
func TestWrongMethodChangesNothing(t *testing.T) {
	srv := fake(t, writesOnList)
	target := srv.target
	target.Run = "^unsupported_method$"
	if rep, _ := srv.outcomesKeeping(t, target); !rep.Passed() {
		t.Errorf("unsupported_method failed:\n%s", failures(rep))
	}
}

// deleteAs deletes the connection id through next, as r's user.
func deleteAs(next http.Handler, r *http.Request, id uuid.UUID) {
	del := httptest.NewRequestWithContext(r.Context(), http.MethodDelete, listPath+"/"+id.String(), nil)
	del.Header.Set("Authorization", r.Header.Get("Authorization"))
	next.ServeHTTP(httptest.NewRecorder(), del)
}

// takesUUID lets a PUT's body give the connection another uuid, as a model
// whose every attribute is fillable would: the connection moves there.
func takesUUID(next http.Handler, srv *plannrtest.Server) http.Handler {
	return onRequest(func(_ http.ResponseWriter, r *http.Request) bool {
		id, err := pathUUID(r)
		if r.Method != http.MethodPut || err != nil {
			return false
		}
		var to uuid.UUID
		editBody(r, func(m map[string]any) {
			if s, ok := m["uuid"].(string); ok {
				to, _ = uuid.Parse(s)
			}
		})
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		conns := srv.Connections(token)
		i := slices.IndexFunc(conns, func(c plannrtest.Connection) bool { return c.UUID == id })
		if to == uuid.Nil || to == id || i < 0 {
			return false
		}
		deleteAs(next, r, id)
		conns[i].UUID = to
		srv.AddUser(token, conns[i])
		r.URL.Path = path.Dir(r.URL.Path) + "/" + to.String()
		return false
	})(next, srv)
}

// watchMoves notes in moved each PUT with a member beside the label that
// changes the first user's connections in anything but updated_at and the
// label of the connection it names, which the body's label sets.
func watchMoves(moved *[]string) wrapper {
	return func(next http.Handler, srv *plannrtest.Server) http.Handler {
		snapshot := func(id uuid.UUID, label *string) string {
			conns := srv.Connections(firstToken)
			for i := range conns {
				conns[i].UpdatedAt = time.Time{}
				if conns[i].UUID == id && label != nil {
					conns[i].Label = label
				}
			}
			return string(mustJSON(conns))
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			var set *string
			if label, ok := labelOf(m); ok {
				set = &label
			}
			delete(m, "label")
			id, _ := pathUUID(r)
			want := snapshot(id, set)
			next.ServeHTTP(w, r)
			if after := snapshot(uuid.Nil, nil); r.Method == http.MethodPut && len(m) > 0 && after != want {
				*moved = append(*moved, fmt.Sprintf("%s %s\n%s\nwant  %s\nafter %s", r.Method, r.URL.Path, body, want, after))
			}
		})
	}
}

// TestUnknownPropertiesMoveNothing runs unknown_properties_ignored against
// servers that take the members the spec does not define: no request with
// one changes a connection but for its updated_at.
func TestUnknownPropertiesMoveNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap wrapper
	}{
		{"ours", nil},
		{"member names case-insensitive", caseInsensitive},
		{"uuid taken from the body", takesUUID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var moved []string
			wrap := watchMoves(&moved)
			if tc.wrap != nil {
				wrap = chain(wrap, tc.wrap)
			}
			target := fake(t, wrap).target
			target.Run = "^unknown_properties_ignored$"
			outcomes(t, target)
			for _, m := range moved {
				t.Errorf("moved by %s", m)
			}
		})
	}
}
