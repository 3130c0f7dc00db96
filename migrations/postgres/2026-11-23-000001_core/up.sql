-- Apps (tenants). Keys are kept as issued: LeanCloud signatures are md5(timestamp + key),
-- so the server needs the key itself, not a hash of it.
CREATE TABLE apps (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    app_key     TEXT NOT NULL,
    master_key  TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- One row per issued verification code. The code itself is never stored: code_hash is
-- HMAC(server key, app|phone|code) and value_hash HMAC(server key, app|purpose|code), the latter for
-- the SDK calls that send a code without its phone number.
CREATE TABLE verification_codes (
    id          TEXT PRIMARY KEY NOT NULL,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    value_hash  TEXT NOT NULL,
    user_id     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX verification_codes_phone ON verification_codes (app_id, phone, expires_at);
CREATE INDEX verification_codes_value ON verification_codes (app_id, value_hash);
CREATE INDEX verification_codes_expiry ON verification_codes (expires_at);

-- The ledger the send limits count: one row per accepted send (test numbers included).
CREATE TABLE send_events (
    id          TEXT PRIMARY KEY NOT NULL,
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    ip          TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX send_events_phone ON send_events (app_id, phone, created_at);
CREATE INDEX send_events_ip ON send_events (app_id, ip, created_at);
CREATE INDEX send_events_time ON send_events (created_at);

-- The outbox. body_sealed is the text encrypted with the server key (it holds the code) and is
-- cleared once the message reaches a final state; body_redacted is what the message log shows.
CREATE TABLE messages (
    id              TEXT PRIMARY KEY NOT NULL,
    app_id          TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    to_phone        TEXT NOT NULL,
    channel         TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    body_sealed     BYTEA,
    body_redacted   TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP,
    expires_at      TIMESTAMP NOT NULL,
    last_error      TEXT,
    provider_id     TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    delivered_at    TIMESTAMP
);
CREATE INDEX messages_due ON messages (status, next_attempt_at);
CREATE INDEX messages_app ON messages (app_id, created_at);

-- Server-wide values shared by every instance (e.g. the generated secret on PostgreSQL).
CREATE TABLE instance_settings (
    name   TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
);
