-- MinCloud's open API (`/oserve`, contract C.1): a server proves its app's client id and secret
-- and gets a short-lived authorization code, which it trades for an access token (the Bearer
-- token) and a refresh token. Only keyed hashes are stored (core/secrets.rs). A code is used
-- once; a refresh revokes the pair it replaces.
CREATE TABLE open_api_codes (
    id          TEXT PRIMARY KEY NOT NULL,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE UNIQUE INDEX open_api_codes_by_hash ON open_api_codes (code_hash);

CREATE TABLE open_api_tokens (
    id                  TEXT PRIMARY KEY NOT NULL,
    app_id              TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    access_hash         TEXT NOT NULL,
    refresh_hash        TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    access_expires_at   TIMESTAMP NOT NULL,
    refresh_expires_at  TIMESTAMP NOT NULL,
    revoked_at          TIMESTAMP
);
CREATE UNIQUE INDEX open_api_tokens_by_access ON open_api_tokens (access_hash);
CREATE UNIQUE INDEX open_api_tokens_by_refresh ON open_api_tokens (refresh_hash);
