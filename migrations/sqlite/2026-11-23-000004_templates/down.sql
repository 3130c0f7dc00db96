DROP TABLE operator_sessions;
DROP TABLE operators;
ALTER TABLE messages DROP COLUMN template;
ALTER TABLE messages DROP COLUMN parts;
ALTER TABLE messages DROP COLUMN chars;
DROP TABLE sms_review_events;
DROP TABLE sms_revisions;
DROP TABLE sms_items;
