package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
	"github.com/plannr-toolkit/plannr-oauth/internal/store"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/postgres"
	"github.com/plannr-toolkit/plannr-oauth/internal/store/storetest"
)

func TestPostgres(t *testing.T) {
	storetest.RequirePostgres(t) // skip once, not in each test of the suite
	storetest.Run(t, func(t *testing.T) store.Store {
		return openPostgres(t, storetest.PostgresURL(t))
	})
}

func BenchmarkPostgres(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openPostgres(b, storetest.PostgresURL(b)) })
}

func openPostgres(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), url)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestPostgresSchemeInAnyCase: RFC 3986 compares schemes case-insensitively,
// and Open does too, where pgx alone would read the URL as key=value settings.
func TestPostgresSchemeInAnyCase(t *testing.T) {
	for _, scheme := range []string{"Postgres", "POSTGRESQL"} {
		t.Run(scheme, func(t *testing.T) {
			_, rest, _ := strings.Cut(storetest.PostgresURL(t), "://")
			s := openPostgres(t, scheme+"://"+rest)
			defer s.Close()
			if empty, err := s.Empty(t.Context()); !empty || err != nil {
				t.Errorf("Empty() = %v, %v on a new database", empty, err)
			}
		})
	}
}

// TestPostgresReplicasMigrateOnce opens one new database from several
// processes' worth of stores at once, as replicas starting together do: the
// advisory lock lets one migrate, and the others find the schema up to date.
func TestPostgresReplicasMigrateOnce(t *testing.T) {
	url := storetest.PostgresURL(t)
	const replicas = 4
	migrated := make([][]string, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Error(err)
				return
			}
			migrated[i] = s.Migrated()
			s.Close()
		})
	}
	wg.Wait()
	var applied []string
	for _, m := range migrated {
		applied = append(applied, m...)
	}
	// Every file, in order; goose numbers them from 1, after its own 0.
	files, err := os.ReadDir("migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	wantVersions := []int64{0}
	for i, f := range files {
		want = append(want, f.Name())
		wantVersions = append(wantVersions, int64(i+1))
	}
	if !slices.Equal(applied, want) {
		t.Errorf("the replicas applied %q together, want %q once", applied, want)
	}

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, _ := conn.Query(t.Context(), `SELECT version_id FROM goose_db_version ORDER BY id`) // CollectRows reports its error
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || !slices.Equal(versions, wantVersions) {
		t.Errorf("goose_db_version = %v, %v; want versions %v once each", versions, err, wantVersions)
	}
}

