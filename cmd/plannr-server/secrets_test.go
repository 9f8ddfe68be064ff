package main

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
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

// TestBannerHidesThePostgresPassword: the demo user's banner on PostgreSQL
// says that the database keeps every change, and neither shows the URL's
// password nor advises deleting a file.
func TestBannerHidesThePostgresPassword(t *testing.T) {
	db, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	password, ok := db.User.Password()
	if !ok {
		// .ci/postgres trusts loopback: the password is never asked for.
		password = "S3cretPassw0rd"
		db.User = url.UserPassword(db.User.Username(), password)
	}
	_, printed, stop := startServer(t, config{db: db.String(), demoToken: DefaultDemoToken, rateLimit: 500, rateWindow: time.Minute})
	defer stop()
	out := strings.Join(printed, "\n")
	if !strings.Contains(out, "Demo user token: "+DefaultDemoToken+" (the PostgreSQL database keeps every change") {
		t.Errorf("the banner does not tell where the changes are kept:\n%s", out)
	}
	if strings.Contains(out, password) || strings.Contains(out, "delete it") {
		t.Errorf("the banner shows the password, or advises deleting the database:\n%s", out)
	}
}
