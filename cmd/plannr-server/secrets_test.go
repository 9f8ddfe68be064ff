package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

// TestDatabaseHoldsNoToken: a copy of the database file (write-ahead log
// included) hands out no working token, only the tokens' hashes.
func TestDatabaseHoldsNoToken(t *testing.T) {
	dir := t.TempDir()
	base, _, stop := startServer(t, config{db: filepath.Join(dir, "plannr.db"), fixtures: exampleFixtures, rateLimit: 500})
	if ok, err := putLabel(http.DefaultClient, base, "written with the token"); !ok || err != nil {
		t.Fatalf("PUT: %v %v", ok, err)
	}
	if status, _ := get(t, http.DefaultClient, base, connections, "not-a-known-token"); status != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", status)
	}
	stop()

	var all []byte
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	for _, token := range []string{aliceToken, bobToken, "not-a-known-token"} {
		if bytes.Contains(all, []byte(token)) {
			t.Errorf("the database files hold the token %q", token)
		}
	}
	// The search would find them: the hashes are there, as bytes.
	for _, token := range []string{aliceToken, bobToken} {
		if h := plannroauth.HashToken(token); !bytes.Contains(all, h[:]) {
			t.Errorf("the hash of %q is not in the database files", token)
		}
	}
}
