ALTER TABLE code_guesses DROP COLUMN exposure;
DROP INDEX verification_codes_origin;
ALTER TABLE verification_codes DROP COLUMN origin_ip;
DROP TABLE user_events;
DROP TABLE auth_attempts;
