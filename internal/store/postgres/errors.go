package postgres

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	plannroauth "github.com/plannr-toolkit/plannr-oauth"
)

// pgError wraps err, from the operation op, with plannroauth.ErrUnavailable when it says
// that the database cannot be reached rather than that the request was wrong.
func pgError(op string, err error) error {
	if unreachable(err) {
		return fmt.Errorf("store: %s: %w: %w", op, plannroauth.ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// unreachable reports whether err says the database cannot serve the request
// for the moment, rather than that the request was wrong: the connection
// could not be opened, it broke or timed out; the server is shutting down,
// starting up, out of connections or other resources, takes no writes (a
// standby during a failover), or cancelled the statement at its
// statement_timeout. A pool replaces a broken connection and a failover ends,
// so a later request may succeed.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08 is connection exception, class 53 insufficient resources
		// (too_many_connections, disk_full, out_of_memory); 57P01-57P03 are
		// admin_shutdown, crash_shutdown and cannot_connect_now; 25006 is
		// read_only_sql_transaction; 57014 is query_canceled.
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "25006", "57014":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53")
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
