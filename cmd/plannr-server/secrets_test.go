package main

import (
	"bytes"
	"context"
	"log/slog"
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

// TestDBThatIsNoPostgresURLKeepsItsPassword: -db is a SQLite file, :memory:
// or a postgres:// URL. A libpq key=value string or a URL of another scheme
// is refused, before anything is created, by an error that does not print
// the password it may hold; the scheme's case does not matter (RFC 3986), so
// a Postgres:// URL goes to PostgreSQL, here to a port where none listens.
func TestDBThatIsNoPostgresURLKeepsItsPassword(t *testing.T) {
	const password = "S3cretPassw0rd"
	tests := []struct {
		name, db, wantErr string
	}{
		{"libpq key=value", "host=127.0.0.1 port=1 user=plannr password=" + password + " dbname=plannr", "key=value"},
		{"key=value, spaced", "  password = " + password, "key=value"},
		{"another scheme", "mysql://plannr:" + password + "@127.0.0.1:1/plannr", `scheme "mysql"`},
		{"Postgres://", "Postgres://plannr:" + password + "@127.0.0.1:1/plannr?connect_timeout=5", "`user=plannr database=plannr`"},
		{"POSTGRESQL://", "POSTGRESQL://plannr:" + password + "@127.0.0.1:1/plannr?connect_timeout=5", "`user=plannr database=plannr`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			// A server that started anyway is stopped, and fails the test.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, log bytes.Buffer
			err := run(ctx, config{addr: "127.0.0.1:0", db: tt.db, demoToken: DefaultDemoToken}, &out, slog.New(slog.NewTextHandler(&log, nil)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), password) || strings.Contains(out.String()+log.String(), password) {
				t.Errorf("the password is printed:\nerr: %v\nstdout: %s\nlog: %s", err, &out, &log)
			}
			if files, _ := os.ReadDir(dir); len(files) > 0 {
				t.Errorf("a file was created: %s", files[0].Name())
			}
		})
	}
}
