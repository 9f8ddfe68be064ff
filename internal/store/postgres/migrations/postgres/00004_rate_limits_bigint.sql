-- The count holds any limit that -rate-limit takes, a Go int, as the
-- in-process limiter does: in integer, a limit of 2^31-1 or more failed every
-- request. Old replicas' counts still work on bigint while a new version
-- rolls out.

-- +goose Up
ALTER TABLE rate_limits ALTER COLUMN hits TYPE bigint;

-- +goose Down
ALTER TABLE rate_limits ALTER COLUMN hits TYPE integer USING least(hits, 2147483647);
