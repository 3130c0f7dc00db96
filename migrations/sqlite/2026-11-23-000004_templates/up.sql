-- SMS templates and signatures (both "items"), reviewed by an operator. An item has revisions;
-- live_revision_id is the approved (or disabled) one that serves, while a newer revision may be
-- under review next to it.
CREATE TABLE sms_items (
    id                TEXT PRIMARY KEY NOT NULL,
    app_id            TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    name              TEXT NOT NULL,
    live_revision_id  TEXT,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sms_items_name ON sms_items (app_id, kind, name);

-- body: a template's Handlebars text or a signature's text (without 【】). category, signature
-- and captcha_required belong to templates, placement (start | end) to signatures.
CREATE TABLE sms_revisions (
    id                TEXT PRIMARY KEY NOT NULL,
    item_id           TEXT NOT NULL REFERENCES sms_items(id) ON DELETE CASCADE,
    app_id            TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    number            INTEGER NOT NULL,
    state             TEXT NOT NULL,
    body              TEXT NOT NULL,
    category          TEXT,
    signature         TEXT,
    placement         TEXT,
    captcha_required  BOOLEAN NOT NULL DEFAULT FALSE,
    reason            TEXT,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sms_revisions_number ON sms_revisions (item_id, number);
CREATE INDEX sms_revisions_state ON sms_revisions (state, updated_at);

-- Every transition of a revision: who, when, why.
CREATE TABLE sms_review_events (
    id           TEXT PRIMARY KEY NOT NULL,
    item_id      TEXT NOT NULL REFERENCES sms_items(id) ON DELETE CASCADE,
    revision_id  TEXT NOT NULL REFERENCES sms_revisions(id) ON DELETE CASCADE,
    from_state   TEXT,
    to_state     TEXT NOT NULL,
    actor        TEXT NOT NULL,
    reason       TEXT,
    at           TIMESTAMP NOT NULL
);
CREATE INDEX sms_review_events_item ON sms_review_events (item_id, at);

-- What each message costs: its length in characters and billable parts, and its template.
ALTER TABLE messages ADD COLUMN chars INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN parts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN template TEXT;

-- Phonebase's own administrators (the console), and their sessions as keyed hashes.
CREATE TABLE operators (
    id             TEXT PRIMARY KEY NOT NULL,
    username       TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX operators_username ON operators (username);

CREATE TABLE operator_sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    operator_id  TEXT NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX operator_sessions_token ON operator_sessions (token_hash);
