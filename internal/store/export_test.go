package store

// SchemaVersion is the user_version a database has once OpenSQLite migrated it.
var SchemaVersion = len(migrations)
