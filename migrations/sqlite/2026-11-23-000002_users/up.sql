-- LeanCloud's _User. Uniqueness per app is the database's job (NULLs never collide).
CREATE TABLE users (
    id               TEXT PRIMARY KEY NOT NULL,
    app_id           TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    username         TEXT NOT NULL,
    email            TEXT,
    email_key        TEXT,
    mobile_phone     TEXT,
    phone_e164       TEXT,
    mobile_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    email_verified   BOOLEAN NOT NULL DEFAULT FALSE,
    -- argon2id PHC string, or an imported format marked by its prefix; NULL: no password login.
    password_hash    TEXT,
    auth_data        TEXT,
    fields           TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (app_id, username);
CREATE UNIQUE INDEX users_email ON users (app_id, email_key);
CREATE UNIQUE INDEX users_phone ON users (app_id, phone_e164);

-- Session tokens, stored as keyed hashes only.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP,
    revoked_at  TIMESTAMP
);
CREATE UNIQUE INDEX sessions_token ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins (wrong password or SMS code) for the lockout rule.
CREATE TABLE login_failures (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_user ON login_failures (user_id, created_at);

-- Guesses at codes sent without their phone number (by value), per app and client address.
CREATE TABLE code_guesses (
    id          TEXT PRIMARY KEY NOT NULL,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    ip          TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX code_guesses_ip ON code_guesses (app_id, ip, created_at);
CREATE INDEX code_guesses_app ON code_guesses (app_id, created_at);
