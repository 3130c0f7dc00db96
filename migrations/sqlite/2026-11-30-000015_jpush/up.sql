-- JPush SMS (issue 17). Scheduled sends: a schedule groups the messages queued for one send
-- time (the outbox holds each until then); the recipients keep their message handle, number and
-- sealed template variables, as the schedule is read back and replaced by its id.
CREATE TABLE schedules (
    id               TEXT PRIMARY KEY NOT NULL,
    app_id           TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    send_at          TIMESTAMP NOT NULL,
    template_handle  BIGINT NOT NULL,
    sign_handle      BIGINT,
    tag              TEXT,
    batch            BOOLEAN NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX schedules_app ON schedules (app_id, send_at);

CREATE TABLE schedule_recipients (
    schedule_id      TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    message_handle   BIGINT NOT NULL,
    phone            TEXT NOT NULL,
    vars_sealed      BLOB NOT NULL,
    PRIMARY KEY (schedule_id, position)
);

-- What an owner says of a template or signature beside its reviewed content: a code
-- template's lifetime (JPush ttl, seconds), a remark for the reviewer, a signature's kind and
-- the image that proves it (shown to reviewers).
CREATE TABLE sms_item_extras (
    item_id          TEXT PRIMARY KEY NOT NULL REFERENCES sms_items(id) ON DELETE CASCADE,
    ttl_secs         INTEGER,
    remark           TEXT,
    sign_type        INTEGER,
    image            BLOB,
    image_type       TEXT,
    updated_at       TIMESTAMP NOT NULL
);
