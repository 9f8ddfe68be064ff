-- The rate limit's counts are written without the WAL. Every request counts
-- one, and in a logged table each count was a commit that waited for its WAL
-- flush: a fsync a request, for a number that is worthless after a crash.
-- Unlogged, a count commits without waiting (it writes no WAL), and stays
-- exact across replicas: each is still one statement on a row the database
-- locks. What it gives up: a crash of the database empties the table, and a
-- standby holds none of it, so a crash or a failover opens every caller's
-- window anew.

-- +goose Up
ALTER TABLE rate_limits SET UNLOGGED;

-- +goose Down
ALTER TABLE rate_limits SET LOGGED;
