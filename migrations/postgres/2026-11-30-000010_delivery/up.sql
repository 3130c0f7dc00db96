-- Real SMS delivery: template mappings per provider, every send attempt, delivery reports.

-- A provider's registered template for one of our texts: a built-in text (app_id '' = every
-- app) or an app's template. params: JSON [[provider parameter, our variable], ...] in order.
CREATE TABLE provider_templates (
    id             TEXT PRIMARY KEY NOT NULL,
    provider       TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    text_ref       TEXT NOT NULL,
    template_code  TEXT NOT NULL,
    params         TEXT NOT NULL,
    sign_name      TEXT,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX provider_templates_key ON provider_templates (provider, app_id, text_ref);

-- One row per call to a provider: who, the provider's id, what came of it, how long it took.
-- outcome: sent | delivered | retry | failed (a report later sets delivered / undelivered).
CREATE TABLE delivery_attempts (
    id                   TEXT PRIMARY KEY NOT NULL,
    message_id           TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    provider             TEXT NOT NULL,
    provider_message_id  TEXT,
    outcome              TEXT NOT NULL,
    error_code           TEXT,
    error                TEXT,
    latency_ms           INTEGER NOT NULL,
    created_at           TIMESTAMP NOT NULL
);
CREATE INDEX delivery_attempts_message ON delivery_attempts (message_id, created_at);
CREATE INDEX delivery_attempts_provider ON delivery_attempts (provider, created_at);

-- The first final delivery report per provider message id (duplicates are dropped); kept even
-- when the id is not known yet, since a report can overtake the worker's own write.
CREATE TABLE delivery_reports (
    id                   TEXT PRIMARY KEY NOT NULL,
    provider             TEXT NOT NULL,
    provider_message_id  TEXT NOT NULL,
    status               TEXT NOT NULL,
    error_code           TEXT,
    received_at          TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX delivery_reports_key ON delivery_reports (provider, provider_message_id);
CREATE INDEX delivery_reports_received ON delivery_reports (received_at);

ALTER TABLE messages ADD COLUMN provider TEXT;
ALTER TABLE messages ADD COLUMN text_ref TEXT;
ALTER TABLE messages ADD COLUMN vars_sealed BYTEA;
ALTER TABLE messages ADD COLUMN error_code TEXT;
CREATE INDEX messages_provider_id ON messages (provider, provider_id);
