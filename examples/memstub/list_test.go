package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/plannr-toolkit/plannr-oauth/fixtures"
	"github.com/plannr-toolkit/plannr-oauth/server"
)

// TestEmptyListIsAnArray: a user without connections, which the fixtures
// format allows, gets {"data":[]}, as plannr-server answers and the spec's
// OAuthConnectionList requires (data is an array, never null).
func TestEmptyListIsAnArray(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fixtures.json")
	if err := os.WriteFile(file, []byte(`{"users": [{"token": "carol-token"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := fixtures.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	s := &stub{users: load(d)}
	h, err := server.New(s, server.WithAuth(s.authenticate), server.WithoutLogging())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/oauth/connections", nil)
	req.Header.Set("Authorization", "Bearer carol-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != `{"data":[]}`+"\n" {
		t.Errorf("GET of a user without connections: %d %s, want 200 {\"data\":[]}", resp.StatusCode, body)
	}
}
