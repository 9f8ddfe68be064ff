// Package storetest is the conformance suite every store.Store passes, so that the
// in-memory store stands in for SQLite and PostgreSQL without surprises.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
)

// Run runs the suite; open returns an empty store for one test, and Run
// closes it. Updates run the API's rule (plannroauth.Connection.Update) with
// the test's clock, read inside the store's write, as internal/httpapi runs it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store, clk *clock)
	}{
		{"UserByToken", testUserByToken},
		{"UserByTokenWhileSeeding", testUserByTokenWhileSeeding},
		{"SeedAdds", testSeedAdds},
		{"SeedKeepsChanges", testSeedKeepsChanges},
		{"SeedAddsToKnownUser", testSeedAddsToKnownUser},
		{"SeedAllOrNothing", testSeedAllOrNothing},
		{"SeedRefusesUnnamedZone", testSeedRefusesUnnamedZone},
		{"SeedRefusesUnservableConnection", testSeedRefusesUnservableConnection},
		{"SeedRefusesBadProvider", testSeedRefusesBadProvider},
		{"SeedCopies", testSeedCopies},
		{"ListOwnerOnlyOldestFirst", testList},
		{"UpdateLabel", testUpdateLabel},
		{"UpdateLabelNotFound", testUpdateLabelNotFound},
		{"UpdateKeepsTheRest", testUpdateKeepsTheRest},
		{"DeleteConnection", testDeleteConnection},
		{"ReturnsCopies", testReturnsCopies},
		{"Empty", testEmpty},
		{"ConcurrentUpdateLabelNeverGoesBack", testConcurrentUpdateLabel},
		{"Ready", testReady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: at("2026-01-02T03:04:05Z")}
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.run(t, s, clk)
		})
	}
}

