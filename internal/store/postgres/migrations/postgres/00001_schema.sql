-- The schema of the SQLite store, in PostgreSQL. Timestamps are text in
-- RFC 3339 with nanoseconds, as there: created_at and updated_at keep the UTC
-- offset they were written in (timestamptz keeps neither the offset nor the
-- nanoseconds), and created_utc, fixed width and in the C collation, sorts
-- in time order.

-- +goose Up
CREATE TABLE providers (
	name              text PRIMARY KEY,
	label             text NOT NULL,
	logo_url          text NOT NULL,
	authorization_url text NOT NULL
);

CREATE TABLE users (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	time_zone  text NOT NULL
);

CREATE TABLE connections (
	uuid                     uuid PRIMARY KEY,
	-- The order connections were added in breaks ties of created_utc.
	seq                      bigint GENERATED ALWAYS AS IDENTITY,
	user_id                  bigint NOT NULL REFERENCES users (id),
	provider                 text NOT NULL REFERENCES providers (name),
	label                    text,
	created_at               text NOT NULL,
	updated_at               text NOT NULL,
	created_utc              text COLLATE "C" NOT NULL,
	access_token_expires_at  text,
	refresh_token_expires_at text,
	-- A deleted connection stays as a tombstone, so that a Seed does not
	-- bring it back.
	deleted_at               timestamptz
);

CREATE INDEX connections_live_by_owner ON connections (user_id, created_utc, seq)
	WHERE deleted_at IS NULL;

-- +goose Down
DROP TABLE connections;
DROP TABLE users;
DROP TABLE providers;
