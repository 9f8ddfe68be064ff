package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable that holds the URL of a PostgreSQL server on
// which tests may create databases (a superuser's, or a role with CREATEDB);
// .ci/postgres starts a throwaway server and sets it.
const PostgresEnv = "PLANNR_TEST_POSTGRES_URL"

// PostgresURL returns the URL of a new, empty database on the server of
// PostgresEnv, which is dropped when tb ends, so that tests running at once do
// not see each other's data. Without PostgresEnv it skips tb, or fails it
// under CI=true, where the PostgreSQL tests must run.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	return NewDatabase(tb, RequirePostgres(tb))
}

// RequirePostgres returns the URL of PostgresEnv. Without it, it skips tb, or
// fails it under CI=true.
func RequirePostgres(tb testing.TB) string {
	tb.Helper()
	server := os.Getenv(PostgresEnv)
	if server == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set: run the tests through .ci/postgres", PostgresEnv)
		}
		tb.Skipf("%s is not set (.ci/postgres starts a throwaway PostgreSQL)", PostgresEnv)
	}
	return server
}

// NewDatabase creates a database on the PostgreSQL server of the URL server,
// drops it when tb ends, and returns its URL.
func NewDatabase(tb testing.TB, server string) string {
	tb.Helper()
	u, err := url.Parse(server)
	if err != nil {
		tb.Fatalf("PostgreSQL URL: %v", err)
	}
	name := "plannr_test_" + rand.Text()[:16]
	// The letters of rand.Text are upper case: quoted, the name keeps them.
	admin(tb, server, fmt.Sprintf(`CREATE DATABASE %q`, name))
	tb.Cleanup(func() { admin(tb, server, fmt.Sprintf(`DROP DATABASE %q WITH (FORCE)`, name)) })
	u.Path = "/" + name
	return u.String()
}

// admin runs one statement on the database of server's URL.
func admin(tb testing.TB, server, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		tb.Fatalf("PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}
