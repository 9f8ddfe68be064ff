-- The rate limit shared by every replica (package postgreslimit): one row per
-- caller, its current window and the requests counted in it.

-- +goose Up
CREATE TABLE rate_limits (
	key          text PRIMARY KEY,
	window_start timestamptz NOT NULL,
	hits         integer NOT NULL
);

-- +goose Down
DROP TABLE rate_limits;
