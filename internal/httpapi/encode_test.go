package httpapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// toAPI is the reference appendConnection is held to: a stored connection as
// the spec's generated OAuthConnection, which encoding/json then encodes as the
// generated Visit methods would.
func toAPI(c plannroauth.Connection) gen.OAuthConnection {
	refresh := c.RefreshAuthorizationURL()
	api := gen.OAuthConnection{
		UUID:      c.UUID,
		CreatedAt: plannroauth.Timestamp{Time: c.CreatedAt},
		UpdatedAt: plannroauth.Timestamp{Time: c.UpdatedAt},
		Provider: gen.OAuthProvider{
			Name:             c.Provider.Name,
			Label:            c.Provider.Label,
			LogoURL:          c.Provider.LogoURL,
			AuthorizationURL: c.Provider.AuthorizationURL,
		},
		AccessTokenExpiresAt:    nullable.NewNullNullable[plannroauth.Expiry](),
		RefreshTokenExpiresAt:   nullable.NewNullNullable[plannroauth.Expiry](),
		RefreshAuthorizationURL: &refresh,
		Label:                   nullable.NewNullNullable[string](),
	}
	if c.AccessTokenExpiresAt != nil {
		api.AccessTokenExpiresAt.Set(plannroauth.Expiry{Time: *c.AccessTokenExpiresAt})
	}
	if c.RefreshTokenExpiresAt != nil {
		api.RefreshTokenExpiresAt.Set(plannroauth.Expiry{Time: *c.RefreshTokenExpiresAt})
	}
	if c.Label != nil {
		api.Label.Set(*c.Label)
	}
	return api
}

// full is a connection with every optional field set.
func full() plannroauth.Connection {
	london, _ := time.LoadLocation("Europe/London")
	label := `My "Fundment" <Account> & co.`
	access := time.Date(2025, 6, 25, 18, 10, 48, 890172000, time.UTC)
	refresh := time.Date(2026, 6, 25, 14, 10, 48, 890222000, london) // written in UTC
	return plannroauth.Connection{
		UUID:                  uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe"),
		Label:                 &label,
		CreatedAt:             time.Date(2025, 6, 25, 15, 10, 48, 0, london),
		UpdatedAt:             time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -(9*3600+30*60))),
		AccessTokenExpiresAt:  &access,
		RefreshTokenExpiresAt: &refresh,
		Provider:              plannroauth.Provider{Name: "fundment", Label: "Fundment", LogoURL: "https://x.example/l.png", AuthorizationURL: "https://x.example/a?b=1&c=<2>"},
	}
}

// TestAppendCoversEveryField fails when the spec gives OAuthConnection a field
// that toAPI leaves unset: set it there, and appendConnection will be held to
// writing it.
func TestAppendCoversEveryField(t *testing.T) {
	api := toAPI(full())
	for _, v := range []any{api, api.Provider} {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			if rv.Field(i).IsZero() {
				t.Errorf("toAPI(full()) leaves %s.%s unset", rv.Type().Name(), rv.Type().Field(i).Name)
			}
		}
	}
}

