package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

// stores are the databases plannr-server runs on, each as the -db of a new,
// empty one; the PostgreSQL one skips without a server (storetest.PostgresURL).
var stores = []struct {
	name string
	db   func(*testing.T) string
}{
	{"memory", func(*testing.T) string { return ":memory:" }},
	{"SQLite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "plannr.db") }},
	{"PostgreSQL", func(t *testing.T) string { return storetest.PostgresURL(t) }},
}

// TestNULInALabelOnEveryStore: U+0000 in a label gets one answer whatever
// the store, through the whole server. Inside the label it breaks the spec's
// pattern, a 422, where PostgreSQL, whose text cannot hold it, answered 500 and
// SQLite and memory stored it; at either end it is trimmed, as Laravel's
// TrimStrings trims it, so that one alone clears the label.
func TestNULInALabelOnEveryStore(t *testing.T) {
	invalid := plannroauth.CheckLabel("a\x00b").Error()
	wantInvalid := fmt.Sprintf(`{"message":%q,"errors":{"label":[%q]}}`, invalid, invalid)
	steps := []struct {
		body    string
		status  int
		body422 string // the answer of a 422
		label   string // the label afterwards, as JSON
	}{
		{`{"label":"a\u0000b"}`, 422, wantInvalid, `"My Fundment Account 1"`},
		{`{"label":"\u0000Renamed\u0000"}`, 200, "", `"Renamed"`},
		{`{"label":"\u0000"}`, 200, "", `null`},
	}
	id := uuid.MustParse(aliceConn)
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			base, _, stop := startServer(t, config{db: st.db(t), fixtures: exampleFixtures})
			defer stop()
			c := newClient(t, base, aliceToken)
			for _, s := range steps {
				put, err := c.UpdateOAuthConnectionWithBodyWithResponse(t.Context(), id, "application/json", strings.NewReader(s.body))
				if err != nil {
					t.Fatal(err)
				}
				if put.StatusCode() != s.status || s.status == 422 && strings.TrimSpace(string(put.Body)) != s.body422 {
					t.Errorf("PUT %s: %d %s, want %d %s", s.body, put.StatusCode(), put.Body, s.status, s.body422)
				}
				list, err := c.ListOAuthConnectionsWithResponse(t.Context())
				if err != nil || list.JSON200 == nil {
					t.Fatalf("GET: %v %v", err, list)
				}
				label, err := json.Marshal(list.JSON200.Data[0].Label) // aliceConn is her first
				if err != nil || string(label) != s.label {
					t.Errorf("after PUT %s the label is %s, want %s", s.body, label, s.label)
				}
			}
		})
	}
}
