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

// unreachable reports whether err is a failure of the connection to the
// database: it could not be opened, it broke, it timed out, or the server is
// shutting down, starting up or out of connections. A pool replaces a broken
// connection, so a later request may succeed.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08 is connection exception; 57P01-57P03 are admin_shutdown,
		// crash_shutdown and cannot_connect_now; 53300 is too_many_connections.
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
