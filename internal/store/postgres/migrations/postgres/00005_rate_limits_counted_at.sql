-- When each caller's row last counted a request: the database's time once
-- the count held the row, which the count returns as its time. Empty in rows
-- that only an older version counted.

-- +goose Up
ALTER TABLE rate_limits ADD COLUMN counted_at timestamptz;

-- +goose Down
ALTER TABLE rate_limits DROP COLUMN counted_at;
