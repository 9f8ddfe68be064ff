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

	"github.com/plannr-toolkit/plannr-oauth/gen"
)

// full is a connection with every field of the generated struct set, so that a
// field the spec adds cannot go unnoticed (see TestAppendCoversEveryField).
func full() gen.OAuthConnection {
	london, _ := time.LoadLocation("Europe/London")
	refresh := "https://x.example/authorize/7b29add1-9028-4c1e-a87b-3c80a2e495fe?a=1&b=<2>"
	return gen.OAuthConnection{
		UUID:                    uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe"),
		Label:                   nullable.NewNullableWithValue(`My "Fundment" <Account> & co.`),
		CreatedAt:               time.Date(2025, 6, 25, 15, 10, 48, 0, london),
		UpdatedAt:               time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -(9*3600+30*60))),
		AccessTokenExpiresAt:    nullable.NewNullableWithValue(time.Date(2025, 6, 25, 18, 10, 48, 890172000, time.UTC)),
		RefreshTokenExpiresAt:   nullable.NewNullableWithValue(time.Date(2026, 6, 25, 14, 10, 48, 890222000, time.UTC)),
		RefreshAuthorizationURL: &refresh,
		Provider:                gen.OAuthProvider{Name: "fundment", Label: "Fundment", LogoURL: "https://x.example/l.png", AuthorizationURL: "https://x.example/authorize"},
	}
}

func TestAppendCoversEveryField(t *testing.T) {
	for _, v := range []any{full(), full().Provider} {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			if rv.Field(i).IsZero() {
				t.Errorf("full() leaves %s.%s unset: set it, and teach appendConnection to write it", rv.Type().Name(), rv.Type().Field(i).Name)
			}
		}
	}
}

// TestAppendMatchesEncodingJSON holds the hand-written encoding to what the
// generated Visit methods would send: encoding/json's bytes, exactly.
func TestAppendMatchesEncodingJSON(t *testing.T) {
	variants := map[string]func(*gen.OAuthConnection){
		"every field":    func(*gen.OAuthConnection) {},
		"null label":     func(c *gen.OAuthConnection) { c.Label = nullable.NewNullNullable[string]() },
		"unset label":    func(c *gen.OAuthConnection) { c.Label = nil },
		"no refresh URL": func(c *gen.OAuthConnection) { c.RefreshAuthorizationURL = nil },
		"null expiries": func(c *gen.OAuthConnection) {
			c.AccessTokenExpiresAt, c.RefreshTokenExpiresAt = nullable.NewNullNullable[time.Time](), nil
		},
		"zero times":         func(c *gen.OAuthConnection) { c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{} },
		"year 9999":          func(c *gen.OAuthConnection) { c.UpdatedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) },
		"zero value":         func(c *gen.OAuthConnection) { *c = gen.OAuthConnection{} },
		"escapes everywhere": func(c *gen.OAuthConnection) { c.Provider.Name = "\x00\x1f\t\n\r\b\f\\\"\u2028\u2029\xff\xfe<>&é😀" },
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
		c := full()
		c.Label = nullable.NewNullableWithValue(sb.String())
		assertSameJSON(t, "random label", c)
	}
}

func assertSameJSON(t *testing.T, name string, c gen.OAuthConnection) {
	t.Helper()
	want, err := json.Marshal(c)
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
	c := full()
	c.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := json.Marshal(c); err == nil {
		t.Fatal("encoding/json takes year 10000 now: follow it")
	}
	if _, err := appendConnection(nil, &c); err == nil {
		t.Error("appendConnection wrote year 10000")
	}
}

// TestResponsesMatchTheGenerated compares whole answers, header and body, with
// the generated Visit methods'.
func TestResponsesMatchTheGenerated(t *testing.T) {
	c := full()
	answers := []struct {
		name      string
		ours, gen func(*httptest.ResponseRecorder) error
	}{
		{"update",
			func(w *httptest.ResponseRecorder) error {
				return connectionResponse(c).VisitUpdateOAuthConnectionResponse(w)
			},
			func(w *httptest.ResponseRecorder) error {
				return gen.UpdateOAuthConnection200JSONResponse{Body: c}.VisitUpdateOAuthConnectionResponse(w)
			}},
		{"list",
			func(w *httptest.ResponseRecorder) error {
				return connectionListResponse{Data: []gen.OAuthConnection{c, c}}.VisitListOAuthConnectionsResponse(w)
			},
			func(w *httptest.ResponseRecorder) error {
				return gen.ListOAuthConnections200JSONResponse{Body: gen.OAuthConnectionList{Data: []gen.OAuthConnection{c, c}}}.VisitListOAuthConnectionsResponse(w)
			}},
		{"empty list",
			func(w *httptest.ResponseRecorder) error {
				return connectionListResponse{Data: []gen.OAuthConnection{}}.VisitListOAuthConnectionsResponse(w)
			},
			func(w *httptest.ResponseRecorder) error {
				return gen.ListOAuthConnections200JSONResponse{Body: gen.OAuthConnectionList{Data: []gen.OAuthConnection{}}}.VisitListOAuthConnectionsResponse(w)
			}},
		{"nil list",
			func(w *httptest.ResponseRecorder) error {
				return connectionListResponse{}.VisitListOAuthConnectionsResponse(w)
			},
			func(w *httptest.ResponseRecorder) error {
				return gen.ListOAuthConnections200JSONResponse{}.VisitListOAuthConnectionsResponse(w)
			}},
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
