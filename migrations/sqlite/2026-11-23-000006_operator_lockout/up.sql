-- Failed operator sign-ins, counted to lock out password guessing. (A migration of its own:
-- 000004 was already applied where main ran.)
CREATE TABLE operator_failures (
    id          TEXT PRIMARY KEY NOT NULL,
    username    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX operator_failures_name ON operator_failures (username, created_at);
