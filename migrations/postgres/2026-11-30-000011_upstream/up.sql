-- Lazy migration from a live LeanCloud app: where its upstream is and until when Phonebase may
-- ask it. The keys are sealed with the server secret (ChaCha20-Poly1305, as outbox bodies) and
-- never shown back. Users moved through it are recorded in imported_users (run_id 'upstream').
CREATE TABLE app_upstreams (
    app_id             TEXT PRIMARY KEY NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    server_url         TEXT NOT NULL,
    upstream_app_id    TEXT NOT NULL,
    app_key_sealed     BYTEA NOT NULL,
    master_key_sealed  BYTEA NOT NULL,
    until_at           TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
