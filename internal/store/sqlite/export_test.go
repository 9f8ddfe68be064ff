package sqlite

// SchemaVersion is the user_version a database has once Open migrated it.
var SchemaVersion = len(migrations)
