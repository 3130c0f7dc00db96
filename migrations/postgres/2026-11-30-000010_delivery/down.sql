DROP INDEX messages_provider_id;
ALTER TABLE messages DROP COLUMN error_code;
ALTER TABLE messages DROP COLUMN vars_sealed;
ALTER TABLE messages DROP COLUMN text_ref;
ALTER TABLE messages DROP COLUMN provider;
DROP TABLE delivery_reports;
DROP TABLE delivery_attempts;
DROP TABLE provider_templates;
