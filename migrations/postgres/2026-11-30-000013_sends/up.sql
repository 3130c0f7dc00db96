-- What the other dialects need of sends: numeric handles (Bmob smsId, JPush msg_id, temp_id and
-- sign_id, MinCloud signature_id), codes found by their message, scheduled messages, and per-app
-- balances of billable SMS parts.

-- Messages: one number each, from the counter "message" (existing ones numbered here).
ALTER TABLE messages ADD COLUMN handle BIGINT NOT NULL DEFAULT 0;
UPDATE messages SET handle = n.rn
  FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS rn FROM messages) AS n
 WHERE messages.id = n.id;
INSERT INTO counters (name, value) SELECT 'message', COUNT(*) FROM messages;
CREATE UNIQUE INDEX messages_handle ON messages (handle);
-- When a scheduled message is due (NULL: sent at once); next_attempt_at holds it until then.
ALTER TABLE messages ADD COLUMN send_at TIMESTAMP;
-- Parts taken from the app's balance by this message (0 when the app was unlimited), and whether
-- they were given back (the message failed for good or was cancelled).
ALTER TABLE messages ADD COLUMN charged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN refunded BOOLEAN NOT NULL DEFAULT FALSE;

-- The handle of the message that carried a code (a test number's code has a handle and no message).
ALTER TABLE verification_codes ADD COLUMN message_handle BIGINT;
CREATE INDEX verification_codes_by_message ON verification_codes (message_handle);

-- Templates and signatures: one number each, from the counter "review_item".
ALTER TABLE sms_items ADD COLUMN handle BIGINT NOT NULL DEFAULT 0;
UPDATE sms_items SET handle = n.rn
  FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS rn FROM sms_items) AS n
 WHERE sms_items.id = n.id;
INSERT INTO counters (name, value) SELECT 'review_item', COUNT(*) FROM sms_items;
CREATE UNIQUE INDEX sms_items_handle ON sms_items (handle);

-- An app without a row is unlimited.
CREATE TABLE app_balances (
    app_id      TEXT PRIMARY KEY NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    parts       BIGINT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
