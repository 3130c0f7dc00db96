-- An app's own SMS providers, used for its messages instead of the configured list. The
-- configuration is kept as JSON without its secrets; the secrets (keys, tokens, passwords) are
-- one JSON object sealed with the server secret (ChaCha20-Poly1305, as outbox bodies), sealed
-- again after a rotation, and never shown back.
CREATE TABLE app_providers (
    app_id          TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    position        INTEGER NOT NULL,
    config          TEXT NOT NULL,
    secrets_sealed  BYTEA NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, name)
);

-- Each provider's circuit breaker, shared by every instance on the database: retryable failures
-- in the current window, until when the circuit is open, and until when one instance holds the
-- half-open probe. Changed by single conditional UPDATEs, never inside a provider call.
CREATE TABLE provider_circuits (
    provider           TEXT PRIMARY KEY NOT NULL,
    failures           INTEGER NOT NULL,
    window_started_at  TIMESTAMP,
    opened_until       TIMESTAMP,
    probe_until        TIMESTAMP,
    updated_at         TIMESTAMP NOT NULL
);