// TestPostgresOpenErrors: a database that cannot be reached is ErrUnavailable,
// which the server answers with 503, not a 500; and no error, which the server
// prints, shows the URL's password.
func TestPostgresOpenErrors(t *testing.T) {
	storetest.PostgresURL(t) // the PostgreSQL tests run, or skip, together
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now
	const password = "S3cretPassw0rd"
	tests := []struct {
		name, url   string
		unavailable bool
	}{
		{"closed port", "postgres://plannr:" + password + "@" + closed + "/none?connect_timeout=2", true},
		{"bad pool size", "postgres://plannr:" + password + "@" + closed + "/none?pool_max_conns=many", false},
		{"bad port", "postgres://plannr:" + password + "@127.0.0.1:5432:1/none", false},
		// pgx would cut at the first @ and take the rest for the host.
		{"unencoded @ in the password", "postgres://plannr:x@" + password + "@" + closed + "/none?connect_timeout=2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := postgres.Open(t.Context(), tc.url)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if errors.Is(err, plannroauth.ErrUnavailable) != tc.unavailable {
				t.Errorf("%v: errors.Is ErrUnavailable = %v, want %v", err, !tc.unavailable, tc.unavailable)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// databaseIn creates a database on the test server in encoding enc, with the
// statements more run in it, dropped when t ends, and returns its URL.
func databaseIn(t *testing.T, enc string, more ...string) string {
	t.Helper()
	server := storetest.RequirePostgres(t)
	conn := connect(t, server)
	name := "plannr_enc_" + strings.ToLower(rand.Text()[:16])
	if _, err := conn.Exec(t.Context(), fmt.Sprintf(`CREATE DATABASE %s ENCODING %s LOCALE 'C' TEMPLATE template0`, name, pgx.Identifier{enc}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `DROP DATABASE `+name+` WITH (FORCE)`) })
	for _, sql := range more {
		if _, err := conn.Exec(t.Context(), fmt.Sprintf(sql, name)); err != nil {
			t.Fatal(err)
		}
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestPostgresTextIsUTF8: a label in any script is kept as the API gave it,
// or the store does not open. In a database of another encoding, pgx's UTF-8
// went to the server as that encoding's text, the connection's default: a
// valid label answered 500 (EUC_JP has no emoji, WIN1252 no byte 0x81, as in
// "Á") or was kept as other characters (LATIN1); a client_encoding set on the
// database did the same to a UTF-8 one.
func TestPostgresTextIsUTF8(t *testing.T) {
	const label = "Fundmént 😀"
	for _, tt := range []struct {
		name, enc string
		more      []string // run in the new database; %s is its name
		refused   bool
	}{
		{name: "UTF8", enc: "UTF8"},
		{name: "SQL_ASCII", enc: "SQL_ASCII"}, // keeps bytes as given
		{name: "UTF8 with client_encoding LATIN1", enc: "UTF8", more: []string{`ALTER DATABASE %s SET client_encoding = 'LATIN1'`}},
		{name: "LATIN1", enc: "LATIN1", refused: true},
		{name: "WIN1252", enc: "WIN1252", refused: true},
		{name: "EUC_JP", enc: "EUC_JP", refused: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := databaseIn(t, tt.enc, tt.more...)
			s, err := postgres.Open(t.Context(), db)
			if tt.refused {
				if err == nil {
					s.Close()
					t.Fatal("Open: no error")
				}
				if errors.Is(err, plannroauth.ErrUnavailable) || !strings.Contains(err.Error(), tt.enc) {
					t.Errorf("Open: %v; want an error naming %s, not ErrUnavailable", err, tt.enc)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			id := uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe")
			p := plannroauth.Provider{Name: "fundment", Label: label, LogoURL: "https://a.example/l.png", AuthorizationURL: "https://a.example/auth"}
			if err := s.Seed(t.Context(), plannroauth.Data{Providers: []plannroauth.Provider{p}, Accounts: []plannroauth.Account{{
				Token: "alice", Connections: []plannroauth.Connection{{UUID: id, Provider: p, CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)}},
			}}}); err != nil {
				t.Fatal(err)
			}
			u, err := s.UserByToken(t.Context(), plannroauth.HashToken("alice"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateConnection(t.Context(), u.ID, id, storetest.Relabel(label)); err != nil {
				t.Fatal(err)
			}
			cs, err := s.ListConnections(t.Context(), u.ID)
			if err != nil || len(cs) != 1 || cs[0].Label == nil || *cs[0].Label != label || cs[0].Provider.Label != label {
				t.Fatalf("ListConnections = %+v, %v; want the label and the provider's %q", cs, err, label)
			}
			// As the database sees it: the characters given, not their UTF-8
			// bytes read as another encoding's (where it knows characters).
			var n int
			if err := connect(t, db).QueryRow(t.Context(), `SELECT char_length(label) FROM connections`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := utf8.RuneCountInString(label); tt.enc == "UTF8" && n != want {
				t.Errorf("the database holds a label of %d characters, want %d", n, want)
			}
		})
	}
}

// TestPostgresReadOnlyIsUnavailable: a database that takes no writes for the
// moment (a standby during a failover, or default_transaction_read_only set
// for maintenance: SQLSTATE 25006), or that cancels a statement at its
// statement_timeout (57014), is ErrUnavailable, which the server answers with
// a 503 that a client may retry, not a 500 blaming the request. The limiter
// shared by replicas writes too, so every request met it.
func TestPostgresReadOnlyIsUnavailable(t *testing.T) {
	db := databaseIn(t, "UTF8")
	s := openPostgres(t, db)
	id := uuid.MustParse("7b29add1-9028-4c1e-a87b-3c80a2e495fe")
	p := plannroauth.Provider{Name: "fundment", Label: "Fundment", LogoURL: "https://a.example/l.png", AuthorizationURL: "https://a.example/auth"}
	if err := s.Seed(t.Context(), plannroauth.Data{Providers: []plannroauth.Provider{p}, Accounts: []plannroauth.Account{{
		Token: "alice", Connections: []plannroauth.Connection{{UUID: id, Provider: p, CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)}},
	}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, tt := range []struct{ name, options string }{
		{"read only", "-c default_transaction_read_only=on"},
		{"statement timeout", "-c statement_timeout=1000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(db)
			if err != nil {
				t.Fatal(err)
			}
			// A space as %20, which pgx reads (not +), and = escaped.
			u.RawQuery = "options=" + strings.ReplaceAll(url.QueryEscape(tt.options), "+", "%20")
			s := openPostgres(t, u.String())
			defer s.Close()
			user, err := s.UserByToken(t.Context(), plannroauth.HashToken("alice"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "statement timeout" {
				// Hold the row's lock, so that the update waits past 1 s.
				conn := connect(t, db)
				tx, err := conn.Begin(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback(context.Background())
				if _, err := tx.Exec(t.Context(), `SELECT 1 FROM connections FOR UPDATE`); err != nil {
					t.Fatal(err)
				}
			}
			_, err = s.UpdateConnection(t.Context(), user.ID, id, storetest.Relabel("New"))
			if !errors.Is(err, plannroauth.ErrUnavailable) {
				t.Errorf("UpdateConnection: %v; want ErrUnavailable", err)
			}
		})
	}
}

// TestPostgresSeedsInAnyOrder seeds one database from two replicas at once,
// their fixtures holding the same rows in opposite orders, as replicas that
// start together with files written apart may. Each transaction held the rows
// it had inserted and waited for the other's, and PostgreSQL ended one as a
// deadlock (SQLSTATE 40P01): that replica did not start.
func TestPostgresSeedsInAnyOrder(t *testing.T) {
	url := storetest.PostgresURL(t)
	replicas := [2]*postgres.Store{openPostgres(t, url), openPostgres(t, url)}
	for _, s := range replicas {
		defer s.Close()
	}
	// Each round's rows are new: only an insert that meets another's
	// uncommitted one waits for it.
	const rounds, accounts = 3, 100
	for round := range rounds {
		var data [2]plannroauth.Data
		for i := range accounts {
			p := plannroauth.Provider{Name: fmt.Sprintf("p%d-%d", round, i), Label: "P", LogoURL: "https://p.example/l.png", AuthorizationURL: "https://p.example/a"}
			a := plannroauth.Account{Token: fmt.Sprintf("t%d-%d", round, i), Connections: []plannroauth.Connection{
				{UUID: uuid.New(), Provider: p, CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)},
			}}
			data[0].Providers, data[0].Accounts = append(data[0].Providers, p), append(data[0].Accounts, a)
		}
		data[1] = plannroauth.Data{Providers: slices.Clone(data[0].Providers), Accounts: slices.Clone(data[0].Accounts)}
		slices.Reverse(data[1].Providers)
		slices.Reverse(data[1].Accounts)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, s := range replicas {
			wg.Go(func() {
				<-start
				if err := s.Seed(t.Context(), data[i]); err != nil {
					t.Errorf("round %d, replica %d: %v", round, i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		for _, a := range data[0].Accounts {
			u, err := replicas[0].UserByToken(t.Context(), plannroauth.HashToken(a.Token))
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, a.Token, err)
			}
			if cs, err := replicas[0].ListConnections(t.Context(), u.ID); err != nil || len(cs) != 1 || cs[0].UUID != a.Connections[0].UUID {
				t.Fatalf("round %d: %s's connections = %+v, %v; want %s", round, a.Token, cs, err, a.Connections[0].UUID)
			}
		}
	}
}
