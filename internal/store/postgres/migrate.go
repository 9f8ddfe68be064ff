package postgres

import (
	"context"
	"embed"
	"errors"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// postgresMigrations are goose's SQL files: NNNNN_name.sql, applied in order,
// each in a transaction, and recorded in the table goose_db_version. Only ever
// add a file.
//
//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// migrationLockID is the key of the advisory lock that migrations run under.
// Advisory locks belong to one database, so any value works that no other
// program on that database uses.
const migrationLockID = 0x706c616e6e72 // "plannr"

// migrate applies the migrations that the database lacks and returns
// their file names. It holds a session advisory lock meanwhile, so that replicas
// that start together take turns: the first migrates, the next ones find nothing
// left to do. One waits for the lock for up to 5 minutes, polling each second.
func migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	files, err := fs.Sub(postgresMigrations, "migrations/postgres")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDBFromPool(pool)
	provider, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	results, err := provider.Up(ctx)
	if err = errors.Join(err, provider.Close()); err != nil { // closes db
		return nil, err
	}
	applied := make([]string, len(results))
	for i, r := range results {
		applied[i] = r.Source.Path
	}
	return applied, nil
}
