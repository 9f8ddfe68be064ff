package sqlite

import (
	"context"
	"time"
)

// SchemaVersion is the user_version a database has once Open migrated it.
var SchemaVersion = len(migrations)

// OpenWithBusyTimeout is Open with a busy_timeout of d, for a test of a lock
// held elsewhere not to wait the 5 s of Open's.
func OpenWithBusyTimeout(ctx context.Context, path string, d time.Duration) (*Store, error) {
	return open(ctx, path, d)
}
