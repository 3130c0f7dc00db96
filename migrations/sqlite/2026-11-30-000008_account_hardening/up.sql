-- Sign-in attempts for every lockout (user login, operator sign-in): one rule in core. A row is
-- 'pending' while its password or code is being checked and becomes 'failed' when it was wrong;
-- a right one withdraws its row. Pending rows count against the limit, so parallel guesses
-- never get more checks than the limit; a pending row older than its lease counts as failed.
CREATE TABLE auth_attempts (
    id          TEXT PRIMARY KEY NOT NULL,
    subject     TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX auth_attempts_subject ON auth_attempts (subject, created_at);
CREATE INDEX auth_attempts_time ON auth_attempts (created_at);

-- Security events on accounts (a number proven by a code taking an account over, ...).
CREATE TABLE user_events (
    id          TEXT PRIMARY KEY NOT NULL,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX user_events_user ON user_events (app_id, user_id, created_at);

-- The client address that asked for a code: a code sent without its number is matched first
-- among the codes asked for from the same address (or for the session's user).
ALTER TABLE verification_codes ADD COLUMN origin_ip TEXT;
CREATE INDEX verification_codes_origin ON verification_codes (app_id, origin_ip);

-- How many live codes a guess by value was compared with: the app's hourly budget counts these.
ALTER TABLE code_guesses ADD COLUMN exposure INTEGER NOT NULL DEFAULT 1;