// TestAppendMatchesEncodingJSON holds the hand-written encoding to what the
// generated Visit methods would send: encoding/json's bytes, exactly.
func TestAppendMatchesEncodingJSON(t *testing.T) {
	variants := map[string]func(*plannroauth.Connection){
		"every field": func(*plannroauth.Connection) {},
		"no label":    func(c *plannroauth.Connection) { c.Label = nil },
		"no expiries": func(c *plannroauth.Connection) { c.AccessTokenExpiresAt, c.RefreshTokenExpiresAt = nil, nil },
		"zero times":  func(c *plannroauth.Connection) { c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{} },
		"year 9999": func(c *plannroauth.Connection) {
			c.UpdatedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
		},
		"zero value": func(c *plannroauth.Connection) { *c = plannroauth.Connection{} },
		"escapes": func(c *plannroauth.Connection) {
			c.Provider.Name = "\x00\x1f\t\n\r\b\f\\\"\u2028\u2029\xff\xfe<>&é😀"
		},
		"URL cut in two": func(c *plannroauth.Connection) { c.Provider.AuthorizationURL = "https://x.example/\xe2\x80" },
	}
	for name, change := range variants {
		c := full()
		change(&c)
		assertSameJSON(t, name, c)
	}
	// Labels are the users' text: any string at all.
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "é", "😀", "<", ">", "&", `"`, `\`, "\x00", "\x7f", "\n", "\u2028", "\u2029", "\xff", "\xe2\x80", "\ufffd"}
	for range 2000 {
		var sb strings.Builder
		for range rnd.IntN(12) {
			sb.WriteString(alphabet[rnd.IntN(len(alphabet))])
		}
		label := sb.String()
		c := full()
		c.Label = &label
		assertSameJSON(t, "random label", c)
	}
}

func assertSameJSON(t *testing.T, name string, c plannroauth.Connection) {
	t.Helper()
	want, err := json.Marshal(toAPI(c))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got, err := appendConnection(nil, &c)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %s (%v)\nwant %s", name, got, err, want)
	}
}

// TestAppendFailsAsEncodingJSONDoes: a time RFC 3339 cannot write fails the
// response, which the strict handler turns into a 500.
func TestAppendFailsAsEncodingJSONDoes(t *testing.T) {
	for name, change := range map[string]func(*plannroauth.Connection){
		"created_at in year 10000": func(c *plannroauth.Connection) { c.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		// Year 0 in its own offset, year -1 in UTC, as an expiry is written.
		"an expiry in year -1 in UTC": func(c *plannroauth.Connection) {
			at := time.Date(0, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600))
			c.AccessTokenExpiresAt = &at
		},
	} {
		c := full()
		change(&c)
		if _, err := json.Marshal(toAPI(c)); err == nil {
			t.Fatalf("%s: encoding/json takes it now: follow it", name)
		}
		if b, err := appendConnection(nil, &c); err == nil {
			t.Errorf("%s: appendConnection wrote %s", name, b)
		}
	}
}

// TestResponsesMatchTheGenerated compares whole answers, status, header and
// body, with the generated Visit methods'.
func TestResponsesMatchTheGenerated(t *testing.T) {
	c, bare := full(), plannroauth.Connection{}
	list := func(conns ...plannroauth.Connection) gen.ListOAuthConnections200JSONResponse {
		data := make([]gen.OAuthConnection, len(conns))
		for i, c := range conns {
			data[i] = toAPI(c)
		}
		return gen.ListOAuthConnections200JSONResponse{Body: gen.OAuthConnectionList{Data: data}}
	}
	answers := []struct {
		name      string
		ours, gen func(*httptest.ResponseRecorder) error
	}{
		{"update",
			func(w *httptest.ResponseRecorder) error {
				return connectionResponse(c).VisitUpdateOAuthConnectionResponse(w)
			},
			func(w *httptest.ResponseRecorder) error {
				return gen.UpdateOAuthConnection200JSONResponse{Body: toAPI(c)}.VisitUpdateOAuthConnectionResponse(w)
			}},
		{"list",
			func(w *httptest.ResponseRecorder) error {
				return connectionListResponse{c, bare}.VisitListOAuthConnectionsResponse(w)
			},
			func(w *httptest.ResponseRecorder) error { return list(c, bare).VisitListOAuthConnectionsResponse(w) }},
		{"empty list",
			func(w *httptest.ResponseRecorder) error {
				return connectionListResponse{}.VisitListOAuthConnectionsResponse(w)
			},
			func(w *httptest.ResponseRecorder) error { return list().VisitListOAuthConnectionsResponse(w) }},
	}
	for _, a := range answers {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		if err := a.ours(got); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		if err := a.gen(want); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) || got.Body.String() != want.Body.String() {
			t.Errorf("%s:\n got %d %v %s\nwant %d %v %s", a.name, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}