// clock is a test's clock of updates: it reads the time last set.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// The suite's data. alice's connections are seeded out of time order, across the
// October clock change and with a tie, so that "oldest first" is tested for real.
var (
	fundment = plannroauth.Provider{
		Name:             "fundment",
		Label:            "Fundment",
		LogoURL:          "https://api.plannrcrm.com/imgs/fundment-banner.png",
		AuthorizationURL: "https://api.plannrcrm.com/oauth/fundment/authorize",
	}
	acme = plannroauth.Provider{
		Name:             "acme",
		Label:            "Acme",
		LogoURL:          "https://acme.example/logo.png",
		AuthorizationURL: "https://acme.example/authorize",
	}

	alice, bob = plannroauth.HashToken("alice-token"), plannroauth.HashToken("bob-token")
	london     = mustZone("Europe/London")

	// aliceSummer is the Plannr documentation's example, verbatim.
	aliceSummer = plannroauth.Connection{
		UUID:                  uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe"),
		Provider:              named("fundment"),
		Label:                 ptr("My Fundment Account 1"),
		CreatedAt:             at("2025-06-25T15:10:48+01:00"),
		UpdatedAt:             at("2025-06-25T15:10:48+01:00"),
		AccessTokenExpiresAt:  ptr(at("2025-06-25T18:10:48.890172Z")),
		RefreshTokenExpiresAt: ptr(at("2026-06-25T14:10:48.890222Z")),
	}
	// aliceAfterBST was created 40 minutes after aliceBeforeBST, but its text sorts first.
	aliceAfterBST = plannroauth.Connection{
		UUID:      uuid.MustParse("2f1c0a4e-5d3b-4f6a-9c8e-7b1d2e3f4a5b"),
		Provider:  named("acme"),
		CreatedAt: at("2025-10-26T01:10:00+00:00"),
		UpdatedAt: at("2025-11-01T09:00:00.5Z"),
	}
	aliceBeforeBST = plannroauth.Connection{
		UUID:                 uuid.MustParse("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
		Provider:             named("fundment"),
		Label:                ptr(""),
		CreatedAt:            at("2025-10-26T01:30:00+01:00"),
		UpdatedAt:            at("2025-10-26T01:30:00+01:00"),
		AccessTokenExpiresAt: ptr(at("2025-10-26T02:30:00.000000001Z")),
	}
	// aliceTie was created at the same instant as aliceSummer and added after it.
	aliceTie = plannroauth.Connection{
		UUID:      uuid.MustParse("0b5e2c1d-8f7a-4e6b-a5c4-d3e2f1a0b9c8"),
		Provider:  named("acme"),
		Label:     ptr("Tie"),
		CreatedAt: at("2025-06-25T14:10:48Z"),
		UpdatedAt: at("2025-06-25T14:10:48Z"),
	}
	bobOnly = plannroauth.Connection{
		UUID:                  uuid.MustParse("c0ffee00-1234-4abc-8def-0123456789ab"),
		Provider:              named("fundment"),
		Label:                 ptr("Bob's"),
		CreatedAt:             at("2024-01-02T03:04:05.123456789Z"),
		UpdatedAt:             at("2024-02-03T04:05:06Z"),
		RefreshTokenExpiresAt: ptr(at("2027-01-01T00:00:00Z")),
	}
)

func seed() plannroauth.Data {
	return plannroauth.Data{
		Providers: []plannroauth.Provider{fundment, acme},
		Accounts: []plannroauth.Account{
			{Token: "alice-token", Location: london, Connections: []plannroauth.Connection{aliceSummer, aliceAfterBST, aliceBeforeBST, aliceTie}},
			{Token: "bob-token", Connections: []plannroauth.Connection{bobOnly}},
		},
	}
}

// named is a connection's provider as a Seed names it: by its name alone,
// the store's own details coming from Seed.Providers.
func named(name string) plannroauth.Provider { return plannroauth.Provider{Name: name} }

// update runs the API's rule of an update on u's connection id, with change,
// at the time now reads inside the store's write.
func update(ctx context.Context, s store.Store, u plannroauth.User, id uuid.UUID, change plannroauth.LabelChange, now func() time.Time) (plannroauth.Connection, error) {
	return s.UpdateConnection(ctx, u.ID, id, func(c *plannroauth.Connection) { c.Update(change, now(), u.Location) })
}

// Relabel is an update that sets the label to label, stamped now in UTC:
// for a backend's own tests, which need a write and not the rule.
func Relabel(label string) func(*plannroauth.Connection) {
	return func(c *plannroauth.Connection) {
		c.Update(plannroauth.LabelChange{Label: &label}, time.Now(), time.UTC)
	}
}

// Oldest first; aliceTie follows aliceSummer, its equal, because it was added later.
var aliceWant = []view{
	viewSeed(aliceSummer, fundment),
	viewSeed(aliceTie, acme),
	viewSeed(aliceBeforeBST, fundment),
	viewSeed(aliceAfterBST, acme),
}

func testUserByToken(t *testing.T, s store.Store, _ *clock) {
	mustSeed(t, s, seed())
	a, b := user(t, s, alice), user(t, s, bob)
	if a.ID == b.ID {
		t.Errorf("alice and bob are both user %d", a.ID)
	}
	if again := user(t, s, alice); again.ID != a.ID {
		t.Errorf("alice is user %d, then %d", a.ID, again.ID)
	}
	if got := a.Location.String(); got != "Europe/London" {
		t.Errorf("alice's location = %q, want Europe/London", got)
	}
	if got := b.Location.String(); got != "UTC" {
		t.Errorf("bob's location (seeded nil) = %q, want UTC", got)
	}
	_, err := s.UserByToken(t.Context(), plannroauth.HashToken("mallory-token"))
	wantNotFound(t, "UserByToken(unknown)", err)
}

// testUserByTokenWhileSeeding: authentication goes on while Seed adds users
// (the race detector watches), and finds each one once its Seed returned.
func testUserByTokenWhileSeeding(t *testing.T, s store.Store, _ *clock) {
	mustSeed(t, s, seed())
	a := user(t, s, alice)
	done := make(chan struct{})
	defer func() { <-done }() // no Errorf from the seeding after the test ends, even on Fatalf
	go func() {
		defer close(done)
		for i := range 20 {
			token := fmt.Sprintf("newcomer-%d", i)
			if err := s.Seed(t.Context(), plannroauth.Data{Accounts: []plannroauth.Account{{Token: token}}}); err != nil {
				t.Errorf("Seed %s: %v", token, err)
				return
			}
			if _, err := s.UserByToken(t.Context(), plannroauth.HashToken(token)); err != nil {
				t.Errorf("UserByToken(%s) after its Seed: %v", token, err)
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if again := user(t, s, alice); again.ID != a.ID {
			t.Fatalf("alice is user %d, then %d", a.ID, again.ID)
		}
	}
}

func testSeedAdds(t *testing.T, s store.Store, _ *clock) {
	mustSeed(t, s, seed())
	wantList(t, s, user(t, s, alice).ID, aliceWant)
	wantList(t, s, user(t, s, bob).ID, []view{viewSeed(bobOnly, fundment)})
}

func testSeedKeepsChanges(t *testing.T, s store.Store, clk *clock) {
	mustSeed(t, s, seed())
	a := user(t, s, alice)
	clk.Set(at("2025-07-01T10:00:00+01:00"))
	changed, err := update(t.Context(), s, a, aliceSummer.UUID, plannroauth.LabelChange{Label: ptr("Mine")}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	mustSeed(t, s, seed())
	if again := user(t, s, alice); again.ID != a.ID {
		t.Errorf("after a second Seed alice is user %d, was %d", again.ID, a.ID)
	}
	want := slices.Clone(aliceWant)
	want[0] = viewOf(changed)
	wantList(t, s, a.ID, want)
}

func testSeedAddsToKnownUser(t *testing.T, s store.Store, _ *clock) {
	first := seed()
	first.Accounts[0].Connections = []plannroauth.Connection{aliceSummer}
	mustSeed(t, s, first)
	// A known user with a changed location keeps the first one: Seed changes nothing it has.
	more := seed()
	more.Accounts[0].Location = time.UTC
	mustSeed(t, s, more)
	a := user(t, s, alice)
	if got := a.Location.String(); got != "Europe/London" {
		t.Errorf("alice's location = %q after a Seed naming UTC, want Europe/London", got)
	}
	wantList(t, s, a.ID, aliceWant)
}

func testSeedAllOrNothing(t *testing.T, s store.Store, _ *clock) {
	bad := plannroauth.Data{
		Providers: []plannroauth.Provider{fundment},
		Accounts: []plannroauth.Account{
			{Token: "alice-token", Location: london, Connections: []plannroauth.Connection{aliceSummer}},
			{Token: "bob-token", Connections: []plannroauth.Connection{withProvider(bobOnly, "nope")}},
		},
	}
	if err := s.Seed(t.Context(), bad); err == nil {
		t.Fatal("Seed naming an unknown provider: no error")
	}
	wantEmpty(t, s, true)
	_, err := s.UserByToken(t.Context(), alice)
	wantNotFound(t, "UserByToken after a failed Seed", err)
	// fundment was not added either: a Seed that only names it fails too.
	naming := plannroauth.Data{Accounts: []plannroauth.Account{{Token: "alice-token", Connections: []plannroauth.Connection{aliceSummer}}}}
	if err := s.Seed(t.Context(), naming); err == nil {
		t.Error("a failed Seed added its providers")
	}

	// On a store with data, a failed Seed leaves the data alone.
	mustSeed(t, s, seed())
	extra := plannroauth.Data{Accounts: []plannroauth.Account{
		{Token: "alice-token", Connections: []plannroauth.Connection{withUUID(aliceTie, "11111111-2222-4333-8444-555555555555")}},
		{Token: "carol-token", Connections: []plannroauth.Connection{withProvider(bobOnly, "acme"), withProvider(aliceTie, "nope")}},
	}}
	if err := s.Seed(t.Context(), extra); err == nil {
		t.Fatal("Seed naming an unknown provider: no error")
	}
	wantList(t, s, user(t, s, alice).ID, aliceWant)
	_, err = s.UserByToken(t.Context(), plannroauth.HashToken("carol-token"))
	wantNotFound(t, "UserByToken(carol) after a failed Seed", err)
}

func testSeedRefusesUnnamedZone(t *testing.T, s store.Store, _ *clock) {
	// A zone that cannot be loaded again by its name would not survive a
	// restart; one time.LoadLocation loads by a name that is no IANA zone's
	// would depend on the machine's zone database.
	for _, loc := range []*time.Location{time.FixedZone("", 3600), time.FixedZone("BST", 3600), mustZone("EST"), time.Local} {
		err := s.Seed(t.Context(), plannroauth.Data{Accounts: []plannroauth.Account{{Token: "alice-token", Location: loc}}})
		if err == nil {
			t.Errorf("Seed with location %q: no error", loc)
		}
	}
	wantEmpty(t, s, true)
}

// testSeedRefusesUnservableConnection: a time RFC 3339 cannot write, in an
// offset the API or a store writes it in, would fail every request for its
// user; a label that is not UTF-8, which PostgreSQL refuses, would be kept by
// the other stores and shown with U+FFFD in place of its bad bytes; one with a
// NUL, which PostgreSQL refuses too, would be kept by the others alone.
func testSeedRefusesUnservableConnection(t *testing.T, s store.Store, _ *clock) {
	kiritimati := mustZone("Pacific/Kiritimati") // +14:00
	lastHour := at("9999-12-31T23:00:00Z")
	beforeYear0 := at("0000-01-01T00:30:00+01:00") // year -1 in UTC
	tests := []struct {
		name   string
		loc    *time.Location
		change func(*plannroauth.Connection)
	}{
		{"created_at past year 9999 in the account's zone", kiritimati, func(c *plannroauth.Connection) { c.CreatedAt = lastHour }},
		{"updated_at past year 9999 in the account's zone", kiritimati, func(c *plannroauth.Connection) { c.UpdatedAt = lastHour }},
		{"created_at before year 0 in UTC", london, func(c *plannroauth.Connection) { c.CreatedAt = beforeYear0 }},
		{"updated_at in year 10000", time.UTC, func(c *plannroauth.Connection) { c.UpdatedAt = lastHour.Add(time.Hour) }},
		{"access expiry before year 0 in UTC", london, func(c *plannroauth.Connection) { c.AccessTokenExpiresAt = &beforeYear0 }},
		{"refresh expiry in year 10000", london, func(c *plannroauth.Connection) { c.RefreshTokenExpiresAt = ptr(lastHour.Add(time.Hour)) }},
		{"label not UTF-8", london, func(c *plannroauth.Connection) { c.Label = ptr("My \xffFundment") }},
		{"NUL in the label", london, func(c *plannroauth.Connection) { c.Label = ptr("My\x00Fundment") }},
	}
	for _, tt := range tests {
		c := aliceSummer
		tt.change(&c)
		bad := plannroauth.Data{Providers: []plannroauth.Provider{fundment}, Accounts: []plannroauth.Account{{Token: "alice-token", Location: tt.loc, Connections: []plannroauth.Connection{c}}}}
		if err := s.Seed(t.Context(), bad); err == nil {
			t.Errorf("%s: Seed: no error", tt.name)
		}
	}
	wantEmpty(t, s, true)
}

// testSeedRefusesBadProvider: every store refuses alike a provider that one
// of them could not keep (PostgreSQL refuses a NUL in text) or the API could
// not show as the spec has it.
func testSeedRefusesBadProvider(t *testing.T, s store.Store, _ *clock) {
	tests := []struct {
		name   string
		change func(*plannroauth.Provider)
	}{
		{"NUL in the name", func(p *plannroauth.Provider) { p.Name = "ac\x00me" }},
		{"NUL in the label", func(p *plannroauth.Provider) { p.Label = "Ac\x00me" }},
		{"label not UTF-8", func(p *plannroauth.Provider) { p.Label = "Ac\xffme" }},
		{"NUL in the logo URL", func(p *plannroauth.Provider) { p.LogoURL += "\x00" }},
		{"label missing", func(p *plannroauth.Provider) { p.Label = " " }},
		{"relative authorization URL", func(p *plannroauth.Provider) { p.AuthorizationURL = "/authorize" }},
	}
	for _, tt := range tests {
		p := acme
		tt.change(&p)
		if err := s.Seed(t.Context(), plannroauth.Data{Providers: []plannroauth.Provider{p}}); err == nil {
			t.Errorf("%s: Seed: no error", tt.name)
		}
	}
	// Nothing of a refused Seed was kept: a connection cannot name acme.
	naming := plannroauth.Data{Accounts: []plannroauth.Account{{Token: "alice-token", Connections: []plannroauth.Connection{aliceAfterBST}}}}
	if err := s.Seed(t.Context(), naming); err == nil {
		t.Error("a refused provider was kept")
	}
	wantEmpty(t, s, true)
}

func testSeedCopies(t *testing.T, s store.Store, _ *clock) {
	sd := seed()
	sc := &sd.Accounts[0].Connections[0]
	sc.Label, sc.AccessTokenExpiresAt = ptr(*sc.Label), ptr(*sc.AccessTokenExpiresAt)
	mustSeed(t, s, sd)
	*sc.Label = "changed by the caller"
	*sc.AccessTokenExpiresAt = time.Time{}
	wantList(t, s, user(t, s, alice).ID, aliceWant)
}

func testList(t *testing.T, s store.Store, _ *clock) {
	mustSeed(t, s, seed())
	// testSeedAdds checks alice and bob; here an owner with no connections and
	// one that does not exist.
	carol := plannroauth.HashToken("carol-token")
	mustSeed(t, s, plannroauth.Data{Accounts: []plannroauth.Account{{Token: "carol-token"}}})
	for _, id := range []plannroauth.UserID{user(t, s, carol).ID, 1 << 40} {
		got, err := s.ListConnections(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || len(got) != 0 {
			t.Errorf("ListConnections(%d) = %#v, want an empty, non-nil slice", id, got)
		}
	}
}

func testUpdateLabel(t *testing.T, s store.Store, clk *clock) {
	mustSeed(t, s, seed())
	a := user(t, s, alice)
	now := time.Now()
	tests := []struct {
		name   string
		id     uuid.UUID
		change plannroauth.LabelChange
		now    time.Time // the clock of the update
		want   *string
		// wantUpdated is how UpdatedAt reads: in the owner's offset, whatever
		// zone the clock is in, in whole seconds, and never before the last.
		wantUpdated string
	}{
		{"set", aliceSummer.UUID, plannroauth.LabelChange{Label: ptr("New")}, at("2025-07-01T09:00:00Z"), ptr("New"), "2025-07-01T10:00:00+01:00"},
		{"keep", aliceSummer.UUID, plannroauth.LabelChange{Keep: true, Label: ptr("ignored")}, at("2025-07-01T09:00:01.75Z"), ptr("New"), "2025-07-01T10:00:01+01:00"},
		{"clear", aliceSummer.UUID, plannroauth.LabelChange{}, at("2025-12-01T09:00:02Z"), nil, "2025-12-01T09:00:02Z"},
		{"keep nil", aliceSummer.UUID, plannroauth.LabelChange{Keep: true}, at("2025-12-01T09:00:03Z"), nil, "2025-12-01T09:00:03Z"},
		{"clock stepped back", aliceSummer.UUID, plannroauth.LabelChange{Label: ptr("back")}, at("2025-07-01T09:00:00Z"), ptr("back"), "2025-12-01T09:00:03Z"},
		{"within the second of a fractional UpdatedAt", aliceAfterBST.UUID, plannroauth.LabelChange{Label: ptr("")}, at("2025-11-01T09:00:00.7Z"), ptr(""), "2025-11-01T09:00:01Z"},
		{"clock in another zone", aliceTie.UUID, plannroauth.LabelChange{Label: ptr("x")}, time.Date(2025, 8, 1, 12, 0, 0, 0, time.FixedZone("", -5*3600)), ptr("x"), "2025-08-01T18:00:00+01:00"},
		{"monotonic clock", aliceTie.UUID, plannroauth.LabelChange{Label: ptr("y")}, now, ptr("y"), now.In(london).Truncate(time.Second).Format(time.RFC3339)},
	}
	want := map[uuid.UUID]view{}
	for _, v := range aliceWant {
		want[v.UUID] = v
	}
	for _, tc := range tests {
		clk.Set(tc.now)
		got, err := update(t.Context(), s, a, tc.id, tc.change, clk.Now)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		w := want[tc.id]
		w.Label = showLabel(tc.want)
		w.UpdatedAt = tc.wantUpdated
		if v := viewOf(got); v != w {
			t.Errorf("%s: UpdateConnection returned\n%+v, want\n%+v", tc.name, v, w)
		}
		want[tc.id] = w
	}
	// What UpdateConnection returned is what was stored.
	var list []view
	for _, v := range aliceWant {
		list = append(list, want[v.UUID])
	}
	wantList(t, s, a.ID, list)
}

func testUpdateLabelNotFound(t *testing.T, s store.Store, clk *clock) {
	mustSeed(t, s, seed())
	a, b := user(t, s, alice), user(t, s, bob)
	tests := []struct {
		name  string
		owner plannroauth.UserID
		id    uuid.UUID
	}{
		{"another user's", a.ID, bobOnly.UUID},
		{"unknown uuid", a.ID, uuid.MustParse("99999999-9999-4999-8999-999999999999")},
		{"unknown owner", 1 << 40, aliceSummer.UUID},
	}
	for _, tc := range tests {
		_, err := update(t.Context(), s, plannroauth.User{ID: tc.owner, Location: london}, tc.id, plannroauth.LabelChange{Label: ptr("x")}, clk.Now)
		wantNotFound(t, tc.name, err)
	}
	wantList(t, s, a.ID, aliceWant)
	wantList(t, s, b.ID, []view{viewSeed(bobOnly, fundment)})
}

func testDeleteConnection(t *testing.T, s store.Store, clk *clock) {
	mustSeed(t, s, seed())
	ctx := t.Context()
	a, b := user(t, s, alice), user(t, s, bob)
	wantNotFound(t, "deleting another user's", s.DeleteConnection(ctx, a.ID, bobOnly.UUID))
	wantNotFound(t, "deleting an unknown uuid", s.DeleteConnection(ctx, a.ID, uuid.MustParse("99999999-9999-4999-8999-999999999999")))
	if err := s.DeleteConnection(ctx, a.ID, aliceBeforeBST.UUID); err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(slices.Clone(aliceWant), func(v view) bool { return v.UUID == aliceBeforeBST.UUID })
	wantList(t, s, a.ID, want)
	wantList(t, s, b.ID, []view{viewSeed(bobOnly, fundment)})
	wantNotFound(t, "deleting twice", s.DeleteConnection(ctx, a.ID, aliceBeforeBST.UUID))
	_, err := update(ctx, s, a, aliceBeforeBST.UUID, plannroauth.LabelChange{Label: ptr("x")}, clk.Now)
	wantNotFound(t, "updating a deleted one", err)
	mustSeed(t, s, seed())
	wantList(t, s, a.ID, want)
}

func testReturnsCopies(t *testing.T, s store.Store, clk *clock) {
	mustSeed(t, s, seed())
	a := user(t, s, alice)
	scribble := func(cs ...plannroauth.Connection) {
		for _, c := range cs {
			if c.UUID != aliceSummer.UUID || c.Label == nil || c.AccessTokenExpiresAt == nil || c.RefreshTokenExpiresAt == nil {
				t.Fatalf("got %+v, want aliceSummer, which has every pointer set", viewOf(c))
			}
			*c.Label += " scribbled"
			*c.AccessTokenExpiresAt = time.Time{}
			*c.RefreshTokenExpiresAt = time.Time{}
		}
	}
	list, err := s.ListConnections(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	scribble(list[0])
	list[0].Provider.Name = "scribbled"
	wantList(t, s, a.ID, aliceWant)

	now := at("2025-07-01T10:00:00+01:00")
	clk.Set(now)
	got, err := update(t.Context(), s, a, aliceSummer.UUID, plannroauth.LabelChange{Keep: true}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	scribble(got)
	want := slices.Clone(aliceWant)
	want[0].UpdatedAt = now.Format(time.RFC3339Nano)
	wantList(t, s, a.ID, want)
}

func testEmpty(t *testing.T, s store.Store, _ *clock) {
	wantEmpty(t, s, true)
	mustSeed(t, s, plannroauth.Data{Providers: []plannroauth.Provider{fundment}})
	wantEmpty(t, s, true) // providers are not users
	mustSeed(t, s, plannroauth.Data{Accounts: []plannroauth.Account{{Token: "bob-token"}}})
	wantEmpty(t, s, false)
}

// testConcurrentUpdateLabel races writers whose clock goes back and forth:
// what is stored in the end is what the last write returned, and no write
// returns, or leaves, an UpdatedAt older than one already seen.
func testConcurrentUpdateLabel(t *testing.T, s store.Store, clk *clock) {
	mustSeed(t, s, seed())
	a := user(t, s, alice)
	const n = 50
	start := at("2025-07-01T10:00:00+01:00")
	returned := make([]plannroauth.Connection, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			before, err := stored(t.Context(), s, a.ID, aliceSummer.UUID)
			if err != nil {
				t.Error(err)
				return
			}
			// Each writer moves the clock, which the others' writes read too.
			clk.Set(start.Add(time.Duration(i*7%11-5) * time.Second))
			c, err := update(t.Context(), s, a, aliceSummer.UUID, plannroauth.LabelChange{Label: ptr(fmt.Sprint("label ", i))}, clk.Now)
			if err != nil {
				t.Errorf("UpdateConnection: %v", err)
				return
			}
			if c.UpdatedAt.Before(before.UpdatedAt) {
				t.Errorf("UpdateConnection returned UpdatedAt %v, before the %v stored before it was called", c.UpdatedAt, before.UpdatedAt)
			}
			returned[i] = c
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	final, err := stored(t.Context(), s, a.ID, aliceSummer.UUID)
	if err != nil {
		t.Fatal(err)
	}
	last := slices.IndexFunc(returned, func(c plannroauth.Connection) bool { return *c.Label == *final.Label })
	if last < 0 {
		t.Fatalf("final label %q is none of the written ones", *final.Label)
	}
	if !returned[last].UpdatedAt.Equal(final.UpdatedAt) {
		t.Errorf("label %q with UpdatedAt %v: they come from different writes", *final.Label, final.UpdatedAt)
	}
	for _, c := range returned {
		if final.UpdatedAt.Before(c.UpdatedAt) {
			t.Errorf("stored UpdatedAt %v is before %v, which a write returned", final.UpdatedAt, c.UpdatedAt)
		}
	}
}

// testUpdateKeepsTheRest: an update changes the label and UpdatedAt only;
// whatever else the function does, every store keeps the rest as it was.
func testUpdateKeepsTheRest(t *testing.T, s store.Store, _ *clock) {
	mustSeed(t, s, seed())
	a := user(t, s, alice)
	later := at("2030-01-01T00:00:00Z")
	got, err := s.UpdateConnection(t.Context(), a.ID, aliceSummer.UUID, func(c *plannroauth.Connection) {
		c.Label = ptr("Changed")
		c.UpdatedAt = later
		c.UUID = bobOnly.UUID
		c.CreatedAt = later
		c.Provider = acme
		c.AccessTokenExpiresAt, c.RefreshTokenExpiresAt = nil, &later
	})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(aliceWant)
	want[0].Label, want[0].UpdatedAt = showLabel(ptr("Changed")), showTime(&later)
	if v := viewOf(got); v != want[0] {
		t.Errorf("UpdateConnection returned\n%+v, want\n%+v", v, want[0])
	}
	wantList(t, s, a.ID, want)
}

func testReady(t *testing.T, s store.Store, _ *clock) {
	if err := s.Ready(t.Context()); err != nil {
		t.Errorf("Ready of a new store: %v", err)
	}
}

// view is a Connection as the API shows it: every field as text, so that
// comparing views compares instants, UTC offsets and nil-ness at once.
type view struct {
	UUID                                   uuid.UUID
	Provider                               plannroauth.Provider
	Label                                  string
	CreatedAt, UpdatedAt                   string
	AccessTokenExpiresAt, RefreshExpiresAt string
}

func viewOf(c plannroauth.Connection) view {
	return view{c.UUID, c.Provider, showLabel(c.Label), showTime(&c.CreatedAt), showTime(&c.UpdatedAt),
		showTime(c.AccessTokenExpiresAt), showTime(c.RefreshTokenExpiresAt)}
}

func viewSeed(c plannroauth.Connection, p plannroauth.Provider) view {
	return view{c.UUID, p, showLabel(c.Label), showTime(&c.CreatedAt), showTime(&c.UpdatedAt),
		showTime(c.AccessTokenExpiresAt), showTime(c.RefreshTokenExpiresAt)}
}

// Describe is c in one line, nil label and expiries shown as <nil>: a form for
// tests to compare stored connections in.
func Describe(c plannroauth.Connection) string {
	return fmt.Sprintf("%s %s %s %s %s %s %s", c.UUID, c.Provider.Name, showLabel(c.Label),
		showTime(&c.CreatedAt), showTime(&c.UpdatedAt), showTime(c.AccessTokenExpiresAt), showTime(c.RefreshTokenExpiresAt))
}

func showLabel(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *s)
}

func showTime(t *time.Time) string {
	if t == nil {
		return "<nil>"
	}
	return t.Format(time.RFC3339Nano)
}

func wantList(t *testing.T, s store.Store, owner plannroauth.UserID, want []view) {
	t.Helper()
	list, err := s.ListConnections(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]view, len(list))
	for i, c := range list {
		got[i] = viewOf(c)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListConnections(%d):\n got %+v\nwant %+v", owner, got, want)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, plannroauth.ErrNotFound) {
		t.Errorf("%s: error %v, want ErrNotFound", what, err)
	}
}

func wantEmpty(t *testing.T, s store.Store, want bool) {
	t.Helper()
	got, err := s.Empty(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Empty() = %v, want %v", got, want)
	}
}

func mustSeed(t *testing.T, s store.Store, sd plannroauth.Data) {
	t.Helper()
	if err := s.Seed(t.Context(), sd); err != nil {
		t.Fatalf("Seed: %v", err)
	}
}

// stored is the owner's connection id as the store lists it.
func stored(ctx context.Context, s store.Store, owner plannroauth.UserID, id uuid.UUID) (plannroauth.Connection, error) {
	list, err := s.ListConnections(ctx, owner)
	if err != nil {
		return plannroauth.Connection{}, err
	}
	i := slices.IndexFunc(list, func(c plannroauth.Connection) bool { return c.UUID == id })
	if i < 0 {
		return plannroauth.Connection{}, fmt.Errorf("connection %s is not listed", id)
	}
	return list[i], nil
}

func user(t *testing.T, s store.Store, h plannroauth.TokenHash) plannroauth.User {
	t.Helper()
	u, err := s.UserByToken(t.Context(), h)
	if err != nil {
		t.Fatalf("UserByToken: %v", err)
	}
	return u
}

func withProvider(c plannroauth.Connection, p string) plannroauth.Connection {
	c.Provider = named(p)
	return c
}

func withUUID(c plannroauth.Connection, id string) plannroauth.Connection {
	c.UUID = uuid.MustParse(id)
	return c
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func ptr[T any](v T) *T { return &v }
